// WebAssembly component workers on a real host: AssemblyScript examples built with buildWorker, deployed through
// the admin API, called over HTTP; fuel and memory limits; what a deploy refuses.
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWorker } from '../host/build/worker-build.ts';
import { compileAssemblyScript } from '../host/build/assemblyscript.ts';
import { worldCoreImports } from '../host/build/component-tools.ts';
import { generateExportGlue } from '../guest-sdk/bindgen/assemblyscript/generate.ts';
import { loadWitDir } from '../guest-sdk/bindgen/wit/index.ts';
import { arrayBufferPeak, fetchElsewhere } from './helpers/bytes.ts';
import { startTestHost, type TestHost } from './helpers/test-host.ts';

const EXAMPLES = resolve(import.meta.dirname, '../examples');
const WIT_DIR = resolve(import.meta.dirname, '../wit');

let t: TestHost;
let scratch: string;
const built = new Map<string, Uint8Array>();

async function buildExample(name: string): Promise<Uint8Array> {
  const out = await buildWorker({ dir: join(EXAMPLES, name), main: 'assembly/index.ts' });
  return out.component;
}

/** A throw-away AssemblyScript worker using @edge/guest, built into a component. */
async function buildSource(name: string, source: string): Promise<Uint8Array> {
  const dir = join(scratch, name);
  await mkdir(join(dir, 'assembly'), { recursive: true });
  await writeFile(join(dir, 'assembly/index.ts'), source);
  return (await buildWorker({ dir, main: 'assembly/index.ts' })).component;
}

/** A component built straight from generated glue (for worlds and imports @edge/guest does not use). */
async function buildGlueGuest(name: string, witDir: string, world: string, handler: string): Promise<Uint8Array> {
  const dir = join(scratch, name);
  await mkdir(dir, { recursive: true });
  const { files } = generateExportGlue(await loadWitDir(witDir), world, { coreImports: await worldCoreImports(witDir, world) });
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
  await writeFile(join(dir, 'handler.ts'), handler);
  return (await compileAssemblyScript({ entry: join(dir, 'glue.ts'), witDir, world })).component;
}

function toml(name: string, extra = ''): string {
  return `name = "${name}"\nmain = "assembly/index.ts"\n[build]\nlanguage = "assemblyscript"\n${extra}\n`;
}

async function deployComponent(name: string, component: Uint8Array, manifest = toml(name)) {
  return t.admin('POST', '/v1/workers', {
    manifest: { fileName: 'wrangler.toml', content: manifest },
    modules: [{ path: 'assembly/index.wasm', content: Buffer.from(component).toString('base64'), encoding: 'base64' }],
  });
}

async function deployOk(name: string, component: Uint8Array, manifest = toml(name)): Promise<void> {
  const d = await deployComponent(name, component, manifest);
  expect(d.status, JSON.stringify(d.body)).toBe(201);
}

async function fuelCounter(worker: string): Promise<number> {
  const res = await t.admin('GET', '/metrics');
  const line = String(res.body).split('\n').find((l) => l.startsWith(`edge_fuel_consumed_total{worker="${worker}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'edge-component-test-'));
  for (const name of ['hello-as', 'echo-as', 'fib-as']) built.set(name, await buildExample(name));
  built.set(
    'spin',
    await buildSource('spin', `import { Request, Response } from "@edge/guest";
export function fetch(request: Request): Response {
  let i: i32 = 0;
  while (request.url.length > 0) { i++; }
  return Response.text(i.toString());
}
`),
  );
  built.set(
    'grow',
    await buildSource('grow', `import { Request, Response } from "@edge/guest";
export function fetch(request: Request): Response {
  if (request.path == "/grow") {
    let pages: i32 = 0;
    while (memory.grow(16) >= 0) { pages += 16; }
    return Response.text("grew " + pages.toString() + " pages, then memory.grow failed\\n");
  }
  return Response.text("small\\n");
}
`),
  );
  t = await startTestHost();
  if (process.env.EDGE_TEST_TAIL) t.host.logs.subscribeAll((e) => console.log('[tail]', e.worker, e.kind, e.message, e.stack ?? ''));
}, 240_000);

afterAll(async () => {
  await t?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('component workers', () => {
  it('deploys an AssemblyScript component and serves it, logs included', async () => {
    const events: string[] = [];
    const off = t.host.logs.subscribe?.('hello-as', (e: { message: string }) => events.push(e.message));
    await deployOk('hello-as', built.get('hello-as')!);
    const res = await t.get('hello-as', '/some/path?x=1');
    expect(res.status).toBe(200);
    expect(res.text).toBe(`hello from http://hello-as.localhost:${t.port}/some/path?x=1\n`);
    if (typeof off === 'function') {
      expect(events).toContain('GET /some/path');
      off();
    }
  });

  it('round-trips method, query, repeated headers and a non-ASCII body through echo-as', async () => {
    await deployOk('echo-as', built.get('echo-as')!);
    const body = 'héllo wörld ✓ 日本語 🎉';
    const res = await t.get('echo-as', '/p/q?a=1&b=x%20y&a=%C3%A9', { method: 'POST', headers: { 'x-one': 'first', 'content-type': 'text/plain; charset=utf-8' }, body });
    expect(res.status).toBe(200);
    const json = JSON.parse(res.text);
    expect(json.method).toBe('POST');
    expect(json.path).toBe('/p/q');
    expect(json.query).toEqual([['a', '1'], ['b', 'x y'], ['a', 'é']]);
    expect(json.headers).toContainEqual(['x-one', 'first']);
    expect(json.body).toBe(body);
  });

  it('reads an empty body and a large body in chunks', async () => {
    const empty = await t.get('echo-as', '/', { method: 'POST', body: '' });
    expect(JSON.parse(empty.text).body).toBe('');
    // 1 MB through an unoptimized (-O0) guest that decodes, JSON-escapes and re-encodes it: more than the default 50 ms of CPU.
    await deployOk('echo-big', built.get('echo-as')!, toml('echo-big', '[limits]\ncpu_ms = 2000\n'));
    const big = 'abcdefghij'.repeat(100_000);
    const res = await t.get('echo-big', '/', { method: 'PUT', body: big });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text).body.length).toBe(big.length);
  });

  it('streams a response body written through begin-response while reading the request', async () => {
    const payload = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    const res = await t.get('echo-as', '/stream', { method: 'POST', headers: { 'content-type': 'application/x-test' }, body: payload });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-test');
    expect(Buffer.compare(res.body, payload)).toBe(0);
  });

  it('streams 48 MB through begin-response, each chunk freed once the client has it', async () => {
    // The bytes cross as ArrayBuffers (one copy each way, no structured clone of a reply or call object): a piece of
    // the request body is freed once copied into the isolate, a write's copy once the socket took it. The host's live
    // ArrayBuffer memory stays near what is in flight (4.7 MB here; 24-36 MB with the pieces, split or not, left to
    // the garbage collector). Its own limits: 48 MB through the guest is more than the default cpu_ms.
    await deployOk('echo-stream', built.get('echo-as')!, toml('echo-stream', '[limits]\ncpu_ms = 5000\n'));
    expect(await fetchElsewhere(t, 'echo-stream', '/stream', 1 << 20)).toBe(1 << 20);
    const peak = await arrayBufferPeak(async () => {
      expect(await fetchElsewhere(t, 'echo-stream', '/stream', 48 << 20)).toBe(48 << 20);
    });
    expect(peak).toBeLessThan(12 << 20);
  }, 60_000);

  it('meters fuel deterministically and stops a request that runs out, then serves the next one', async () => {
    /** Fuel of each request of a sequence, on a freshly deployed copy of fib-as. */
    const run = async (name: string): Promise<number[]> => {
      await deployOk(name, built.get('fib-as')!, toml(name, '[limits]\nfuel = 5000000\n'));
      const used: number[] = [];
      for (const n of [20, 20, 15, 20]) {
        const before = await fuelCounter(name);
        const ok = await t.get(name, `/?n=${n}`);
        expect(ok.status).toBe(200);
        used.push((await fuelCounter(name)) - before);
      }
      return used;
    };
    const a = await run('fib-as');
    const b = await run('fib-at'); // a name of the same length: the URL is part of the input
    expect(a[0]).toBeGreaterThan(10_000);
    expect(a[2]).toBeLessThan(a[1]!);
    // Same guest, same requests in the same order: the same fuel, request by request.
    expect(b).toEqual(a);
    const out = await t.get('fib-as', '/?n=40');
    expect(out.status).toBe(503);
    expect(out.headers['x-edge-error']).toBe('E_FUEL_LIMIT');
    expect(out.text).toContain('fuel');
    // The trapped instance was replaced: the same worker answers again.
    const again = await t.get('fib-as', '/?n=20');
    expect(again.text).toBe('fib(20) = 6765\n');
  });

  it('stops an endless loop with fuel, and with the CPU limit when fuel is not metered', async () => {
    await deployOk('spin-fuel', built.get('spin')!, toml('spin-fuel', '[limits]\nfuel = 1000000\ncpu_ms = 5000\n'));
    const res = await t.get('spin-fuel', '/');
    expect(res.status).toBe(503);
    expect(res.headers['x-edge-error']).toBe('E_FUEL_LIMIT');
    await deployOk('spin-cpu', built.get('spin')!, toml('spin-cpu', '[limits]\ncpu_ms = 20\n'));
    const cpu = await t.get('spin-cpu', '/');
    expect(cpu.status).toBe(503);
    expect(cpu.headers['x-edge-error']).toBe('E_CPU_LIMIT');
    expect((await t.get('hello-as', '/')).status).toBe(200);
  });

  it('caps linear memory at memory_mb: growing stops there, and other workers keep answering', async () => {
    await deployOk('grow', built.get('grow')!, toml('grow', '[limits]\nmemory_mb = 16\n'));
    const [grown, other] = await Promise.all([t.get('grow', '/grow'), t.get('hello-as', '/')]);
    expect(other.status).toBe(200);
    if (grown.status === 200) {
      const pages = Number(/grew (\d+) pages/.exec(grown.text)?.[1]);
      expect(pages).toBeLessThanOrEqual(16 * 16);
      expect(pages).toBeGreaterThan(0);
    } else {
      expect(grown.headers['x-edge-error']).toBe('E_MEMORY_LIMIT');
    }
    expect((await t.get('hello-as', '/')).status).toBe(200);
    expect((await t.get('grow', '/')).status).toBe(200);
  });
});

describe('component deploys that are refused', () => {
  it('refuses a component importing a capability its manifest does not grant, naming the import, and keeps the old version', async () => {
    const kv = await buildGlueGuest(
      'uses-kv',
      WIT_DIR,
      'worker',
      `import { Request, Response, ResponseBody, TupleStringString } from "./glue-types";
import { KvNamespace } from "./glue-imports";
export function handle(request: Request): Response {
  const ns = KvNamespace.open("MY_KV");
  return new Response(200, new Array<TupleStringString>(), ResponseBody.empty());
}
`,
    );
    const d = await deployComponent('hello-as', kv);
    expect(d.status).toBe(400);
    expect(d.body.error.code).toBe('E_IMPORT_NOT_GRANTED');
    expect(d.body.error.message).toContain('edge:platform/kv');
    expect((await t.get('hello-as', '/')).text).toContain('hello from');
  }, 60_000);

  it('refuses a component that targets another world', async () => {
    const witDir = join(scratch, 'other-wit');
    await mkdir(witDir, { recursive: true });
    await writeFile(join(witDir, 'other.wit'), 'package test:other@0.1.0;\ninterface api { run: func(n: u32) -> u32; }\nworld other { export api; }\n');
    const other = await buildGlueGuest('other-world', witDir, 'other', 'export function run(n: u32): u32 { return n + 1; }\n');
    const d = await deployComponent('other-world', other);
    expect(d.status).toBe(400);
    expect(d.body.error.code).toBe('E_COMPONENT_INVALID');
    expect(d.body.error.message).toContain('edge:platform/incoming-handler@0.1.0');
    expect(d.body.error.message).toContain('test:other/api');
  }, 60_000);

  it('refuses corrupted wasm, a core module, and bytes that are not WebAssembly', async () => {
    const good = built.get('hello-as')!;
    const corrupted = good.slice(0, Math.floor(good.byteLength * 0.6));
    const c = await deployComponent('broken', corrupted);
    expect(c.status).toBe(400);
    expect(c.body.error.code).toBe('E_COMPONENT_INVALID');
    const flipped = good.slice();
    for (let i = 40; i < flipped.byteLength; i += 97) flipped[i] = flipped[i]! ^ 0xff;
    const f = await deployComponent('broken', flipped);
    expect(f.status).toBe(400);
    expect(['E_COMPONENT_INVALID', 'E_WASM_INVALID']).toContain(f.body.error.code);
    const core = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    const k = await deployComponent('broken', core);
    expect(k.body.error.code).toBe('E_COMPONENT_INVALID');
    expect(k.body.error.message).toContain('core WebAssembly module, not a component');
    const text = await deployComponent('broken', new TextEncoder().encode('export default {}'));
    expect(text.body.error.code).toBe('E_WASM_INVALID');
    expect((await t.get('broken', '/')).status).toBe(404);
  });

  it('keeps serving a component across a host restart (stored with its core modules)', async () => {
    await t.restart();
    const res = await t.get('echo-as', '/r?k=v', { method: 'POST', body: 'after restart' });
    expect(JSON.parse(res.text).body).toBe('after restart');
  });
});
