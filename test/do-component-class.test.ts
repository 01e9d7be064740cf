// Durable Object classes written as AssemblyScript components (world edge:platform/durable-object): a manifest that
// declares the class builds and deploys the component as its class; stubs from a JS worker and from another component
// reach its objects, whose `objectFetch(id, request)` runs one event at a time with `durable-storage` as the object's
// own storage (the host's Durable Object store, as JS classes'): writes committed atomically when the handler returns,
// nothing committed when it traps, list in key order within its bounds, values at most 128 KiB.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectUpload } from '../host/deploy/upload.ts';
import { buildWorker } from '../host/build/worker-build.ts';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';

/** The class under test: a counter, and each storage function behind a route. */
const CLASS = String.raw`import { Request, Response, Headers, console } from "@edge/guest";
import { storage, ListOptions } from "@edge/guest/durable-storage";
import { DurableObjectNamespace } from "@edge/guest/durable";
import { utf8Decode } from "@edge/guest/utf8";

function count(): i64 {
  const v = storage.getText("count");
  return v == null ? 0 : I64.parseInt(v);
}

function param(request: Request, name: string): string {
  const v = request.searchParams.get(name);
  return v == null ? "" : v;
}

function filled(n: i32): Uint8Array {
  const b = new Uint8Array(n);
  b.fill(120);
  return b;
}

export function objectFetch(id: string, request: Request): Response {
  const path = request.path;
  const key = param(request, "key");
  if (path == "/inc") {
    const n = count() + 1;
    storage.putText("count", n.toString());
    return Response.text(n.toString());
  }
  if (path == "/get") return Response.text(count().toString());
  if (path == "/id") return Response.text(id);
  if (path == "/echo") {
    const h = new Headers();
    h.set("x-method", request.method);
    return Response.text(request.text() + " " + request.url, 201, h);
  }
  if (path == "/put") {
    const keys = key.split(",");
    for (let i = 0; i < keys.length; i++) storage.putText(keys[i], param(request, "value"));
    return Response.text("ok");
  }
  if (path == "/read") {
    const v = storage.getText(key);
    return Response.text(v == null ? "(none)" : v);
  }
  if (path == "/size") {
    const why = storage.tryPut(key, filled(I32.parseInt(param(request, "n"))));
    return Response.text(why == null ? "stored" : why);
  }
  if (path == "/put-big") {
    storage.putText("before-big", "x");
    storage.put(key, filled(I32.parseInt(param(request, "n"))));
    return Response.text("unreachable");
  }
  if (path == "/delete") return Response.text(storage.delete(key) ? "true" : "false");
  if (path == "/delete-all") {
    storage.deleteAll();
    if (param(request, "then") != "") storage.putText(param(request, "then"), "after");
    return Response.text("cleared");
  }
  if (path == "/list") {
    const o = new ListOptions();
    const prefix = request.searchParams.get("prefix");
    const start = request.searchParams.get("start");
    const end = request.searchParams.get("end");
    const limit = request.searchParams.get("limit");
    o.prefix = prefix;
    o.start = start;
    o.end = end;
    if (limit != null) o.limit = <u32>I32.parseInt(limit);
    o.reverse = request.searchParams.get("reverse") == "1";
    const entries = storage.list(o);
    const parts = new Array<string>();
    for (let i = 0; i < entries.length; i++) parts.push(entries[i].key + "=" + entries[i].text);
    return Response.text(parts.join(","));
  }
  if (path == "/own-writes") {
    // This request's writes are visible to its own reads and lists before they are committed.
    storage.putText("own-b", "2");
    storage.putText("own-a", "1");
    const deleted = storage.delete("own-b");
    const entries = storage.list();
    const parts = new Array<string>();
    for (let i = 0; i < entries.length; i++) parts.push(entries[i].key);
    return Response.text((deleted ? "deleted " : "kept ") + parts.join(","));
  }
  if (path == "/write-then-trap") {
    storage.putText(key, "written before the trap");
    const n = count() + 1;
    storage.putText("count", n.toString());
    console.error("about to trap");
    unreachable();
  }
  if (path == "/stream") {
    Response.begin(200, new Headers());
    return Response.text("unreachable");
  }
  return Response.text("no route " + path, 404);
}

/** The worker's own requests: storage is refused here, and so is a stub of its own class. */
export function fetch(request: Request): Response {
  if (request.path == "/storage") {
    storage.putText("k", "v");
    return Response.text("unreachable");
  }
  if (request.path == "/self") {
    const res = DurableObjectNamespace.open("COUNTERS").getByName("self").fetch("http://o/get");
    return Response.bytes(res.body!, res.status, res.headers);
  }
  return Response.text("the class worker " + utf8Decode(new Uint8Array(0)));
}
`;

const CLASS_TOML = 'name = "do-class"\nmain = "index.ts"\ncompatibility_date = "2026-11-01"\n[[durable_objects.bindings]]\nname = "COUNTERS"\nclass_name = "Counter"\n[[migrations]]\ntag = "v1"\nnew_classes = ["Counter"]\n[limits]\ncpu_ms = 500\n[build]\nlanguage = "assemblyscript"\n';

// cpu_ms as test/durable-objects.test.ts has it: 200 requests at once on a shared 2-core machine.
/** A JS front: every path goes to the object named by ?name (the request as it came, through stub.fetch). */
const JS_FRONT = `
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return env.COUNTERS.getByName(url.searchParams.get('name') ?? 'default').fetch(request);
  },
};
`;

/** An AssemblyScript front: the same, through @edge/guest/durable. */
const AS_FRONT = String.raw`import { Request, Response } from "@edge/guest";
import { DurableObjectNamespace } from "@edge/guest/durable";

export function fetch(request: Request): Response {
  const name = request.searchParams.get("name");
  const stub = DurableObjectNamespace.open("COUNTERS").getByName(name == null ? "default" : name);
  const res = stub.fetch("http://object" + request.path, request.method);
  return Response.bytes(res.body!, res.status, res.headers);
}
`;

describe('Durable Object classes written as AssemblyScript components', () => {
  let t: TestHost;
  const dirs: string[] = [];
  const logs: string[] = [];
  let off = (): void => {};

  async function asDir(prefix: string, files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return dir;
  }

  beforeAll(async () => {
    t = await startTestHost();
    off = t.host.logs.subscribeAll((e) => logs.push(e.message));
    const cls = await t.admin('POST', '/v1/workers', await collectUpload(await asDir('edge-do-class-', { 'index.ts': CLASS, 'wrangler.toml': CLASS_TOML })));
    expect(cls.status, JSON.stringify(cls.body)).toBe(201);
    const js = await t.deploy('do-front', { toml: manifestFor('do-front', 'index.js', '[[durable_objects.bindings]]\nname = "COUNTERS"\nclass_name = "Counter"\nscript_name = "do-class"\n[limits]\ncpu_ms = 500'), modules: { 'index.js': JS_FRONT } });
    expect(js.status, JSON.stringify(js.body)).toBe(201);
    const asToml = 'name = "do-as-front"\nmain = "index.ts"\ncompatibility_date = "2026-11-01"\n[[durable_objects.bindings]]\nname = "COUNTERS"\nclass_name = "Counter"\nscript_name = "do-class"\n[build]\nlanguage = "assemblyscript"\n';
    const as = await t.admin('POST', '/v1/workers', await collectUpload(await asDir('edge-do-as-front-', { 'index.ts': AS_FRONT, 'wrangler.toml': asToml })));
    expect(as.status, JSON.stringify(as.body)).toBe(201);
  }, 180_000);

  afterAll(async () => {
    off();
    await t?.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const front = (path: string, init: { method?: string; body?: string } = {}) => t.get('do-front', path, init);

  it('200 concurrent increments of one object end at exactly 200', async () => {
    const answers = await Promise.all(Array.from({ length: 200 }, () => front('/inc?name=hot')));
    expect(answers.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.text}`).slice(0, 3)).toEqual([]);
    // Each increment saw the ones before it: the answers are 1..200, each once.
    expect(answers.map((r) => Number(r.text)).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect((await front('/get?name=hot')).text).toBe('200');
    // Other objects are other counters.
    expect((await front('/get?name=cold')).text).toBe('0');
  }, 60_000);

  it('a JS worker and a component reach the same objects, with the ids JS makes', async () => {
    expect((await t.get('do-as-front', '/inc?name=shared')).text).toBe('1');
    expect((await front('/inc?name=shared')).text).toBe('2');
    expect((await t.get('do-as-front', '/get?name=shared')).text).toBe('2');
    const both = await Promise.all([...Array.from({ length: 20 }, () => t.get('do-as-front', '/inc?name=shared')), ...Array.from({ length: 20 }, () => front('/inc?name=shared'))]);
    expect(both.every((r) => r.status === 200)).toBe(true);
    expect((await front('/get?name=shared')).text).toBe('42');
    // The id the object gets is the one the JS namespace makes for the name.
    expect((await front('/id?name=shared')).text).toBe((await t.get('do-as-front', '/id?name=shared')).text);
    expect((await front('/id?name=shared')).text).toMatch(/^[0-9a-f]{64}$/);
    // Method, URL, headers and body cross whole, both ways.
    const r = await front('/echo?name=shared', { method: 'POST', body: 'hello' });
    expect(r.status).toBe(201);
    expect(r.headers['x-method']).toBe('POST');
    expect(r.text).toBe(`hello http://do-front.localhost:${t.port}/echo?name=shared`);
  }, 60_000);

  it('keeps its storage across eviction and a host restart', async () => {
    for (let i = 0; i < 3; i++) await front('/inc?name=durable');
    await front('/put?name=durable&key=note&value=kept');
    expect(t.host.runtime.evict('do-class')).toBe(true);
    expect((await front('/get?name=durable')).text).toBe('3');
    await t.restart();
    off = t.host.logs.subscribeAll((e) => logs.push(e.message));
    expect((await front('/get?name=durable')).text).toBe('3');
    expect((await front('/read?name=durable&key=note')).text).toBe('kept');
    expect((await front('/inc?name=durable')).text).toBe('4');
  }, 60_000);

  it('lists in key order within prefix, start, end, limit and reverse', async () => {
    await front('/put?name=list&key=b,a,c,d,x1,x2,x10&value=v');
    const list = async (q: string) => (await front(`/list?name=list${q}`)).text.split(',').map((e) => e.split('=')[0]).join(',');
    expect(await list('')).toBe('a,b,c,d,x1,x10,x2');
    expect(await list('&prefix=x')).toBe('x1,x10,x2');
    expect(await list('&start=b&end=d')).toBe('b,c');
    expect(await list('&limit=2')).toBe('a,b');
    expect(await list('&reverse=1&limit=3')).toBe('x2,x10,x1');
    expect(await list('&prefix=x&reverse=1')).toBe('x2,x10,x1');
    expect((await front('/list?name=list&prefix=a')).text).toBe('a=v');
    // The request's own writes, before they are committed.
    expect((await front('/own-writes?name=list')).text).toBe('deleted a,b,c,d,own-a,x1,x10,x2');
    expect((await front('/read?name=list&key=own-b')).text).toBe('(none)');
    expect((await front('/read?name=list&key=own-a')).text).toBe('1');
  });

  it('deletes one key (saying whether it existed) and every key', async () => {
    await front('/put?name=del&key=a,b,c&value=1');
    expect((await front('/delete?name=del&key=b')).text).toBe('true');
    expect((await front('/delete?name=del&key=b')).text).toBe('false');
    expect((await front('/list?name=del')).text).toBe('a=1,c=1');
    expect((await front('/delete-all?name=del&then=z')).text).toBe('cleared');
    // deleteAll then a put in the same request: one batch, the put after it.
    expect((await front('/list?name=del')).text).toBe('z=after');
    expect((await front('/delete-all?name=del')).text).toBe('cleared');
    expect((await front('/list?name=del')).text).toBe('');
    expect(t.host.runtime.evict('do-class')).toBe(true);
    expect((await front('/list?name=del')).text).toBe('');
  });

  it('refuses values over 128 KiB as stored with value-too-large', async () => {
    expect((await front('/size?name=big&key=k&n=131065')).text).toBe('stored');
    expect((await front('/size?name=big&key=k2&n=131066')).text).toBe('value-too-large: 131066 bytes (values are at most 128 KiB as stored)');
    expect((await front('/size?name=big&key=k3&n=200000')).text).toContain('value-too-large: 200000 bytes');
    expect((await front('/read?name=big&key=k2')).text).toBe('(none)');
    // put() traps on it, after logging why; nothing of that request is committed.
    const r = await front('/put-big?name=big&key=k4&n=140000');
    expect(r.status).toBe(500);
    expect(logs.join('\n')).toContain('Durable Object storage put("k4") failed: value-too-large: 140000 bytes');
    expect((await front('/read?name=big&key=before-big')).text).toBe('(none)');
  });

  it('a trap in the handler commits none of its writes, and the object goes on', async () => {
    expect((await front('/inc?name=trap')).text).toBe('1');
    const r = await front('/write-then-trap?name=trap&key=ghost');
    expect(r.status).toBe(500);
    expect((await front('/read?name=trap&key=ghost')).text).toBe('(none)');
    expect((await front('/get?name=trap')).text).toBe('1');
    // Traps among concurrent increments lose only their own writes.
    const mixed = await Promise.all(Array.from({ length: 30 }, (_, i) => front(i % 3 === 0 ? '/write-then-trap?name=trap&key=ghost' : '/inc?name=trap')));
    expect(mixed.filter((m) => m.status === 500)).toHaveLength(10);
    expect((await front('/get?name=trap')).text).toBe('21');
    expect((await front('/read?name=trap&key=ghost')).text).toBe('(none)');
  }, 60_000);

  it('has no storage outside an object, cannot stub its own class, and cannot stream an object response', async () => {
    const own = await t.get('do-class', '/storage');
    expect(own.status).toBe(500);
    const self = await t.get('do-class', '/self');
    expect(self.status).toBe(500);
    expect(logs.join('\n')).toContain('a component cannot reach objects of a class it exports itself (Counter)');
    expect((await front('/stream?name=s')).status).toBe(500);
    expect((await t.get('do-class', '/')).text).toBe('the class worker ');
  });

  it('shares its objects\' storage with a JS class of the same name and worker (values as bytes)', async () => {
    const jsClass = `
export class Counter {
  constructor(ctx) { this.storage = ctx.storage; }
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/seed') {
      await this.storage.put({ bytes: new Uint8Array([104, 105]), text: 'héllo', count: '7', num: 42, list: [1, 'a'], map: new Map([[1, 2]]) });
      return new Response('seeded');
    }
    const v = await this.storage.get(url.searchParams.get('key'));
    return Response.json({ type: Object.prototype.toString.call(v), text: v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v) });
  }
}
export default { fetch() { return new Response('js'); } };
`;
    const toml = (extra: string) => `name = "do-swap"\nmain = "${extra === '' ? 'index.js' : 'index.ts'}"\ncompatibility_date = "2026-11-01"\n[[durable_objects.bindings]]\nname = "COUNTERS"\nclass_name = "Counter"\n[[migrations]]\ntag = "v1"\nnew_classes = ["Counter"]\n${extra}`;
    expect((await t.deploy('do-swap', { toml: toml(''), modules: { 'index.js': jsClass } })).status).toBe(201);
    const via = (path: string) => t.get('do-swap-front', path);
    expect((await t.deploy('do-swap-front', { toml: manifestFor('do-swap-front', 'index.js', '[[durable_objects.bindings]]\nname = "COUNTERS"\nclass_name = "Counter"\nscript_name = "do-swap"'), modules: { 'index.js': JS_FRONT } })).status).toBe(201);
    expect((await via('/seed?name=s')).text).toBe('seeded');
    // The same worker, now the AssemblyScript class: what JS stored reads as bytes.
    const swapped = await t.admin('POST', '/v1/workers', await collectUpload(await asDir('edge-do-swap-', { 'index.ts': CLASS, 'wrangler.toml': toml('[build]\nlanguage = "assemblyscript"\n') })));
    expect(swapped.status, JSON.stringify(swapped.body)).toBe(201);
    expect((await via('/read?name=s&key=bytes')).text).toBe('hi');
    expect((await via('/read?name=s&key=text')).text).toBe('héllo');
    expect((await via('/read?name=s&key=num')).text).toBe('42');
    expect((await via('/read?name=s&key=list')).text).toBe('[1,"a"]');
    expect((await via('/read?name=s&key=map')).status).toBe(500);
    expect(logs.join('\n')).toContain('the value of "map" was stored by a JS class as [object Map], which has no byte form');
    expect((await via('/inc?name=s')).text).toBe('8');
    // And back: what the component stored reads as a Uint8Array in JS.
    expect((await t.deploy('do-swap', { toml: toml(''), modules: { 'index.js': jsClass } })).status).toBe(201);
    expect(JSON.parse((await via('/read?name=s&key=count')).text)).toEqual({ type: '[object Uint8Array]', text: '8' });
  }, 120_000);

  it('is refused at deploy when its exports and its manifest disagree', async () => {
    const dir = await asDir('edge-do-mismatch-', { 'index.ts': CLASS });
    // Built as a class, deployed with a manifest that declares none.
    const asClass = await buildWorker({ dir, main: 'index.ts', world: 'durable-object' });
    const noClass = await t.admin('POST', '/v1/workers', {
      manifest: { fileName: 'wrangler.toml', content: manifestFor('do-no-class', 'index.wasm') },
      modules: [{ path: 'index.wasm', content: Buffer.from(asClass.component).toString('base64'), encoding: 'base64' }],
    });
    expect(noClass.status).toBe(400);
    expect(noClass.body.error.code).toBe('E_COMPONENT_INVALID');
    expect(noClass.body.error.message).toContain("exports edge:platform/durable-handler@0.1.0 (it is a Durable Object class), but do-no-class's manifest declares no class");
    // A plain worker component whose manifest declares a class.
    const plainDir = await asDir('edge-do-plain-', { 'index.ts': 'import { Request, Response } from "@edge/guest";\nexport function fetch(request: Request): Response { return Response.text("hi"); }\n' });
    const plain = await buildWorker({ dir: plainDir, main: 'index.ts' });
    const declared = await t.admin('POST', '/v1/workers', {
      manifest: { fileName: 'wrangler.toml', content: manifestFor('do-plain', 'index.wasm', '[[migrations]]\ntag = "v1"\nnew_classes = ["Room"]') },
      modules: [{ path: 'index.wasm', content: Buffer.from(plain.component).toString('base64'), encoding: 'base64' }],
    });
    expect(declared.status).toBe(400);
    expect(declared.body.error.code).toBe('E_COMPONENT_INVALID');
    expect(declared.body.error.message).toContain('declares the Durable Object class Room ([[migrations]]), but index.wasm does not export edge:platform/durable-handler@0.1.0');
    // Built as a class without objectFetch: the build says what to export.
    await expect(buildWorker({ dir: plainDir, main: 'index.ts', world: 'durable-object' })).rejects.toThrow(
      'index.ts must `export function fetch(request: Request): Response`, and as a Durable Object class (its manifest declares one in [[migrations]]) `export function objectFetch(id: string, request: Request): Response`',
    );
  }, 120_000);
});
