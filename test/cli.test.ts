// Tests for the `edge` CLI, run as real processes: token resolution, --help, error printing against a stand-in
// admin API on loopback, and (once host/server/host.ts exists) the whole loop against a real host.

import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EdgeError } from '../host/core/errors.ts';
import { resolveAdminToken } from '../host/cli/token.ts';
import { startEdge, type EdgeProcess } from './helpers/edge-cli.ts';

const ROOT = resolve(import.meta.dirname, '..');

const tempDirs: string[] = [];
async function tempDir(prefix = 'edge-cli-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

// ---------------------------------------------------------------------------------------------------------
// Processes

type CliProcess = EdgeProcess;

const running = new Set<ChildProcess>();
afterEach(() => {
  // Each CLI runs in its own process group (the edge.mjs shim plus the node it spawns); kill the whole group.
  for (const child of running) {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
});

/** `untracked` processes outlive a single test (a host shared by a describe block) and are killed by their owner. */
function startCli(args: string[], options: { env?: Record<string, string>; cwd?: string; untracked?: boolean } = {}): CliProcess {
  const p = startEdge(args, { ...(options.cwd ? { cwd: options.cwd } : {}), ...(options.env ? { env: options.env } : {}) });
  if (!options.untracked) {
    running.add(p.child);
    void p.exited.then(() => running.delete(p.child));
  }
  return p;
}

async function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}) {
  const p = startCli(args, options);
  const { code, signal } = await p.exited;
  return { code, signal, stdout: p.stdout(), stderr: p.stderr() };
}

// ---------------------------------------------------------------------------------------------------------
// Token resolution

describe('resolveAdminToken', () => {
  it('prefers --token, then EDGE_ADMIN_TOKEN, then <data-dir>/admin-token', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'admin-token'), '  from-file\n');
    expect(await resolveAdminToken({ token: 'from-flag', env: { EDGE_ADMIN_TOKEN: 'from-env' }, dataDir: dir })).toEqual({ token: 'from-flag', source: 'option' });
    expect(await resolveAdminToken({ env: { EDGE_ADMIN_TOKEN: 'from-env' }, dataDir: dir })).toEqual({ token: 'from-env', source: 'env' });
    expect(await resolveAdminToken({ env: {}, dataDir: dir })).toEqual({ token: 'from-file', source: 'file', file: join(dir, 'admin-token') });
    // Empty values do not count as given.
    expect(await resolveAdminToken({ token: '', env: { EDGE_ADMIN_TOKEN: ' ' }, dataDir: dir })).toMatchObject({ source: 'file' });
  });

  it('defaults the data dir to .edge in the working directory', async () => {
    const e = (await resolveAdminToken({ env: {} }).catch((err: unknown) => err)) as EdgeError;
    if (e instanceof EdgeError) expect(e.details?.['file']).toBe(resolve('.edge/admin-token'));
  });

  it('says how to provide a token when there is none', async () => {
    const dir = await tempDir();
    const e = await resolveAdminToken({ env: {}, dataDir: dir }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(EdgeError);
    expect((e as EdgeError).code).toBe('E_UNAUTHORIZED');
    expect((e as EdgeError).message).toBe(
      `no admin token: no token file at ${join(dir, 'admin-token')}; pass --token <token>, set EDGE_ADMIN_TOKEN, or point --data-dir at the data directory of the running \`edge serve\``,
    );
  });

  it('rejects an empty token file', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'admin-token'), '\n');
    const e = (await resolveAdminToken({ env: {}, dataDir: dir }).catch((err: unknown) => err)) as EdgeError;
    expect(e.code).toBe('E_UNAUTHORIZED');
    expect(e.message).toContain('is empty');
  });
});

// ---------------------------------------------------------------------------------------------------------
// --help

describe('edge --help', () => {
  it('lists every command', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['serve', 'dev', 'deploy', 'list', 'versions', 'rollback', 'delete', 'tail']) expect(r.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
  });

  it.each([
    ['serve', ['--port', '--admin-port', '--host', '--admin-host', '--data-dir']],
    ['dev', ['[dir]', '--port', '--admin-port']],
    ['deploy', ['[dir]', '--admin-url', '--token', '--data-dir']],
    ['list', ['--admin-url', '--token', '--data-dir']],
    ['versions', ['<name>', '--admin-url', '--token', '--data-dir']],
    ['rollback', ['<name>', '[version]', '--admin-url', '--token', '--data-dir']],
    ['delete', ['<name>', '--admin-url', '--token', '--data-dir']],
    ['tail', ['<name>', '--admin-url', '--token', '--data-dir', '--format']],
  ])('%s --help describes its usage, options and examples', async (cmd, mentions) => {
    const r = await runCli([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: edge ${cmd}`);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain(`$ edge ${cmd}`);
    for (const m of mentions) expect(r.stdout).toContain(m);
  });

  it('rejects a bad port before doing anything', async () => {
    const r = await runCli(['serve', '--port', '99999']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('expected a port number from 0 to 65535');
  });

  it('suggests the closest command for a typo', async () => {
    const r = await runCli(['deplyo']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Did you mean deploy?');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Client commands against a stand-in admin API

interface Recorded { method: string; url: string; auth: string | undefined; body: string }
type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function fakeAdmin(handler: Handler): Promise<{ url: string; requests: Recorded[]; server: Server }> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => { body += c; });
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body });
      if (req.headers.authorization !== 'Bearer good-token') {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'E_UNAUTHORIZED', message: 'missing or wrong admin token' } }));
        return;
      }
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

const json = (res: ServerResponse, status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));

describe('client commands against a stand-in admin API', () => {
  let admin: Awaited<ReturnType<typeof fakeAdmin>>;
  const tails = new Set<ServerResponse>();
  beforeAll(async () => {
    admin = await fakeAdmin((req, res, body) => {
      const url = req.url ?? '';
      if (req.method === 'POST' && url === '/v1/workers') {
        const upload = JSON.parse(body) as { manifest: { content: string } };
        if (upload.manifest.content.includes('bad-module')) {
          return json(res, 400, { error: { code: 'E_MODULE_INVALID', message: 'index.js:1:7: Unexpected token', details: { module: 'index.js', line: 1 } } });
        }
        return json(res, 201, { name: 'hello-js', version: { id: 'v-123', createdAt: '2026-01-02T03:04:05.000Z', main: 'index.js' }, url: 'http://hello-js.localhost:8787/', routes: ['example.com/*'] });
      }
      if (req.method === 'GET' && url === '/v1/workers') {
        return json(res, 200, { workers: [{ name: 'hello-js', activeVersion: 'v-123', routes: [], url: 'http://hello-js.localhost:8787/', updatedAt: 1767323045000 }] });
      }
      if (req.method === 'GET' && url === '/v1/workers/hello-js/versions') {
        return json(res, 200, {
          name: 'hello-js',
          activeVersion: 'v-2',
          versions: [
            { id: 'v-2', createdAt: '2026-01-02T00:00:00.000Z', main: 'index.js', active: true },
            { id: 'v-1', createdAt: '2026-01-01T00:00:00.000Z', main: 'index.js', active: false },
          ],
        });
      }
      if (req.method === 'POST' && url === '/v1/workers/hello-js/rollback') {
        const { version } = JSON.parse(body) as { version?: string };
        return json(res, 200, { name: 'hello-js', activeVersion: version ?? 'v-1', previousVersion: 'v-2' });
      }
      if (req.method === 'DELETE' && url === '/v1/workers/hello-js') return json(res, 200, { name: 'hello-js', deleted: true });
      if (req.method === 'GET' && url === '/v1/workers/hello-js/tail') {
        tails.add(res);
        res.on('close', () => tails.delete(res));
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        const ts = Date.UTC(2026, 0, 2, 3, 4, 5);
        res.write(`${JSON.stringify({ ts, worker: 'hello-js', version: 'v-1', level: 'log', kind: 'console', message: 'hello from the worker' })}\n`);
        // Split one event across writes: the client must reassemble lines.
        const ex = JSON.stringify({ ts, worker: 'hello-js', version: 'v-1', level: 'error', kind: 'exception', message: 'Error: boom', stack: 'Error: boom\n    at fetch (index.js:3:11)' });
        res.write(ex.slice(0, 20));
        setTimeout(() => res.write(`${ex.slice(20)}\n${JSON.stringify({ ts, worker: 'hello-js', version: 'v-1', level: 'error', kind: 'limit', code: 'E_CPU_LIMIT', message: 'CPU time limit of 50 ms exceeded' })}\n`), 50);
        return;
      }
      json(res, 404, { error: { code: 'E_WORKER_NOT_FOUND', message: `no worker at ${url}`, details: { url } } });
    });
  });
  afterAll(async () => {
    for (const res of tails) res.destroy();
    await new Promise((r) => admin.server.close(r));
  });

  const client = (...args: string[]) => [...args, '--admin-url', admin.url, '--token', 'good-token'];

  it('deploys: uploads manifest and modules, prints version, URL and routes', async () => {
    const r = await runCli(client('deploy', 'examples/hello-js'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // `main` as the user finds it from where they ran the command (not the bundle the host runs).
    expect(r.stdout).toBe('deployed hello-js version v-123 (main examples/hello-js/index.js)\n  url:    http://hello-js.localhost:8787/\n  routes: example.com/*\n');
    const sent = admin.requests.findLast((q) => q.method === 'POST' && q.url === '/v1/workers')!;
    expect(sent.auth).toBe('Bearer good-token');
    // Bundled by esbuild (as wrangler does): the module and its source map.
    const body = JSON.parse(sent.body) as { manifest: unknown; modules: Array<{ path: string; content: string }> };
    expect(body.manifest).toEqual({ fileName: 'wrangler.toml', content: await readFile(join(ROOT, 'examples/hello-js/wrangler.toml'), 'utf8') });
    expect(body.modules.map((m) => m.path)).toEqual(['index.js', 'index.js.map']);
    expect(body.modules[0]!.content).toContain('Hello from the edge!');
  });

  it('prints host errors as `error E_CODE: message` with details, exit code 1', async () => {
    const dir = await tempDir();
    // no_bundle: the module goes up as it is, so the host is the one that rejects it.
    await writeFile(join(dir, 'wrangler.toml'), 'name = "bad-module"\nmain = "index.js"\nno_bundle = true\n');
    await writeFile(join(dir, 'index.js'), 'export default {');
    const r = await runCli(client('deploy', dir));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('error E_MODULE_INVALID: index.js:1:7: Unexpected token\n  module: index.js\n  line: 1\n');
  });

  it('prints local manifest errors without contacting the host', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'wrangler.toml'), 'name = "w"\nmain = "index.js"\n[limits]\ncpu_ms = 0\n');
    const before = admin.requests.length;
    const r = await runCli(client('deploy', dir));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error E_MANIFEST_INVALID: wrangler.toml: `limits.cpu_ms` must be between 1 and 30000 (milliseconds of CPU time per request), found 0\n' +
        '  file: wrangler.toml\n  key: limits.cpu_ms\n  min: 1\n  max: 30000\n',
    );
    expect(admin.requests.length).toBe(before);
  });

  it('reports a rejected token', async () => {
    const r = await runCli(['list', '--admin-url', admin.url, '--token', 'wrong']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error E_UNAUTHORIZED: missing or wrong admin token\n');
  });

  it('reads the token from EDGE_ADMIN_TOKEN and from <data-dir>/admin-token', async () => {
    const viaEnv = await runCli(['list', '--admin-url', admin.url], { env: { EDGE_ADMIN_TOKEN: 'good-token' } });
    expect(viaEnv.code).toBe(0);
    const dataDir = await tempDir();
    await writeFile(join(dataDir, 'admin-token'), 'good-token\n', { mode: 0o600 });
    const viaFile = await runCli(['list', '--admin-url', admin.url, '--data-dir', dataDir]);
    expect(viaFile.code).toBe(0);
    const cwd = await tempDir();
    const none = await runCli(['list', '--admin-url', admin.url], { cwd });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('error E_UNAUTHORIZED: no admin token: no token file at');
    expect(none.stderr).toContain('pass --token <token>, set EDGE_ADMIN_TOKEN');
  });

  it('takes the admin URL from EDGE_ADMIN_URL', async () => {
    const r = await runCli(['list', '--token', 'good-token'], { env: { EDGE_ADMIN_URL: admin.url } });
    expect(r.code).toBe(0);
  });

  it('says when the admin API cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const r = await runCli(['list', '--admin-url', `http://127.0.0.1:${port}`, '--token', 't']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error E_ADMIN_UNREACHABLE: cannot reach the admin API at http://127.0.0.1:${port} (ECONNREFUSED)`);
  });

  it('lists workers', async () => {
    const r = await runCli(client('list'));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'NAME      ACTIVE VERSION  URL                              ROUTES  UPDATED\n' +
        'hello-js  v-123           http://hello-js.localhost:8787/  -       2026-01-02T03:04:05.000Z\n',
    );
    const asJson = await runCli(client('list', '--json'));
    expect(JSON.parse(asJson.stdout)).toMatchObject({ workers: [{ name: 'hello-js' }] });
  });

  it('lists versions with the active one marked', async () => {
    const r = await runCli(client('versions', 'hello-js'));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'hello-js: 2 versions, active v-2\n' +
        '   VERSION  CREATED                   MAIN\n' +
        '*  v-2      2026-01-02T00:00:00.000Z  index.js\n' +
        '   v-1      2026-01-01T00:00:00.000Z  index.js\n',
    );
  });

  it('rolls back, with and without a version', async () => {
    const r = await runCli(client('rollback', 'hello-js'));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('rolled back hello-js: active version is now v-1 (was v-2)\n');
    expect(JSON.parse(admin.requests.at(-1)!.body)).toEqual({});
    const to = await runCli(client('rollback', 'hello-js', 'v-0'));
    expect(to.stdout).toContain('active version is now v-0');
    expect(JSON.parse(admin.requests.at(-1)!.body)).toEqual({ version: 'v-0' });
  });

  it('deletes', async () => {
    const r = await runCli(client('delete', 'hello-js'));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('deleted hello-js\n');
    expect(admin.requests.at(-1)).toMatchObject({ method: 'DELETE', url: '/v1/workers/hello-js' });
  });

  it('prints a host 404 for an unknown worker', async () => {
    const r = await runCli(client('versions', 'nope'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error E_WORKER_NOT_FOUND: no worker at /v1/workers/nope/versions\n  url: /v1/workers/nope/versions\n');
  });

  it('tails: prints console lines, exceptions with stack, limit breaches with code; stops on SIGINT', async () => {
    const p = startCli(client('tail', 'hello-js'));
    await p.waitFor(/CPU time limit/);
    expect(p.stdout()).toBe(
      '2026-01-02T03:04:05.000Z  hello-js@v-1  log    hello from the worker\n' +
        '2026-01-02T03:04:05.000Z  hello-js@v-1  error  exception: Error: boom\n' +
        '    at fetch (index.js:3:11)\n' +
        '2026-01-02T03:04:05.000Z  hello-js@v-1  error  limit E_CPU_LIMIT: CPU time limit of 50 ms exceeded\n',
    );
    expect(p.stderr()).toContain('connected: tailing hello-js');
    // SIGINT goes to the shim only; it must forward it and exit with the child's code.
    p.child.kill('SIGINT');
    expect(await p.exited).toEqual({ code: 0, signal: null });
  });

  it('tails as NDJSON with --format json', async () => {
    const p = startCli(client('tail', 'hello-js', '--format', 'json'));
    await p.waitFor(/E_CPU_LIMIT/);
    const events = p.stdout().trim().split('\n').map((l) => JSON.parse(l) as { kind: string });
    expect(events.map((e) => e.kind)).toEqual(['console', 'exception', 'limit']);
    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------------
// End to end against a real host

const HOST_EXISTS = existsSync(join(ROOT, 'host/server/host.ts'));

function get(url: string, hostHeader: string): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = httpRequest(url, { headers: { host: hostHeader } }, (r) => {
      let body = '';
      r.setEncoding('utf8').on('data', (c: string) => { body += c; });
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
    });
    req.on('error', rej);
    req.end();
  });
}

/** Fetches a worker at its printed URL (http://<name>.localhost:<port>/) through the data plane on 127.0.0.1. */
function fetchWorker(dataUrl: string, workerUrl: string) {
  const u = new URL(workerUrl);
  return get(`${dataUrl}${u.pathname}`, u.host);
}

describe.skipIf(!HOST_EXISTS)('end to end with a real host', () => {
  let serve: CliProcess;
  let dataDir: string;
  let dataUrl: string;
  let adminUrl: string;
  const client = (...args: string[]) => [...args, '--admin-url', adminUrl, '--data-dir', dataDir];

  beforeAll(async () => {
    dataDir = await tempDir('edge-cli-e2e-');
    serve = startCli(['serve', '--port', '0', '--admin-port', '0', '--data-dir', dataDir], { untracked: true });
    dataUrl = (await serve.waitFor(/^\s*data:\s+(http:\/\/127\.0\.0\.1:\d+)/m))[1]!;
    adminUrl = (await serve.waitFor(/^\s*admin:\s+(http:\/\/127\.0\.0\.1:\d+)/m))[1]!;
    expect(serve.stdout()).toContain(`token: in ${join(dataDir, 'admin-token')}`);
  });
  afterAll(() => {
    try {
      if (serve.child.exitCode === null && serve.child.pid) process.kill(-serve.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });

  it('deploys, lists, versions, rolls back, deletes, and shuts down cleanly', async () => {
    const first = await runCli(client('deploy', 'examples/hello-js'));
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const url = first.stdout.match(/url:\s+(\S+)/)![1]!;
    expect(url).toBe(`http://hello-js.localhost:${new URL(dataUrl).port}/`);
    const v1 = first.stdout.match(/version (\S+)/)![1]!;
    expect(await fetchWorker(dataUrl, url)).toEqual({ status: 200, body: 'Hello from the edge!\n' });

    // A second version of the same worker, from a modified copy.
    const copy = await tempDir();
    await cp(join(ROOT, 'examples/hello-js'), copy, { recursive: true });
    await writeFile(join(copy, 'index.js'), "export default { fetch() { return new Response('v2\\n'); } };\n");
    const second = await runCli(client('deploy', copy));
    expect(second.code).toBe(0);
    const v2 = second.stdout.match(/version (\S+)/)![1]!;
    expect(v2).not.toBe(v1);
    expect((await fetchWorker(dataUrl, url)).body).toBe('v2\n');

    // A bad deploy is rejected and the active version keeps serving.
    await writeFile(join(copy, 'index.js'), 'export default {');
    const bad = await runCli(client('deploy', copy));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error E_[A-Z_]+: /);
    expect((await fetchWorker(dataUrl, url)).body).toBe('v2\n');

    const list = await runCli(client('list'));
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^hello-js\\s+${v2}\\s+${url.replace(/[.]/g, '\\.')}`, 'm'));

    const versions = await runCli(client('versions', 'hello-js'));
    expect(versions.code).toBe(0);
    expect(versions.stdout).toMatch(new RegExp(`^\\*\\s+${v2}\\b`, 'm'));
    expect(versions.stdout).toMatch(new RegExp(`^\\s+${v1}\\b`, 'm'));

    const rollback = await runCli(client('rollback', 'hello-js'));
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toContain(`active version is now ${v1} (was ${v2})`);
    expect((await fetchWorker(dataUrl, url)).body).toBe('Hello from the edge!\n');

    const forward = await runCli(client('rollback', 'hello-js', v2));
    expect(forward.code).toBe(0);
    expect((await fetchWorker(dataUrl, url)).body).toBe('v2\n');

    const del = await runCli(client('delete', 'hello-js'));
    expect(del.code).toBe(0);
    expect(del.stdout).toBe('deleted hello-js\n');
    expect((await fetchWorker(dataUrl, url)).status).not.toBe(200);
    expect((await runCli(client('list'))).stdout).not.toContain('hello-js');
    const gone = await runCli(client('versions', 'hello-js'));
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^error E_WORKER_NOT_FOUND: /);
  });

  it('tails console output of a worker', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'wrangler.toml'), 'name = "tail-me"\nmain = "index.js"\n');
    // A token unique to this run, so the line cannot come from anything else.
    const token = `t${Date.now()}`;
    await writeFile(join(dir, 'index.js'), `export default { fetch() { console.log('hello from tail-me', '${token}'); return new Response('ok'); } };\n`);
    const deployed = await runCli(client('deploy', dir));
    expect(deployed.code).toBe(0);
    const url = deployed.stdout.match(/url:\s+(\S+)/)![1]!;

    const tail = startCli(client('tail', 'tail-me'));
    await tail.waitFor(/connected/, 'stderr');
    expect((await fetchWorker(dataUrl, url)).body).toBe('ok');
    const line = await tail.waitFor(new RegExp(`^.*hello from tail-me ${token}.*$`, 'm'));
    expect(line[0]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\s+tail-me@\\S+\\s+log\\s+hello from tail-me ${token}$`));
    tail.child.kill('SIGINT');
    expect((await tail.exited).code).toBe(0);
  });

  it('closes cleanly on SIGINT', async () => {
    serve.child.kill('SIGINT');
    expect(await serve.exited).toEqual({ code: 0, signal: null });
    expect(serve.stdout()).toContain('closed');
  });
});

describe.skipIf(!HOST_EXISTS)('edge dev', () => {
  it('deploys, redeploys on change, keeps the old version on a failed redeploy', async () => {
    const dir = await tempDir('edge-cli-dev-');
    await writeFile(join(dir, 'wrangler.toml'), 'name = "dev-me"\nmain = "index.js"\n');
    await writeFile(join(dir, 'index.js'), "export default { fetch() { return new Response('one'); } };\n");
    const dev = startCli(['dev', dir, '--port', '0', '--admin-port', '0']);
    const dataUrl = (await dev.waitFor(/^\s*data:\s+(http:\/\/127\.0\.0\.1:\d+)/m))[1]!;
    const url = (await dev.waitFor(/url:\s+(\S+)/))[1]!;
    await dev.waitFor(/watching/);
    expect((await fetchWorker(dataUrl, url)).body).toBe('one');

    await writeFile(join(dir, 'index.js'), "export default { fetch() { console.log('serving two'); return new Response('two'); } };\n");
    await dev.waitFor(/deployed[^]*deployed/);
    expect((await fetchWorker(dataUrl, url)).body).toBe('two');
    // The worker's console output shows in the dev terminal, as with wrangler dev.
    await dev.waitFor(/dev-me@\S+\s+log\s+serving two/);

    await writeFile(join(dir, 'index.js'), 'export default {');
    await dev.waitFor(/error E_[A-Z_]+/, 'stderr');
    await dev.waitFor(/previous version keeps serving/, 'stderr');
    expect((await fetchWorker(dataUrl, url)).body).toBe('two');
    expect(existsSync(join(dir, '.edge'))).toBe(true);

    dev.child.kill('SIGINT');
    expect((await dev.exited).code).toBe(0);
  });
});

// The README's walk-through for WebAssembly workers and user-defined capabilities, command by command.
describe.skipIf(!HOST_EXISTS)('README walk-through: AssemblyScript workers and a capability of your own', () => {
  let serve: CliProcess;
  let dataDir: string;
  let dataUrl: string;
  let adminUrl: string;
  const client = (...args: string[]) => [...args, '--admin-url', adminUrl, '--data-dir', dataDir];
  const call = (name: string, path: string) => get(`${dataUrl}${path}`, `${name}.localhost:${new URL(dataUrl).port}`);

  beforeAll(async () => {
    dataDir = await tempDir('edge-cli-readme-');
    serve = startCli(['serve', '--config', 'examples/capability-geo/edge.config.ts', '--port', '0', '--admin-port', '0', '--data-dir', dataDir], { untracked: true });
    dataUrl = (await serve.waitFor(/^\s*data:\s+(http:\/\/127\.0\.0\.1:\d+)/m))[1]!;
    adminUrl = (await serve.waitFor(/^\s*admin:\s+(http:\/\/127\.0\.0\.1:\d+)/m))[1]!;
  });
  afterAll(() => {
    try {
      if (serve.child.exitCode === null && serve.child.pid) process.kill(-serve.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });

  it('edge build writes a component; edge deploy builds and deploys hello-as', async () => {
    const out = join(await tempDir(), 'hello-as.wasm');
    const built = await runCli(['build', 'examples/hello-as', '--out', out]);
    expect(built.stderr).toBe('');
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(/^built hello-as → .*hello-as\.wasm \([\d.]+ KiB\)/);
    expect([...(await readFile(out)).subarray(0, 8)]).toEqual([0, 0x61, 0x73, 0x6d, 0x0d, 0, 0x01, 0]);
    const deployed = await runCli(client('deploy', 'examples/hello-as'));
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    expect(await call('hello-as', '/readme')).toEqual({ status: 200, body: `hello from http://hello-as.localhost:${new URL(dataUrl).port}/readme\n` });
  }, 60_000);

  it('a user capability serves both a JS worker and an AssemblyScript worker', async () => {
    for (const dir of ['examples/capability-geo/js-worker', 'examples/capability-geo/as-worker']) {
      const r = await runCli(client('deploy', dir));
      expect(r.stderr, dir).toBe('');
      expect(r.code).toBe(0);
    }
    for (const name of ['geo-js', 'geo-as']) {
      expect(JSON.parse((await call(name, '/?ip=192.0.2.10')).body)).toEqual({ ip: '192.0.2.10', region: 'eu-west' });
      expect(JSON.parse((await call(name, '/?ip=192.0.2.200')).body)).toEqual({ ip: '192.0.2.200', region: 'eu-north' });
      expect(JSON.parse((await call(name, '/?ip=8.8.8.8')).body)).toEqual({ ip: '8.8.8.8', region: null });
      const bad = await call(name, '/?ip=1.2.3');
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.body).error).toBe('invalid-address: 1.2.3');
    }
  }, 120_000);
});
