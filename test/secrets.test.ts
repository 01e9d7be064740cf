// Workers' secrets against a real host on loopback: set, listed (names only), deleted through the admin API and the
// `edge secret` CLI; in env like vars from the next request; encrypted at rest in the data directory; kept across a
// restart; never in a stored version or an answer. And `edge dev` reading .dev.vars.

import { spawn } from 'node:child_process';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';
import { startEdge, startEdgeDev, type EdgeProcess } from './helpers/edge-cli.ts';
import { request } from './helpers/http.ts';
import { writeWorkerDir } from './helpers/worker-dir.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SECRET = 'sk_live_very-secret-value-123';
const ENV_WORKER = 'export default { fetch: (req, env) => Response.json(Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === "string"))) };\n';

const dirs: string[] = [];
let t: TestHost;
beforeAll(async () => {
  t = await startTestHost();
});
afterAll(async () => {
  await t?.close();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const envOf = async (name: string): Promise<Record<string, string>> => JSON.parse((await t.get(name)).text) as Record<string, string>;

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

describe('secrets through the admin API', () => {
  it('puts a secret into env from the next request, without a redeploy, and lists names only', async () => {
    expect((await t.deploy('sec', { toml: manifestFor('sec', 'index.js', '[vars]\nPLAIN = "var"\nTOKEN = "placeholder"\n'), modules: { 'index.js': ENV_WORKER } })).status).toBe(201);
    expect(await envOf('sec')).toEqual({ PLAIN: 'var', TOKEN: 'placeholder' });

    const put = await t.admin('PUT', '/v1/workers/sec/secrets/API_KEY', { value: SECRET });
    expect(put).toEqual({ status: 200, body: { name: 'sec', secrets: ['API_KEY'], applied: true } });
    expect(await envOf('sec')).toEqual({ PLAIN: 'var', TOKEN: 'placeholder', API_KEY: SECRET });

    // A secret replaces a var of its name (as .dev.vars does under wrangler dev); several go in at once.
    const bulk = await t.admin('PUT', '/v1/workers/sec/secrets', { secrets: { TOKEN: 'real-token', OTHER: 'x' } });
    expect(bulk.body).toEqual({ name: 'sec', secrets: ['OTHER', 'TOKEN'], applied: true });
    expect(await envOf('sec')).toEqual({ PLAIN: 'var', TOKEN: 'real-token', API_KEY: SECRET, OTHER: 'x' });

    const list = await t.admin('GET', '/v1/workers/sec/secrets');
    expect(list.status).toBe(200);
    expect(list.body.secrets.map((s: { name: string }) => s.name)).toEqual(['API_KEY', 'OTHER', 'TOKEN']);
    expect(JSON.stringify(list.body)).not.toContain(SECRET);
    for (const s of list.body.secrets) expect(Object.keys(s).sort()).toEqual(['name', 'updatedAt']);

    const del = await t.admin('DELETE', '/v1/workers/sec/secrets/OTHER');
    expect(del.body).toEqual({ name: 'sec', secret: 'OTHER', deleted: true });
    expect(await envOf('sec')).toEqual({ PLAIN: 'var', TOKEN: 'real-token', API_KEY: SECRET });
    const missing = await t.admin('DELETE', '/v1/workers/sec/secrets/OTHER');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('E_SECRET_NOT_FOUND');
  });

  it('keeps them encrypted at rest, out of stored versions, and across a restart', async () => {
    const keyFile = join(t.dataDir, 'secrets.key');
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(t.dataDir, 'secrets', 'sec.json'))).mode & 0o777).toBe(0o600);
    for (const file of await filesUnder(t.dataDir)) {
      expect(await readFile(file, 'latin1'), file).not.toContain(SECRET);
    }
    const versions = await t.admin('GET', '/v1/workers/sec/versions');
    expect(JSON.stringify(versions.body)).not.toContain(SECRET);

    await t.restart();
    expect((await envOf('sec')).API_KEY).toBe(SECRET);
    // A redeploy keeps them (they belong to the worker, not to a version).
    expect((await t.deploy('sec', { toml: manifestFor('sec', 'index.js'), modules: { 'index.js': ENV_WORKER } })).status).toBe(201);
    expect(await envOf('sec')).toEqual({ TOKEN: 'real-token', API_KEY: SECRET });
  });

  it('holds secrets set before the first deploy, and deletes them with the worker', async () => {
    expect((await t.admin('PUT', '/v1/workers/early/secrets/EARLY', { value: 'before' })).body).toEqual({ name: 'early', secrets: ['EARLY'], applied: false });
    expect((await t.deploy('early', { modules: { 'index.js': ENV_WORKER } })).status).toBe(201);
    expect(await envOf('early')).toEqual({ EARLY: 'before' });
    expect((await t.admin('DELETE', '/v1/workers/early')).status).toBe(200);
    expect((await t.admin('GET', '/v1/workers/early/secrets')).body.secrets).toEqual([]);
  });

  it('refuses bad names, oversized values, and a name a binding has', async () => {
    const bad = await t.admin('PUT', '/v1/workers/sec/secrets/2FA', { value: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('E_SECRET_INVALID');
    const big = await t.admin('PUT', '/v1/workers/sec/secrets/BIG', { value: 'x'.repeat(5 * 1024 + 1) });
    expect(big.body.error.message).toBe('The value of secret BIG is 5121 bytes; at most 5120 are allowed.');
    const notString = await t.admin('PUT', '/v1/workers/sec/secrets/N', { value: 5 });
    expect(notString.body.error.code).toBe('E_SECRET_INVALID');
    expect((await t.deploy('bound', { toml: manifestFor('bound', 'index.js', 'kv_namespaces = [{ binding = "CACHE", id = "c" }]'), modules: { 'index.js': ENV_WORKER } })).status).toBe(201);
    const clash = await t.admin('PUT', '/v1/workers/bound/secrets/CACHE', { value: 'x' });
    expect(clash.status).toBe(400);
    expect(clash.body.error.message).toBe('Worker "bound" has a binding named CACHE; env.CACHE can only be one of them: name the secret differently.');
  });
});

describe('edge secret', () => {
  /** `edge secret ...` against the test host, with `input` on stdin. */
  function secretCli(args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((done) => {
      const child = spawn(join(ROOT, 'node_modules/.bin/node'), [join(ROOT, 'host/cli/edge.mjs'), 'secret', ...args, '--admin-url', t.host.adminUrl, '--token', t.host.adminToken], {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: '1', NODE_OPTIONS: '' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      child.on('close', (code) => done({ code, stdout, stderr }));
      child.stdin.end(input);
    });
  }

  it('puts from stdin, bulk-loads a .dev.vars file, lists names and deletes, never printing a value', async () => {
    expect((await t.deploy('cli-sec', { modules: { 'index.js': ENV_WORKER } })).status).toBe(201);
    const put = await secretCli(['put', 'cli-sec', 'API_KEY'], `${SECRET}\n`);
    expect(put).toMatchObject({ code: 0, stdout: 'set secret API_KEY of cli-sec (in env from the next request)\n' });
    expect(await envOf('cli-sec')).toEqual({ API_KEY: SECRET });

    const file = join(await writeWorkerDir({ '.dev.vars': 'DB_URL="postgres://u:p@h/db"\n# a comment\nFLAG=on\n' }, dirs), '.dev.vars');
    const bulk = await secretCli(['bulk', 'cli-sec', file]);
    expect(bulk).toMatchObject({ code: 0, stdout: 'set 2 secrets of cli-sec: DB_URL, FLAG\n' });
    expect(await envOf('cli-sec')).toEqual({ API_KEY: SECRET, DB_URL: 'postgres://u:p@h/db', FLAG: 'on' });

    const list = await secretCli(['list', 'cli-sec']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+UPDATED\nAPI_KEY\s+\d{4}-.*\nDB_URL\s+.*\nFLAG\s+.*\n$/);
    const json = await secretCli(['list', 'cli-sec', '--json']);
    expect(JSON.parse(json.stdout).secrets.map((s: { name: string }) => s.name)).toEqual(['API_KEY', 'DB_URL', 'FLAG']);
    for (const out of [put, bulk, list, json]) expect(out.stdout + out.stderr).not.toContain(SECRET);

    const del = await secretCli(['delete', 'cli-sec', 'FLAG']);
    expect(del).toMatchObject({ code: 0, stdout: 'deleted secret FLAG of cli-sec\n' });
    const again = await secretCli(['delete', 'cli-sec', 'FLAG']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error E_SECRET_NOT_FOUND: Worker "cli-sec" has no secret FLAG/);
  });
});

describe('edge dev with .dev.vars', () => {
  let dev: EdgeProcess | undefined;
  afterAll(() => dev?.kill());

  it('puts .dev.vars into env (over [vars]) and follows edits to it', async () => {
    const dir = await writeWorkerDir({
      'wrangler.toml': 'name = "devvars"\nmain = "src/index.js"\n[vars]\nAPI_HOST = "api.example.com"\nAPI_TOKEN = "set-in-dev-vars"\n',
      'src/index.js': ENV_WORKER,
      '.dev.vars': `API_TOKEN=${SECRET}\n`,
    }, dirs);
    const started = await startEdgeDev(dir);
    dev = started.dev;
    const get = async () => JSON.parse((await request(`${started.url}/`, { host: started.host })).text) as Record<string, string>;
    expect(await get()).toEqual({ API_HOST: 'api.example.com', API_TOKEN: SECRET });
    expect(dev.stdout()).toContain('.dev.vars: 1 secret in env (API_TOKEN)');
    expect(dev.stdout() + dev.stderr()).not.toContain(SECRET);

    await writeFile(join(dir, '.dev.vars'), 'API_TOKEN=rotated\nEXTRA=1\n');
    await dev.waitFor(/\.dev\.vars: 2 secrets in env \(API_TOKEN, EXTRA\)/);
    expect(await get()).toEqual({ API_HOST: 'api.example.com', API_TOKEN: 'rotated', EXTRA: '1' });
  });
});

describe('edge tail and edge dev --egress-allow', () => {
  it('tails every request with its method, URL, status and outcome', async () => {
    expect((await t.deploy('tailed', { modules: { 'index.js': 'export default { fetch: (req) => new URL(req.url).pathname === "/boom" ? Promise.reject(new Error("boom")) : new Response("ok") };' } })).status).toBe(201);
    const tail = startEdge(['tail', 'tailed', '--admin-url', t.host.adminUrl, '--token', t.host.adminToken]);
    try {
      await tail.waitFor(/connected/, 'stderr');
      await t.get('tailed', '/hello?x=1');
      await t.get('tailed', '/boom');
      await tail.waitFor(/request GET http:\/\/tailed\.localhost:\d+\/hello\?x=1 200 ok \(\d+ ms\)/);
      await tail.waitFor(/request GET http:\/\/tailed\.localhost:\d+\/boom 500 E_WORKER_EXCEPTION \(\d+ ms\)/);
    } finally {
      tail.kill();
    }
  });

  it('edge dev --egress-allow lets fetch() reach loopback', async () => {
    const origin = await import('node:http').then(({ createServer }) => createServer((_req, res) => res.end('from the origin')));
    await new Promise<void>((ok) => origin.listen(0, '127.0.0.1', ok));
    const port = (origin.address() as { port: number }).port;
    const dir = await writeWorkerDir({ 'wrangler.toml': 'name = "egress"\nmain = "index.js"\n', 'index.js': `export default { fetch: () => fetch("http://127.0.0.1:${port}/") };\n` }, dirs);
    const d = startEdge(['dev', dir, '--port', '0', '--admin-port', '0', '--egress-allow', '127.0.0.1/32']);
    try {
      const url = (await d.waitFor(/^\s*data:\s+(http:\/\/127\.0\.0\.1:\d+)/m))[1]!;
      await d.waitFor(/watching/);
      const res = await request(`${url}/`, { host: 'egress.localhost' });
      expect(res.text).toBe('from the origin');
    } finally {
      d.kill();
      origin.close();
    }
  });
});
