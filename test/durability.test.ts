// An acknowledged deploy, rollback or delete survives SIGKILL of the host: the host process is killed
// right after each acknowledgement (no polite close), restarted on the same data directory, and checked.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from './helpers/http.ts';
import { manifestFor } from './helpers/test-host.ts';

const NODE = join(process.cwd(), 'node_modules', '.bin', 'node');
const MAIN = join(process.cwd(), 'host', 'cli', 'main.ts');
const TOKEN = 'durability-token';

interface Host {
  child: ChildProcess;
  dataUrl: string;
  adminUrl: string;
}

function startHost(dataDir: string): Promise<Host> {
  // The host's own node process (not the edge.mjs shim), so that SIGKILL hits the process holding the state.
  const child = spawn(NODE, ['--no-node-snapshot', '--disable-warning=ExperimentalWarning', MAIN, 'serve', '--port', '0', '--admin-port', '0', '--data-dir', dataDir], {
    env: { ...process.env, EDGE_ADMIN_TOKEN: TOKEN, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`host did not start: ${out}`)), 20_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const data = /data:\s+(http:\/\/\S+)/.exec(out);
      const admin = /admin:\s+(http:\/\/\S+)/.exec(out);
      if (data && admin) {
        clearTimeout(timer);
        resolve({ child, dataUrl: data[1]!, adminUrl: admin[1]! });
      }
    });
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => reject(new Error(`host exited with ${code}: ${out}`)));
  });
}

function kill9(h: Host): Promise<void> {
  return new Promise((resolve) => {
    h.child.removeAllListeners('exit');
    h.child.on('exit', () => resolve());
    h.child.kill('SIGKILL');
  });
}

async function admin(h: Host, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(h.adminUrl + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: await res.json() };
}

const upload = (name: string, text: string) => ({
  manifest: { fileName: 'wrangler.toml', content: manifestFor(name, 'index.js') },
  modules: [{ path: 'index.js', content: `export default { fetch() { return new Response(${JSON.stringify(text)}); } };` }],
});

async function get(h: Host, name: string): Promise<string> {
  const port = new URL(h.dataUrl).port;
  const r = await request(`${h.dataUrl}/`, { host: `${name}.localhost:${port}` });
  return `${r.status} ${r.text}`;
}

describe('durability of deployments under SIGKILL', () => {
  let dataDir = '';
  let host: Host | undefined;
  afterAll(async () => {
    if (host && host.child.exitCode === null) await kill9(host);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged deploy, rollback and delete', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'edge-durable-'));
    host = await startHost(dataDir);
    expect((await admin(host, 'POST', '/v1/workers', upload('alpha', 'alpha v1'))).status).toBe(201);
    await kill9(host);

    host = await startHost(dataDir);
    expect(await get(host, 'alpha')).toBe('200 alpha v1');
    expect((await admin(host, 'POST', '/v1/workers', upload('alpha', 'alpha v2'))).status).toBe(201);
    expect((await admin(host, 'POST', '/v1/workers', upload('beta', 'beta v1'))).status).toBe(201);
    await kill9(host);

    host = await startHost(dataDir);
    expect(await get(host, 'alpha')).toBe('200 alpha v2');
    expect(await get(host, 'beta')).toBe('200 beta v1');
    expect((await admin(host, 'POST', '/v1/workers/alpha/rollback', {})).status).toBe(200);
    expect((await admin(host, 'DELETE', '/v1/workers/beta')).status).toBe(200);
    await kill9(host);

    host = await startHost(dataDir);
    expect(await get(host, 'alpha')).toBe('200 alpha v1');
    expect(await get(host, 'beta')).toMatch(/^404 /);
    const versions = await admin(host, 'GET', '/v1/workers/alpha/versions');
    expect(versions.body.versions).toHaveLength(2);
  });

  it('never serves a half-written deploy after a kill in the middle of deploying', async () => {
    if (host && host.child.exitCode === null) await kill9(host);
    host = await startHost(dataDir);
    const big = upload('gamma', 'gamma v1');
    big.modules[0]!.content += `\nexport const filler = ${JSON.stringify('x'.repeat(2_000_000))};`;
    // Kill while deploys are in flight, at a few different moments.
    for (const delay of [5, 20, 60]) {
      const inflight = admin(host, 'POST', '/v1/workers', big).catch(() => null);
      await new Promise((r) => setTimeout(r, delay));
      await kill9(host);
      const acked = await inflight;
      host = await startHost(dataDir);
      const got = await get(host, 'gamma');
      if (acked?.status === 201) expect(got).toBe('200 gamma v1');
      else expect(got === '200 gamma v1' || got.startsWith('404 ')).toBe(true);
    }
    expect(await get(host, 'alpha')).toBe('200 alpha v1');
  });
});
