// Which file (or redirect) a request path means under a worker's `assets` settings, following Workers' documented
// rules: html_handling (how `/about`, `/about/`, `/about.html` and `/about/index.html` meet the files, with 307
// redirects to the one canonical URL), not_found_handling (`single-page-application`: /index.html; `404-page`: the
// nearest 404.html, status 404), run_worker_first patterns, and the `_redirects` / `_headers` rule syntax. Pure
// functions over a lookup of the version's files; asset-server.ts turns their answers into responses.
import type { AssetHeaderRule, AssetRedirectRule, HtmlHandling, NotFoundHandling } from '../../core/assets.ts';

/** The content hash of the file at a decoded path, or undefined when there is none. */
export type AssetLookup = (path: string) => string | undefined;

/** A file to serve (its path, for the content type) with its status, or a redirect to the canonical path. */
export type AssetIntent = { asset: { path: string; hash: string; status: 200 | 404 } } | { redirect: string } | null;

export interface IntentOptions {
  htmlHandling: HtmlHandling;
  notFoundHandling: NotFoundHandling;
}

/**
 * What `pathname` (decoded) means. A redirect is offered only to a path that serves the very same content and is not
 * itself a file, so that following it can never loop or land elsewhere.
 */
export function resolveIntent(pathname: string, lookup: AssetLookup, options: IntentOptions, skipRedirects = false): AssetIntent {
  const p = pathname;
  const serve = (path: string, status: 200 | 404 = 200): AssetIntent => {
    const hash = lookup(path);
    return hash === undefined ? null : { asset: { path, hash, status } };
  };
  /** A redirect to `to` when `file` exists and `to` resolves (without redirects) to the same content. */
  const redirect = (file: string, to: string): AssetIntent => {
    if (skipRedirects || lookup(to) !== undefined) return null;
    const hash = lookup(file);
    if (hash === undefined) return null;
    const there = resolveIntent(to, lookup, options, true);
    return there !== null && 'asset' in there && there.asset.hash === hash ? { redirect: to } : null;
  };
  const exact = lookup(p);
  const notFound = (): AssetIntent => resolveNotFound(p, lookup, options.notFoundHandling);

  switch (options.htmlHandling) {
    case 'none':
      return serve(p) ?? notFound();

    case 'auto-trailing-slash': {
      if (p.endsWith('/index')) {
        if (exact !== undefined) return serve(p);
        const r = redirect(`${p}.html`, p.slice(0, -'index'.length)) ?? redirect(`${p.slice(0, -'/index'.length)}.html`, p.slice(0, -'/index'.length));
        if (r) return r;
      } else if (p.endsWith('/index.html')) {
        const r = redirect(p, p.slice(0, -'index.html'.length)) ?? redirect(`${p.slice(0, -'/index.html'.length)}.html`, p.slice(0, -'/index.html'.length));
        if (r) return r;
      } else if (p.endsWith('/')) {
        const index = serve(`${p}index.html`);
        if (index) return index;
        const r = redirect(`${p.slice(0, -1)}.html`, p.slice(0, -1));
        if (r) return r;
      } else if (p.endsWith('.html')) {
        const base = p.slice(0, -'.html'.length);
        const r = redirect(p, base) ?? redirect(`${base}/index.html`, `${base}/`);
        if (r) return r;
      }
      return serve(p) ?? serve(`${p}.html`) ?? redirect(`${p}/index.html`, `${p}/`) ?? notFound();
    }

    case 'force-trailing-slash': {
      if (p.endsWith('/index')) {
        if (exact !== undefined) return serve(p);
        const dir = p.slice(0, -'index'.length);
        const r = redirect(`${p}.html`, dir) ?? redirect(`${p.slice(0, -'/index'.length)}.html`, dir);
        if (r) return r;
      } else if (p.endsWith('/index.html')) {
        const dir = p.slice(0, -'index.html'.length);
        const r = redirect(p, dir) ?? redirect(`${p.slice(0, -'/index.html'.length)}.html`, dir);
        if (r) return r;
      } else if (p.endsWith('/')) {
        const found = serve(`${p}index.html`) ?? serve(`${p.slice(0, -1)}.html`);
        if (found) return found;
      } else if (p.endsWith('.html')) {
        const base = p.slice(0, -'.html'.length);
        const r = redirect(p, `${base}/`) ?? (exact !== undefined ? serve(p) : null) ?? redirect(`${base}/index.html`, `${base}/`);
        if (r) return r;
      }
      return serve(p) ?? redirect(`${p}.html`, `${p}/`) ?? redirect(`${p}/index.html`, `${p}/`) ?? notFound();
    }

    case 'drop-trailing-slash': {
      if (p.endsWith('/index')) {
        if (exact !== undefined) return serve(p);
        const base = p.slice(0, -'/index'.length);
        const r = p === '/index' ? redirect('/index.html', '/') : (redirect(`${base}.html`, base) ?? redirect(`${p}.html`, base));
        if (r) return r;
      } else if (p.endsWith('/index.html')) {
        const base = p.slice(0, -'/index.html'.length);
        const r = p === '/index.html' ? redirect('/index.html', '/') : (redirect(p, base) ?? (exact !== undefined ? serve(p) : null) ?? redirect(`${base}.html`, base));
        if (r) return r;
      } else if (p.endsWith('/')) {
        if (p === '/') {
          const index = serve('/index.html');
          if (index) return index;
        } else {
          const base = p.slice(0, -1);
          const r = redirect(`${base}.html`, base) ?? redirect(`${base}/index.html`, base);
          if (r) return r;
        }
      } else if (p.endsWith('.html')) {
        const base = p.slice(0, -'.html'.length);
        const r = redirect(p, base) ?? redirect(`${base}/index.html`, base);
        if (r) return r;
      }
      return serve(p) ?? serve(`${p}.html`) ?? serve(`${p}/index.html`) ?? notFound();
    }
  }
}

/** not_found_handling: the SPA's /index.html (200), or the nearest 404.html walking up from the path (404). */
function resolveNotFound(pathname: string, lookup: AssetLookup, handling: NotFoundHandling): AssetIntent {
  if (handling === 'single-page-application') {
    const hash = lookup('/index.html');
    return hash === undefined ? null : { asset: { path: '/index.html', hash, status: 200 } };
  }
  if (handling === '404-page') {
    let dir = pathname;
    while (dir) {
      dir = dir.slice(0, dir.lastIndexOf('/'));
      const path = `${dir}/404.html`;
      const hash = lookup(path);
      if (hash !== undefined) return { asset: { path, hash, status: 404 } };
    }
  }
  return null;
}

/** The request path as files are named: each segment percent-decoded (when it decodes), repeated slashes collapsed. */
export function decodePath(pathname: string): string {
  return pathname
    .split('/')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    })
    .join('/')
    .replace(/\/+/g, '/');
}

/** The canonical URL path of a decoded path: each segment encoded. A request that spells it otherwise is redirected. */
export function encodePath(path: string): string {
  return path.split('/').map((s) => encodeURIComponent(s)).join('/');
}

const REGEX_SPECIALS = /[-/\\^$*+?.()|[\]{}]/g;

/** A run_worker_first pattern (without its `!`): `*` matches any characters, `/` included; the rest literally. */
export function globPattern(rule: string): RegExp {
  return new RegExp(`^${rule.split('*').map((s) => s.replace(REGEX_SPECIALS, '\\$&')).join('.*')}$`);
}

/**
 * The run_worker_first decision for a path: 'worker' (run the worker before any asset), 'assets' (a `!` pattern
 * matched: assets only, even when nothing matches), or null (assets first, the worker for what they do not serve).
 */
export function staticRouting(runWorkerFirst: boolean | readonly string[], pathname: string): 'worker' | 'assets' | null {
  if (runWorkerFirst === true) return 'worker';
  if (runWorkerFirst === false) return null;
  for (const r of runWorkerFirst) if (r.startsWith('!') && globPattern(r.slice(1)).test(pathname)) return 'assets';
  for (const r of runWorkerFirst) if (!r.startsWith('!') && globPattern(r).test(pathname)) return 'worker';
  return null;
}

/** A `_redirects` / `_headers` pattern: `*` is a splat, `:name` a placeholder of one path segment (or host label). */
function rulePattern(rule: string): RegExp {
  let source = rule.split('*').map((s) => s.replace(REGEX_SPECIALS, '\\$&')).join('(?<splat>.*)');
  // A placeholder in the host stops at dots too; one in the path at slashes.
  const hostEnd = source.startsWith('https:\\/\\/') ? source.indexOf('\\/', 'https:\\/\\/'.length) : -1;
  source = source.replace(/:([A-Za-z]\w*)/g, (_m, name: string, offset: number) => (offset < hostEnd ? `(?<${name}>[^/.]+)` : `(?<${name}>[^/]+)`));
  return new RegExp(`^${source}$`);
}

/** `:name` and `:splat` in `text` replaced by what the pattern captured. */
function substitute(text: string, groups: Record<string, string | undefined>): string {
  return text.replace(/:([A-Za-z]\w*)/g, (m, name: string) => groups[name] ?? m);
}

const compiled = new WeakMap<object, RegExp>();
function matchRule(rule: { from?: string; path?: string }, host: string, pathname: string): Record<string, string | undefined> | null {
  const pattern = rule.from ?? rule.path ?? '';
  let re = compiled.get(rule);
  if (!re) {
    try {
      re = rulePattern(pattern);
    } catch {
      // Two placeholders of one name: the pattern matches nothing.
      re = /(?!)/;
    }
    compiled.set(rule, re);
  }
  const subject = pattern.startsWith('https://') ? `https://${host}${pathname}` : pathname;
  const m = re.exec(subject);
  return m ? { ...m.groups } : null;
}

/** The first `_redirects` rule matching the request (exact rules before patterns, as Workers), with its target filled in. */
export function matchRedirect(rules: readonly AssetRedirectRule[], host: string, pathname: string): { to: string; status: number } | null {
  let best: { rule: AssetRedirectRule; groups: Record<string, string | undefined> } | null = null;
  for (const rule of rules) {
    const dynamic = rule.from.includes('*') || /:[A-Za-z]/.test(rule.from);
    if (dynamic) continue;
    const groups = matchRule(rule, host, pathname);
    if (groups && (best === null || rule.line < best.rule.line)) best = { rule, groups };
  }
  if (!best) {
    for (const rule of rules) {
      const groups = matchRule(rule, host, pathname);
      if (groups) {
        best = { rule, groups };
        break;
      }
    }
  }
  if (!best) return null;
  const to = substitute(best.rule.to, best.groups).trim();
  return { to: /^[a-z][a-z0-9+.-]*:\/\//i.test(to) ? to : to.replace(/\/+/g, '/'), status: best.rule.status };
}

/** The `_headers` rules matching the request, applied in order to `headers` (names in lower case). */
export function applyHeaderRules(rules: readonly AssetHeaderRule[], host: string, pathname: string, headers: Array<[string, string]>): Array<[string, string]> {
  let out = headers;
  const setByRules = new Set<string>();
  for (const rule of rules) {
    const groups = matchRule(rule, host, pathname);
    if (!groups) continue;
    if (rule.unset.length) out = out.filter(([k]) => !rule.unset.includes(k));
    for (const [name, value] of rule.set) {
      const v = substitute(value, groups);
      if (setByRules.has(name)) {
        // A header two rules set is combined, as Workers does.
        out = out.map(([k, old]) => (k === name ? [k, `${old}, ${v}`] : [k, old]));
      } else {
        out = [...out.filter(([k]) => k !== name), [name, v]];
        setByRules.add(name);
      }
    }
  }
  return out;
}
