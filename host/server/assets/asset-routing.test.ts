// The asset routing rules against Workers' documented behaviour: html_handling's four modes with their redirects,
// not_found_handling, run_worker_first patterns, path canonicalisation and the _redirects / _headers syntax.
import { describe, expect, it } from 'vitest';
import { applyHeaderRules, decodePath, encodePath, matchRedirect, resolveIntent, staticRouting, type AssetIntent, type IntentOptions } from './asset-routing.ts';
import { parseHeaders, parseRedirects } from '../../deploy/asset-manifest.ts';
import type { HtmlHandling, NotFoundHandling } from '../../core/assets.ts';
import { parseRange } from './asset-server.ts';

/** A site: every file's hash is its path, unless two files share content. */
function site(paths: string[], same: Record<string, string> = {}): (p: string) => string | undefined {
  const set = new Set(paths);
  return (p) => (set.has(p) ? (same[p] ?? `h:${p}`) : undefined);
}

function opts(htmlHandling: HtmlHandling, notFoundHandling: NotFoundHandling = 'none'): IntentOptions {
  return { htmlHandling, notFoundHandling };
}

/** What a request path gets: `serve <file>`, `404 <file>`, `-> <location>`, or `none`. */
function outcome(i: AssetIntent): string {
  if (i === null) return 'none';
  if ('redirect' in i) return `-> ${i.redirect}`;
  return `${i.asset.status === 200 ? 'serve' : '404'} ${i.asset.path}`;
}

const FILES = ['/index.html', '/about.html', '/blog/index.html', '/app.js', '/docs/guide.html', '/docs/index.html', '/index'];

describe('html_handling', () => {
  const files = site(FILES.filter((f) => f !== '/index'));
  const table = (mode: HtmlHandling, cases: Record<string, string>): void => {
    for (const [path, want] of Object.entries(cases)) expect(`${path} ${outcome(resolveIntent(path, files, opts(mode)))}`).toBe(`${path} ${want}`);
  };

  it('auto-trailing-slash (the default): files without .html, folders with a slash', () => {
    table('auto-trailing-slash', {
      '/': 'serve /index.html',
      '/index.html': '-> /',
      '/index': '-> /',
      '/about': 'serve /about.html',
      '/about.html': '-> /about',
      '/about/': '-> /about',
      '/blog/': 'serve /blog/index.html',
      '/blog': '-> /blog/',
      '/blog/index.html': '-> /blog/',
      '/blog/index': '-> /blog/',
      '/blog.html': '-> /blog/',
      '/app.js': 'serve /app.js',
      '/docs/guide': 'serve /docs/guide.html',
      '/missing': 'none',
    });
  });

  it('force-trailing-slash: every HTML page at a path ending in /', () => {
    table('force-trailing-slash', {
      '/': 'serve /index.html',
      '/index.html': '-> /',
      '/about': '-> /about/',
      '/about/': 'serve /about.html',
      '/about.html': '-> /about/',
      '/blog': '-> /blog/',
      '/blog/': 'serve /blog/index.html',
      '/blog/index.html': '-> /blog/',
      '/app.js': 'serve /app.js',
    });
  });

  it('drop-trailing-slash: every HTML page at a path without a trailing /', () => {
    table('drop-trailing-slash', {
      '/': 'serve /index.html',
      '/index.html': '-> /',
      '/about': 'serve /about.html',
      '/about/': '-> /about',
      '/about.html': '-> /about',
      '/blog': 'serve /blog/index.html',
      '/blog/': '-> /blog',
      '/blog/index.html': '-> /blog',
      '/app.js': 'serve /app.js',
    });
  });

  it('none: only exact file paths', () => {
    table('none', {
      '/': 'none',
      '/index.html': 'serve /index.html',
      '/about': 'none',
      '/about.html': 'serve /about.html',
      '/blog/': 'none',
    });
  });

  it('redirects only to a path serving the same content: a file at the target wins, nothing loops', () => {
    // /about exists as a file of its own: /about.html is served as itself, not redirected onto another file.
    const both = site(['/about', '/about.html']);
    expect(outcome(resolveIntent('/about.html', both, opts('auto-trailing-slash')))).toBe('serve /about.html');
    expect(outcome(resolveIntent('/about', both, opts('auto-trailing-slash')))).toBe('serve /about');
    // A binary file named /index is served as it is.
    expect(outcome(resolveIntent('/index', site(['/index', '/index.html']), opts('auto-trailing-slash')))).toBe('serve /index');
  });
});

describe('not_found_handling', () => {
  const files = site(['/index.html', '/404.html', '/blog/404.html', '/blog/post.html']);
  it('single-page-application: /index.html (200) for any path that matches no file', () => {
    expect(outcome(resolveIntent('/dashboard/settings', files, opts('auto-trailing-slash', 'single-page-application')))).toBe('serve /index.html');
    expect(outcome(resolveIntent('/blog/post', files, opts('auto-trailing-slash', 'single-page-application')))).toBe('serve /blog/post.html');
    expect(resolveIntent('/x', site(['/a.js']), opts('auto-trailing-slash', 'single-page-application'))).toBeNull();
  });
  it('404-page: the nearest 404.html up the path, with status 404', () => {
    expect(outcome(resolveIntent('/blog/missing/deep', files, opts('auto-trailing-slash', '404-page')))).toBe('404 /blog/404.html');
    expect(outcome(resolveIntent('/other/missing', files, opts('auto-trailing-slash', '404-page')))).toBe('404 /404.html');
    expect(resolveIntent('/x', site(['/a.js']), opts('none', '404-page'))).toBeNull();
  });
  it('none: nothing (the worker runs, or a bare 404)', () => {
    expect(resolveIntent('/missing', files, opts('auto-trailing-slash'))).toBeNull();
  });
});

describe('run_worker_first', () => {
  it('true, false, and route patterns where a `!` pattern wins over the others', () => {
    expect(staticRouting(true, '/index.html')).toBe('worker');
    expect(staticRouting(false, '/api/x')).toBeNull();
    const rules = ['/api/*', '!/api/docs/*', '/exact'];
    expect(staticRouting(rules, '/api/users/1')).toBe('worker');
    expect(staticRouting(rules, '/api/docs/intro')).toBe('assets');
    expect(staticRouting(rules, '/exact')).toBe('worker');
    expect(staticRouting(rules, '/exact/more')).toBeNull();
    expect(staticRouting(rules, '/apiary')).toBeNull();
    expect(staticRouting(['/*.json'], '/data/x.json')).toBe('worker');
    // Only `*` is special: regular-expression characters are literal.
    expect(staticRouting(['/a.b'], '/axb')).toBeNull();
  });
});

describe('paths', () => {
  it('decodes each segment and collapses slashes; encodes the canonical form', () => {
    expect(decodePath('/a%20b//c%2Fd')).toBe('/a b/c/d');
    expect(decodePath('/bad%zz')).toBe('/bad%zz');
    expect(encodePath('/a b/ü.html')).toBe('/a%20b/%C3%BC.html');
  });
});

describe('_redirects and _headers', () => {
  it('parses rules with default 302 and refuses bad ones naming the line', () => {
    const rules = parseRedirects('# comment\n/old /new 301\n/blog/* /posts/:splat\n/users/:id /u/:id 200\n');
    expect(rules.map((r) => [r.from, r.to, r.status, r.line])).toEqual([['/old', '/new', 301, 2], ['/blog/*', '/posts/:splat', 302, 3], ['/users/:id', '/u/:id', 200, 4]]);
    expect(() => parseRedirects('/a /b 404')).toThrow(/_redirects:1: status 404/);
    expect(() => parseRedirects('/a https://x.example/ 200')).toThrow(/_redirects:1/);
    expect(() => parseRedirects('/a')).toThrow(/_redirects:1/);
  });
  it('matches exact rules first, then patterns in order, filling splats and placeholders', () => {
    const rules = parseRedirects('/blog/* /posts/:splat 301\n/blog/special /special 302\n/users/:id/profile /u/:id\n');
    expect(matchRedirect(rules, 'h', '/blog/special')).toEqual({ to: '/special', status: 302 });
    expect(matchRedirect(rules, 'h', '/blog/2024/hello')).toEqual({ to: '/posts/2024/hello', status: 301 });
    expect(matchRedirect(rules, 'h', '/users/42/profile')).toEqual({ to: '/u/42', status: 302 });
    expect(matchRedirect(rules, 'h', '/users/42/x')).toBeNull();
  });
  it('_headers: set, combine and remove headers on matching paths', () => {
    const rules = parseHeaders('/*\n  X-Frame-Options: DENY\n  X-Tag: a\n/assets/*\n  Cache-Control: public, max-age=31536000, immutable\n  X-Tag: b\n  ! X-Frame-Options\n');
    const base: Array<[string, string]> = [['cache-control', 'public, max-age=0, must-revalidate'], ['etag', '"x"']];
    expect(applyHeaderRules(rules, 'h', '/index.html', base)).toEqual([...base, ['x-frame-options', 'DENY'], ['x-tag', 'a']]);
    expect(new Map(applyHeaderRules(rules, 'h', '/assets/app.js', base))).toEqual(new Map([['etag', '"x"'], ['cache-control', 'public, max-age=31536000, immutable'], ['x-tag', 'a, b']]));
    expect(() => parseHeaders('  X-A: b\n')).toThrow(/_headers:1/);
    expect(() => parseHeaders('/a\n  not a header\n')).toThrow(/_headers:2/);
  });
});

describe('Range', () => {
  it('one range of bytes, suffixes and open ends; unsatisfiable ones; several ranges are served whole', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeNull();
    expect(parseRange('items=0-1', 100)).toBeNull();
  });
});
