// Static assets as Workers serves them, through a real host on loopback and the real `edge deploy`: a Hono app with
// an SPA fallback deployed unmodified from its directory, asset headers (types, ETag/304, Range/206, HEAD, _headers),
// html_handling redirects, run_worker_first, env.ASSETS.fetch() from the worker, content-addressed uploads shared by
// versions, an assets-only project (no `main`), and bad configs refused with the old version still serving.
import { mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from './helpers/edge-cli.ts';
import { startTestHost, type TestHost } from './helpers/test-host.ts';
import { writeWorkerDir } from './helpers/worker-dir.ts';
import type { TestResponse } from './helpers/http.ts';

const ROOT = resolve(import.meta.dirname, '..');
const dirs: string[] = [];
let t: TestHost;

beforeAll(async () => {
  t = await startTestHost();
});
afterAll(async () => {
  await t?.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function deployCli(dir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = startEdge(['deploy', dir, '--admin-url', t.host.adminUrl, '--token', t.host.adminToken]);
  const { code } = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** Files in the host's content-addressed asset store. */
async function storedAssets(): Promise<number> {
  let n = 0;
  for (const sub of await readdir(join(t.dataDir, 'assets'), { withFileTypes: true }).catch(() => [])) {
    if (sub.isDirectory()) n += (await readdir(join(t.dataDir, 'assets', sub.name))).length;
  }
  return n;
}

const INDEX = '<!doctype html><title>SPA</title><div id="app"></div><script src="/app.js"></script>\n';
const APP_JS = 'console.log("the single-page app");\n'.repeat(20);
const ABOUT = '<!doctype html><title>About</title><h1>About us</h1>\n';

const HONO_APP = `
import { Hono } from 'hono';

type Bindings = { ASSETS: { fetch(input: Request | string | URL, init?: RequestInit): Promise<Response> } };
const app = new Hono<{ Bindings: Bindings }>();
let seen = 0;
app.use('*', async (c, next) => {
  seen++;
  await next();
});
app.get('/api/hello', (c) => c.json({ hello: 'from hono', path: c.req.path }));
app.get('/api/seen', (c) => c.json({ seen }));
app.get('/api/about-page', async (c) => {
  const res = await c.env.ASSETS.fetch(new URL('/about', c.req.url));
  return c.json({ status: res.status, type: res.headers.get('content-type'), etag: res.headers.get('etag'), text: await res.text() });
});
app.get('/api/asset', async (c) => {
  const res = await c.env.ASSETS.fetch(new Request(new URL(c.req.query('path') ?? '/', c.req.url), { headers: c.req.raw.headers }));
  return new Response(res.body, res);
});
app.notFound((c) => c.json({ error: 'not found by hono', path: c.req.path }, 404));
export default app;
`;

const HONO_TOML = `name = "spa-app"
main = "src/index.ts"
compatibility_date = "2026-11-01"

[limits]
cpu_ms = 1000 # a cold start on a busy test machine; the limit is not what this test is about

[assets]
directory = "./public"
binding = "ASSETS"
not_found_handling = "single-page-application"
run_worker_first = ["/api/*", "!/api/docs/*"]
`;

describe('a Hono app with static assets and an SPA fallback, deployed unmodified with `edge deploy`', () => {
  let dir: string;
  let first: { code: number | null; stdout: string; stderr: string };
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<TestResponse> => t.get('spa-app', path, { method, headers });

  beforeAll(async () => {
    dir = await writeWorkerDir({
      'wrangler.toml': HONO_TOML,
      'src/index.ts': HONO_APP,
      'public/index.html': INDEX,
      'public/app.js': APP_JS,
      'public/about.html': ABOUT,
      'public/copy-of-about.html': ABOUT,
      'public/api/docs/index.html': '<h1>API docs</h1>\n',
      'public/img/logo.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
      'public/secret.txt': 'not for the public\n',
      'public/.assetsignore': 'secret.txt\n',
      'public/_headers': '/app.js\n  X-Served-By: edge-assets\n/*\n  X-Frame-Options: DENY\n',
      'public/_redirects': '/old-about /about 301\n/blog/* /posts/:splat\n',
    }, dirs, 'edge-assets-');
    // The app's npm packages (hono), as a project's own node_modules would hold them.
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    first = await deployCli(dir);
  }, 60_000);

  it('deploys, uploading each distinct content once', () => {
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    // 6 files, 5 distinct contents (copy-of-about.html is about.html again); .assetsignore, _headers, _redirects and
    // the ignored secret.txt are not assets.
    expect(first.stdout).toMatch(/^assets: 5 of 5 file contents uploaded \(0 already on the host\)\ndeployed spa-app version \S+ \(main \S*src\/index\.[jt]s\)\n/);
  });

  it('serves files with their content types, a strong ETag and Workers\' Cache-Control', async () => {
    const index = await get('/');
    expect([index.status, index.text]).toEqual([200, INDEX]);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['etag']).toMatch(/^"[0-9a-f]{64}"$/);
    expect(index.headers['cache-control']).toBe('public, max-age=0, must-revalidate');
    const js = await get('/app.js');
    expect([js.status, js.text, js.headers['content-type'], js.headers['content-length']]).toEqual([200, APP_JS, 'text/javascript; charset=utf-8', String(APP_JS.length)]);
    expect((await get('/img/logo.svg')).headers['content-type']).toBe('image/svg+xml');
    expect((await get('/about')).text).toBe(ABOUT);
  });

  it('answers If-None-Match with 304, a Range with 206 (416 when unsatisfiable), HEAD without a body', async () => {
    const js = await get('/app.js');
    const etag = js.headers['etag'] as string;
    const notModified = await get('/app.js', { 'if-none-match': etag });
    expect([notModified.status, notModified.text, notModified.headers['etag']]).toEqual([304, '', etag]);
    expect((await get('/app.js', { 'if-none-match': `"other", W/${etag}` })).status).toBe(304);
    expect((await get('/app.js', { 'if-none-match': '"other"' })).status).toBe(200);

    const part = await get('/app.js', { range: 'bytes=8-11' });
    expect([part.status, part.text, part.headers['content-range'], part.headers['content-length']]).toEqual([206, APP_JS.slice(8, 12), `bytes 8-11/${APP_JS.length}`, '4']);
    expect(part.headers['cache-control']).toBeUndefined();
    const tail = await get('/app.js', { range: 'bytes=-5' });
    expect([tail.status, tail.text]).toEqual([206, APP_JS.slice(-5)]);
    const beyond = await get('/app.js', { range: `bytes=${APP_JS.length}-` });
    expect([beyond.status, beyond.headers['content-range']]).toEqual([416, `bytes */${APP_JS.length}`]);
    // If-Range with another validator: the whole, current content.
    expect((await get('/app.js', { range: 'bytes=0-3', 'if-range': '"stale"' })).status).toBe(200);

    const head = await get('/app.js', {}, 'HEAD');
    expect([head.status, head.text, head.headers['content-length'], head.headers['etag']]).toEqual([200, '', String(APP_JS.length), etag]);
    // Files accept GET and HEAD only.
    expect((await get('/app.js', {}, 'DELETE')).status).toBe(405);
  });

  it('redirects to the canonical path of an HTML page (html_handling auto-trailing-slash)', async () => {
    const r = await get('/about.html?x=1');
    expect([r.status, r.headers['location']]).toEqual([307, '/about?x=1']);
    expect([(await get('/index.html')).status, (await get('/index.html')).headers['location']]).toEqual([307, '/']);
    expect([(await get('/about/')).status, (await get('/about/')).headers['location']]).toEqual([307, '/about']);
    expect((await get('/copy-of-about')).text).toBe(ABOUT);
    // /api/docs (no slash) is not under !/api/docs/*, so /api/* sends it to the worker.
    expect(JSON.parse((await get('/api/docs')).text).error).toBe('not found by hono');
  });

  it('SPA fallback: a navigation that matches no file gets index.html; other unmatched requests reach the worker', async () => {
    const nav = await get('/dashboard/settings', { 'sec-fetch-mode': 'navigate' });
    expect([nav.status, nav.text, nav.headers['content-type']]).toEqual([200, INDEX, 'text/html; charset=utf-8']);
    const fetchCall = await get('/dashboard/settings');
    expect([fetchCall.status, JSON.parse(fetchCall.text)]).toEqual([404, { error: 'not found by hono', path: '/dashboard/settings' }]);
    // .assetsignore kept it out of the upload.
    expect((await get('/secret.txt')).status).toBe(404);
    expect((await get('/secret.txt')).text).toContain('not found by hono');
  });

  it('run_worker_first patterns: /api/* runs the worker (even for a navigation), !/api/docs/* never does', async () => {
    expect(JSON.parse((await get('/api/hello')).text)).toEqual({ hello: 'from hono', path: '/api/hello' });
    const apiNav = await get('/api/nothing', { 'sec-fetch-mode': 'navigate' });
    expect([apiNav.status, JSON.parse(apiNav.text).error]).toEqual([404, 'not found by hono']);
    const docs = await get('/api/docs/');
    expect([docs.status, docs.text]).toEqual([200, '<h1>API docs</h1>\n']);
  });

  it('serves assets without entering the isolate: the worker counts only its own requests', async () => {
    const before = JSON.parse((await get('/api/seen')).text).seen as number;
    for (const p of ['/', '/app.js', '/about', '/about.html', '/api/docs/']) await get(p);
    await get('/deep/link', { 'sec-fetch-mode': 'navigate' });
    expect(JSON.parse((await get('/api/seen')).text).seen).toBe(before + 1);
  });

  it('env.ASSETS.fetch() from the worker gets the same answers, html_handling and SPA fallback included', async () => {
    const about = JSON.parse((await get('/api/about-page')).text);
    expect(about).toMatchObject({ status: 200, type: 'text/html; charset=utf-8', text: ABOUT });
    expect(about.etag).toBe((await get('/about')).headers['etag']);
    // The binding follows the /about.html → /about redirect, as fetch() does.
    const followed = await get('/api/asset?path=/about.html');
    expect([followed.status, followed.text]).toEqual([200, ABOUT]);
    // Through the binding, the SPA fallback applies to any request.
    const spa = await get('/api/asset?path=/no/such/page');
    expect([spa.status, spa.text]).toEqual([200, INDEX]);
    const ranged = await get('/api/asset?path=/app.js', { range: 'bytes=0-6' });
    expect([ranged.status, ranged.text]).toEqual([206, APP_JS.slice(0, 7)]);
  });

  it('_headers and _redirects rules of the assets directory apply', async () => {
    const js = await get('/app.js');
    expect([js.headers['x-served-by'], js.headers['x-frame-options']]).toEqual(['edge-assets', 'DENY']);
    expect((await get('/')).headers['x-served-by']).toBeUndefined();
    const moved = await get('/old-about');
    expect([moved.status, moved.headers['location']]).toEqual([301, '/about']);
    const blog = await get('/blog/2026/hello?ref=x');
    expect([blog.status, blog.headers['location']]).toEqual([302, '/posts/2026/hello?ref=x']);
    // The rule files themselves are not served.
    expect((await get('/_headers', { 'sec-fetch-mode': 'navigate' })).text).toBe(INDEX);
  });

  it('a redeploy with one file changed uploads and stores only that file; rollback serves the old content again', async () => {
    const stored = await storedAssets();
    const oldTag = (await get('/app.js')).headers['etag'];
    const changed = 'console.log("version two");\n';
    await writeFile(join(dir, 'public/app.js'), changed);
    const second = await deployCli(dir);
    expect(second.stderr).toBe('');
    expect(second.stdout).toMatch(/^assets: 1 of 5 file contents uploaded \(4 already on the host\)\n/);
    expect(await storedAssets()).toBe(stored + 1);
    const now = await get('/app.js');
    expect([now.text, now.headers['etag'] === oldTag]).toEqual([changed, false]);
    // Unchanged files keep their ETag: a browser's copy stays valid across versions.
    expect((await get('/about', { 'if-none-match': (await get('/about')).headers['etag'] as string })).status).toBe(304);

    expect((await t.admin('POST', '/v1/workers/spa-app/rollback', {})).status).toBe(200);
    expect((await get('/app.js')).text).toBe(APP_JS);
    expect((await get('/app.js')).headers['etag']).toBe(oldTag);
  });

  it('a bad assets config is refused naming the key, and the active version keeps serving', async () => {
    const bad = HONO_TOML.replace('not_found_handling = "single-page-application"', 'not_found_handling = "spa"');
    await writeFile(join(dir, 'wrangler.toml'), bad);
    const r = await deployCli(dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error E_MANIFEST_INVALID: wrangler\.toml: `assets\.not_found_handling` must be one of "none", "single-page-application", "404-page", found a string \("spa"\)\n/);
    expect(r.stderr).toContain('key: assets.not_found_handling');
    // The same manifest sent to the admin API straight: refused by the host too.
    const api = await t.admin('POST', '/v1/workers', { manifest: { fileName: 'wrangler.toml', content: bad }, modules: [], assets: { files: [] } });
    expect([api.status, api.body.error.code, api.body.error.details.key]).toEqual([400, 'E_MANIFEST_INVALID', 'assets.not_found_handling']);
    // An upload naming content the host never received is refused too.
    const missing = await t.admin('POST', '/v1/workers', {
      manifest: { fileName: 'wrangler.toml', content: HONO_TOML.replace('main = "src/index.ts"\n', '').replace(/binding = "ASSETS"\n|run_worker_first = .*\n/g, '') },
      modules: [],
      assets: { files: [{ path: '/index.html', hash: 'a'.repeat(64), size: 3 }] },
    });
    expect([missing.status, missing.body.error.code]).toEqual([400, 'E_ASSET_MISSING']);
    expect((await get('/')).text).toBe(INDEX);
    expect(JSON.parse((await get('/api/hello')).text).hello).toBe('from hono');
    await writeFile(join(dir, 'wrangler.toml'), HONO_TOML);
  });

  it('keeps serving the assets after a host restart', async () => {
    await t.restart();
    const r = await get('/about');
    expect([r.status, r.text]).toEqual([200, ABOUT]);
    expect(JSON.parse((await get('/api/about-page')).text).text).toBe(ABOUT);
  });
});

describe('an assets-only project (no `main`)', () => {
  it('deploys and serves its files, its 404 page with status 404, and never a worker', async () => {
    const dir = await writeWorkerDir({
      'wrangler.jsonc': '{\n  // no main: assets only, as wrangler allows\n  "name": "docs-site",\n  "compatibility_date": "2026-11-01",\n  "assets": { "directory": "./dist", "not_found_handling": "404-page", "html_handling": "drop-trailing-slash" }\n}\n',
      'dist/index.html': '<h1>Docs</h1>\n',
      'dist/guide/index.html': '<h1>Guide</h1>\n',
      'dist/404.html': '<h1>Not here</h1>\n',
      'dist/guide/404.html': '<h1>No such guide</h1>\n',
      'dist/data.json': '{"ok":true}\n',
    }, dirs, 'edge-assets-only-');
    const r = await deployCli(dir);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/deployed docs-site version \S+ \(static assets only\)/);
    const get = (path: string, method = 'GET'): Promise<TestResponse> => t.get('docs-site', path, { method });
    expect((await get('/')).text).toBe('<h1>Docs</h1>\n');
    const guide = await get('/guide');
    expect([guide.status, guide.text]).toEqual([200, '<h1>Guide</h1>\n']);
    expect([(await get('/guide/')).status, (await get('/guide/')).headers['location']]).toEqual([307, '/guide']);
    expect((await get('/data.json')).headers['content-type']).toBe('application/json; charset=utf-8');
    const missing = await get('/guide/nope/deeper');
    expect([missing.status, missing.text, missing.headers['content-type']]).toEqual([404, '<h1>No such guide</h1>\n', 'text/html; charset=utf-8']);
    expect([(await get('/elsewhere')).status, (await get('/elsewhere')).text]).toEqual([404, '<h1>Not here</h1>\n']);
    expect((await get('/', 'POST')).status).toBe(405);
    expect((await get('/data.json', 'HEAD')).headers['content-length']).toBe('12');
    // Another worker reaching it in-process gets its assets too (redirects followed as fetch() does).
    const caller = await t.deploy('docs-caller', { modules: { 'index.js': 'export default { async fetch() { const r = await fetch("http://docs-site.localhost/guide/"); return new Response(`${r.status} ${r.redirected} ${await r.text()}`); } }' } });
    expect(caller.status).toBe(201);
    expect((await t.get('docs-caller', '/')).text).toBe('200 true <h1>Guide</h1>\n');
    const versions = await t.admin('GET', '/v1/workers/docs-site/versions');
    expect(versions.body.versions[0].main).toBe('');
  });

  it('refuses a binding or run_worker_first without a worker to give them to', async () => {
    const dir = await writeWorkerDir({ 'wrangler.toml': 'name = "bad-assets"\n[assets]\ndirectory = "./public"\nbinding = "ASSETS"\n' }, dirs, 'edge-assets-bad-');
    await mkdir(join(dir, 'public'));
    const r = await deployCli(dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/`assets\.binding` gives the worker `env\.<binding>`, but the manifest has no `main`/);
    expect(r.stderr).toContain('key: assets.binding');
  });

  it('refuses Workers Sites (`site`) saying what to write instead', async () => {
    const dir = await writeWorkerDir({ 'wrangler.toml': 'name = "old-site"\nmain = "index.js"\n[site]\nbucket = "./public"\n', 'index.js': 'export default { fetch() { return new Response("x") } }' }, dirs, 'edge-assets-site-');
    const r = await deployCli(dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/site.*assets = \{ directory = "\.\/public" \}/);
  });
});
