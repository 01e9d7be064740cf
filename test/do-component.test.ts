// Durable Objects from a WebAssembly component: an AssemblyScript worker reaches objects of a JS class (exported by
// another worker, `script_name`) through @edge/guest/durable — ids as JS workers make them, stub.fetch whole — and sees
// the same objects as the JS worker does.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectUpload } from '../host/deploy/upload.ts';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';

const HOST_WORKER = `
export class Counter {
  constructor(ctx) { this.storage = ctx.storage; }
  async fetch(request) {
    const url = new URL(request.url);
    if (request.method === 'POST') {
      const by = Number(await request.text() || '1');
      const n = ((await this.storage.get('n')) ?? 0) + by;
      await this.storage.put('n', n);
      return new Response(String(n), { headers: { 'x-path': url.pathname } });
    }
    return new Response(String((await this.storage.get('n')) ?? 0), { headers: { 'x-path': url.pathname } });
  }
}
export default { fetch(request, env) { return env.COUNTERS.getByName(new URL(request.url).searchParams.get('name')).fetch(request); } };
`;

const AS_WORKER = String.raw`import { Request, Response } from "@edge/guest";
import { DurableObjectNamespace } from "@edge/guest/durable";
import { utf8Encode } from "@edge/guest/utf8";

export function fetch(request: Request): Response {
  const ns = DurableObjectNamespace.open("COUNTERS");
  const name = request.searchParams.get("name")!;
  if (request.path == "/id") return Response.text(ns.idFromName(name));
  if (request.path == "/bad-id") return Response.text(ns.get("00").id);
  const stub = ns.getByName(name);
  const res = request.path == "/add" ? stub.fetch("http://object/add", "POST", utf8Encode(request.searchParams.get("by")!)) : stub.fetch("http://object/get");
  return Response.bytes(res.body!, res.status, res.headers);
}
`;

describe('Durable Objects from an AssemblyScript component', () => {
  let t: TestHost;
  let dir = '';
  beforeAll(async () => {
    t = await startTestHost();
    const js = await t.deploy('do-host', { toml: manifestFor('do-host', 'index.js', '[[durable_objects.bindings]]\nname = "COUNTERS"\nclass_name = "Counter"'), modules: { 'index.js': HOST_WORKER } });
    expect(js.status, JSON.stringify(js.body)).toBe(201);
    dir = await mkdtemp(join(tmpdir(), 'edge-do-as-'));
    await writeFile(join(dir, 'index.ts'), AS_WORKER);
    await writeFile(join(dir, 'wrangler.toml'), 'name = "do-as"\nmain = "index.ts"\ncompatibility_date = "2026-11-01"\n[[durable_objects.bindings]]\nname = "COUNTERS"\nclass_name = "Counter"\nscript_name = "do-host"\n[build]\nlanguage = "assemblyscript"\n');
    const as = await t.admin('POST', '/v1/workers', await collectUpload(dir));
    expect(as.status, JSON.stringify(as.body)).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reaches the same objects as the JS worker, with the same ids', async () => {
    expect((await t.get('do-as', '/add?name=shared&by=5')).text).toBe('5');
    expect((await t.get('do-host', '/?name=shared', { method: 'POST', body: '2' })).text).toBe('7');
    const r = await t.get('do-as', '/get?name=shared');
    expect(r.text).toBe('7');
    expect(r.headers['x-path']).toBe('/get');
    expect((await t.get('do-as', '/get?name=other')).text).toBe('0');
    expect((await t.get('do-as', '/id?name=shared')).text).toMatch(/^[0-9a-f]{64}$/);
  });

  it('an id that is not one of the namespace traps with the reason in the log', async () => {
    const lines: string[] = [];
    const off = t.host.logs.subscribeAll((e) => lines.push(e.message));
    const r = await t.get('do-as', '/bad-id?name=x');
    off();
    expect(r.status).toBe(500);
    expect(lines.join('\n')).toContain('Durable Object idFromString failed: not an id of this namespace: 00');
  });
});
