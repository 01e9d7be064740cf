// An acknowledged deploy, rollback or delete survives SIGKILL of the host: the host process is killed
// right after each acknowledgement (no polite close), restarted on the same data directory, and checked.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from './helpers/http.ts';
import { manifestFor } from './helpers/test-host.ts';
import { childAdmin as admin, kill9, startChildHost as startHost, type ChildHost as Host } from './helpers/child-host.ts';

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
