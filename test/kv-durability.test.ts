// KV and R2 durability through the HTTP data plane: several clients write through a worker while the host is SIGKILLed at
// random moments, again and again; after each restart every acknowledged write is there with its exact bytes and no
// damaged value is ever returned. Then a torn tail written by hand into the KV log is cut off on restart.
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { request } from './helpers/http.ts';
import { manifestFor } from './helpers/test-host.ts';
import { childAdmin, kill9, startChildHost, type ChildHost } from './helpers/child-host.ts';
import { valueFor } from '../storage/test/kv-values.ts';

const WORKER = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const key = url.searchParams.get('k');
    const object = url.searchParams.get('r');
    if (object !== null) {
      if (request.method === 'PUT') {
        await env.R2.put(object, request.body);
        return new Response('stored');
      }
      const o = await env.R2.get(object);
      return o === null ? new Response('missing', { status: 404 }) : new Response(o.body);
    }
    if (request.method === 'PUT') {
      await env.KV.put(key, await request.arrayBuffer());
      return new Response('stored');
    }
    if (url.pathname === '/list') {
      const names = [];
      let cursor;
      do {
        const page = await env.KV.list({ cursor });
        names.push(...page.keys.map((k) => k.name));
        cursor = page.list_complete ? undefined : page.cursor;
      } while (cursor);
      return Response.json(names);
    }
    const value = await env.KV.get(key, 'arrayBuffer');
    return value === null ? new Response('missing', { status: 404 }) : new Response(value);
  },
};
`;

const CLIENTS = 12;

describe('KV and R2 durability through the data plane under SIGKILL', () => {
  let dataDir = '';
  let host: ChildHost | undefined;
  afterAll(async () => {
    if (host) await kill9(host);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  // Keys starting with "obj-" go to R2 (streamed request body into the object store), the others to KV.
  const param = (key: string) => (key.startsWith('obj-') ? 'r' : 'k');
  const put = (h: ChildHost, key: string) =>
    request(`${h.dataUrl}/?${param(key)}=${encodeURIComponent(key)}`, { host: `kv-writer.localhost:${h.port}`, method: 'PUT', body: valueFor(key) });
  const get = (h: ChildHost, path: string) => request(`${h.dataUrl}${path}`, { host: `kv-writer.localhost:${h.port}` });

  async function verify(h: ChildHost, acked: Set<string>, round: number): Promise<void> {
    for (const key of acked) {
      const r = await get(h, `/?${param(key)}=${encodeURIComponent(key)}`);
      expect(r.status, `acknowledged ${key} is missing after kill ${round}`).toBe(200);
      expect(r.body.equals(valueFor(key)), `${key} came back damaged`).toBe(true);
    }
    // Writes in flight at the kill may or may not be there, but never damaged.
    const names = JSON.parse((await get(h, '/list')).text) as string[];
    for (const key of names.filter((k) => !acked.has(k))) {
      const r = await get(h, `/?k=${encodeURIComponent(key)}`);
      expect(r.body.equals(valueFor(key)), `${key} (in flight at a kill) came back damaged`).toBe(true);
    }
  }

  it('keeps every acknowledged KV put and R2 object across repeated kills at random moments', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'edge-kv-durable-'));
    host = await startChildHost(dataDir);
    const deployed = await childAdmin(host, 'POST', '/v1/workers', {
      manifest: { fileName: 'wrangler.toml', content: manifestFor('kv-writer', 'index.js', 'kv_namespaces = [{ binding = "KV", id = "durable" }]\nr2_buckets = [{ binding = "R2", bucket_name = "durable" }]\n[limits]\ncpu_ms = 200') },
      modules: [{ path: 'index.js', content: WORKER }],
    });
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(201);
    const acked = new Set<string>();
    for (let round = 0; round < 4; round++) {
      const h = host;
      let stop = false;
      const clients = Array.from({ length: CLIENTS }, async (_, c) => {
        for (let seq = 0; !stop; seq++) {
          const key = `${c % 3 === 0 ? 'obj-' : ''}r${round}-c${c}-${seq}`;
          try {
            const r = await put(h, key);
            if (r.status === 200 && r.text === 'stored') acked.add(key);
          } catch {
            return; // the host died under this request: not acknowledged
          }
        }
      });
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 900)));
      stop = true;
      await kill9(h);
      await Promise.all(clients);
      host = await startChildHost(dataDir);
      await verify(host, acked, round);
    }
    expect(acked.size).toBeGreaterThan(200);
    expect([...acked].filter((k) => k.startsWith('obj-')).length).toBeGreaterThan(30);

    // A torn tail by hand: half a record appended to the newest KV segment, as a write cut by a crash leaves it.
    await kill9(host);
    const kvDir = join(dataDir, 'kv');
    const newest = (await readdir(kvDir)).filter((f) => f.endsWith('.log')).sort().pop()!;
    const torn = Buffer.alloc(8 + 40);
    torn.writeUInt32LE(0xdeadbeef, 0);
    torn.writeUInt32LE(4096, 4);
    await appendFile(join(kvDir, newest), torn);
    host = await startChildHost(dataDir);
    await verify(host, acked, 99);
    // And the store goes on accepting (and keeping) writes after it.
    expect((await put(host, 'after-torn')).status).toBe(200);
    await kill9(host);
    host = await startChildHost(dataDir);
    const after = await get(host, '/?k=after-torn');
    expect(after.body.equals(valueFor('after-torn'))).toBe(true);
  }, 180_000);
});
