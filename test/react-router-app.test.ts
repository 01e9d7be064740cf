// A React Router v8 app deployed unmodified from its vite build output. test/fixtures/react-router-app is a real
// project, shaped as create-cloudflare's react-router template (workers/app.ts with createRequestHandler,
// @cloudflare/vite-plugin, a loader reading env, an action, a 404 from a loader), built here with react-router 8.4.0,
// @react-router/dev 8.4.0, vite 8.4.0 and @cloudflare/vite-plugin 1.64.0 (`react-router build`); only the source maps
// were left out. The build left `.wrangler/deploy/config.json` pointing at build/server/wrangler.json (main index.js,
// assets ../client), which `edge deploy` follows.
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from './helpers/edge-cli.ts';
import { startTestHost, type TestHost } from './helpers/test-host.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'react-router-app');

describe('a React Router app from its vite build output, unmodified', () => {
  let t: TestHost;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edge-rr-'));
    await cp(FIXTURE, dir, { recursive: true });
    t = await startTestHost();
    // The real `edge deploy`: follows the redirect, uploads the client build as assets, deploys the server build.
    const p = startEdge(['deploy', dir, '--admin-url', t.host.adminUrl, '--token', t.host.adminToken]);
    const { code } = await p.exited;
    expect(code, p.stderr()).toBe(0);
    expect(p.stdout()).toMatch(/^assets: 8 of 8 file contents uploaded \(0 already on the host\)\ndeployed react-router-app version \S+ \(main \S*build\/server\/index\.js\)\n/);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('renders the index route on the server with its loader data from env', async () => {
    const r = await t.get('react-router-app', '/');
    expect(r.status, r.text).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    expect(r.text).toContain('<title>New React Router App</title>');
    expect(r.text).toContain('<p id="message">Hello from Cloudflare</p>');
    // The client entry it names is one of the built assets.
    expect(r.text).toMatch(/\/assets\/entry\.client-[\w-]+\.js/);
  });

  it('runs a route with params, its action on a form POST, and a 404 thrown by a loader', async () => {
    const item = await t.get('react-router-app', '/items/42');
    expect(item.status).toBe(200);
    expect(item.text).toMatch(/<h1 id="item">Item (<!-- -->)?42<\/h1>/);
    const saved = await t.get('react-router-app', '/items/7', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=lamp',
    });
    expect(saved.status, saved.text).toBe(200);
    expect(saved.text).toContain('<p id="saved">7:lamp</p>');
    const missing = await t.get('react-router-app', '/items/missing');
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('The requested page could not be found.');
  });

  it("answers the client router's data requests (single fetch, .data)", async () => {
    const r = await t.get('react-router-app', '/items/42.data');
    expect(r.status, r.text).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/x-script/);
    expect(r.text).toContain('"42"');
  });

  it('serves the client build as static assets, without the worker', async () => {
    const names = await readdir(join(FIXTURE, 'build', 'client', 'assets'));
    const entry = names.find((n) => n.startsWith('entry.client-'))!;
    const r = await t.get('react-router-app', `/assets/${entry}`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/javascript/);
    expect(r.headers['etag']).toBeTruthy();
    const again = await t.get('react-router-app', `/assets/${entry}`, { headers: { 'if-none-match': String(r.headers['etag']) } });
    expect(again.status).toBe(304);
  });
});
