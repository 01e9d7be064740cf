// Limits against a real host: each offender is stopped with its stable code while another worker keeps
// answering; exceptions give a 500 without host internals, and their stack goes to tail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';
import type { TailEvent } from '../host/runtime/worker-types.ts';

/** A tiny wasm module: (memory (export "mem") 1) and (func (export "grow") (param i32) (result i32) memory.grow). */
const GROW_WASM = [
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, // type: (i32) -> i32
  0x03, 0x02, 0x01, 0x00, // func 0 has type 0
  0x05, 0x03, 0x01, 0x00, 0x01, // memory: min 1, no max
  0x07, 0x0e, 0x02, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00, 0x04, 0x67, 0x72, 0x6f, 0x77, 0x00, 0x00, // exports mem, grow
  0x0a, 0x08, 0x01, 0x06, 0x00, 0x20, 0x00, 0x40, 0x00, 0x0b, // code: local.get 0; memory.grow 0; end
];

describe('limits', () => {
  let t: TestHost;
  const events: TailEvent[] = [];
  beforeAll(async () => {
    t = await startTestHost();
    t.host.logs.subscribeAll((e) => events.push(e));
    await t.deploy('steady', { modules: { 'index.js': 'export default { fetch() { return new Response("steady"); } };' } });
  });
  afterAll(async () => {
    await t.close();
  });

  async function timeSteady(): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const r = await t.get('steady');
      expect(r.text).toBe('steady');
      times.push(performance.now() - t0);
    }
    return times;
  }

  it('stops a CPU spinner with E_CPU_LIMIT and keeps other workers answering', async () => {
    await t.deploy('spin', {
      toml: manifestFor('spin', 'index.js', '[limits]\ncpu_ms = 50'),
      modules: { 'index.js': 'export default { fetch(req) { if (new URL(req.url).pathname === "/ok") return new Response("ok"); while (true) {} } };' },
    });
    const spinning = Promise.all([1, 2, 3].map(() => t.get('spin', '/spin')));
    const times = await timeSteady();
    const results = await spinning;
    for (const r of results) {
      expect(r.status).toBe(503);
      expect(r.headers['x-edge-error']).toMatch(/E_CPU_LIMIT|E_ISOLATE_RESET/);
    }
    expect(results.some((r) => r.headers['x-edge-error'] === 'E_CPU_LIMIT')).toBe(true);
    expect(results.find((r) => r.headers['x-edge-error'] === 'E_CPU_LIMIT')!.text).toMatch(/^E_CPU_LIMIT: .*CPU time limit of 50 ms/);
    // The other worker never waited for the spinner (its isolate runs on its own thread).
    expect(Math.max(...times)).toBeLessThan(500);
    // The spinner's isolate was replaced: it still serves well-behaved requests.
    expect((await t.get('spin', '/ok')).text).toBe('ok');
    expect(events.some((e) => e.worker === 'spin' && e.kind === 'limit' && e.code === 'E_CPU_LIMIT')).toBe(true);
  });

  it('gives requests caught in a discarded isolate E_ISOLATE_RESET, and the offender its own code', async () => {
    await t.deploy('shared', {
      modules: {
        'index.js': `export default { async fetch(req) {
          if (new URL(req.url).pathname === '/spin') { while (true) {} }
          await new Promise((r) => setTimeout(r, 400));
          return new Response('slow');
        } };`,
      },
    });
    const slow = t.get('shared', '/slow');
    await new Promise((r) => setTimeout(r, 50));
    const spin = await t.get('shared', '/spin');
    expect(spin.headers['x-edge-error']).toBe('E_CPU_LIMIT');
    const innocent = await slow;
    expect(innocent.status).toBe(503);
    expect(innocent.headers['x-edge-error']).toBe('E_ISOLATE_RESET');
    expect(innocent.text).toMatch(/retry/);
    expect((await t.get('shared', '/slow')).text).toBe('slow');
  });

  it('stops async work that accumulates CPU across entries', async () => {
    await t.deploy('slowburn', {
      toml: manifestFor('slowburn', 'index.js', '[limits]\ncpu_ms = 30'),
      modules: {
        'index.js': `export default { async fetch() {
          for (let i = 0; i < 100; i++) { const end = Date.now() + 5; while (Date.now() < end) {} await new Promise((r) => setTimeout(r, 1)); }
          return new Response("finished");
        } };`,
      },
    });
    const r = await t.get('slowburn');
    expect(r.status).toBe(503);
    expect(r.headers['x-edge-error']).toBe('E_CPU_LIMIT');
  });

  it('ends a request that outlives its wall-clock limit with E_WALL_LIMIT', async () => {
    await t.deploy('sleepy', {
      toml: manifestFor('sleepy', 'index.js', '[limits]\nwall_ms = 300'),
      modules: { 'index.js': 'export default { async fetch(req) { if (new URL(req.url).pathname === "/ok") return new Response("awake"); await new Promise((r) => setTimeout(r, 5000)); return new Response("late"); } };' },
    });
    const t0 = performance.now();
    const r = await t.get('sleepy');
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(r.status).toBe(504);
    expect(r.headers['x-edge-error']).toBe('E_WALL_LIMIT');
    expect((await t.get('steady')).text).toBe('steady');
    expect((await t.get('sleepy', '/ok')).text).toBe('awake');
  });

  it('enforces the wall-clock limit on a request that computes past it within its CPU limit', async () => {
    await t.deploy('longcompute', {
      toml: manifestFor('longcompute', 'index.js', '[limits]\ncpu_ms = 10000\nwall_ms = 200'),
      modules: { 'index.js': 'export default { fetch() { const end = Date.now() + 3000; while (Date.now() < end) {} return new Response("done"); } };' },
    });
    const t0 = performance.now();
    const r = await t.get('longcompute');
    expect(r.status).toBe(504);
    expect(r.headers['x-edge-error']).toBe('E_WALL_LIMIT');
    expect(performance.now() - t0).toBeLessThan(1500);
  });

  it('stops a JS heap bomb with E_MEMORY_LIMIT', async () => {
    await t.deploy('heapbomb', {
      toml: manifestFor('heapbomb', 'index.js', '[limits]\nmemory_mb = 32\ncpu_ms = 10000'),
      modules: { 'index.js': 'export default { fetch(req) { if (new URL(req.url).pathname === "/ok") return new Response("fine"); const a = []; for (;;) a.push({ i: a.length, s: "x" + a.length }); } };' },
    });
    const bombing = t.get('heapbomb');
    const times = await timeSteady();
    const r = await bombing;
    expect(r.status).toBe(503);
    expect(r.headers['x-edge-error']).toMatch(/E_MEMORY_LIMIT/);
    expect(Math.max(...times)).toBeLessThan(1000);
    expect((await t.get('heapbomb', '/ok')).text).toBe('fine');
  });

  it('stops WebAssembly memory growth past the limit with E_MEMORY_LIMIT', async () => {
    await t.deploy('wasmbomb', {
      toml: manifestFor('wasmbomb', 'index.js', '[limits]\nmemory_mb = 32\ncpu_ms = 10000'),
      modules: {
        'index.js': `const bytes = new Uint8Array(${JSON.stringify(GROW_WASM)});
          export default { fetch(req) {
            const path = new URL(req.url).pathname;
            if (path === "/js") { const m = new WebAssembly.Memory({ initial: 1, maximum: 65536 }); m.grow(16000); return new Response(String(m.buffer.byteLength)); }
            const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes));
            let pages = 1;
            for (let i = 0; i < 16000; i++) { if (inst.exports.grow(1) === -1) break; pages++; }
            return new Response(String(pages));
          } };`,
      },
    });
    const rssBefore = process.memoryUsage().rss;
    const viaJs = await t.get('wasmbomb', '/js');
    expect(viaJs.status).toBeGreaterThanOrEqual(500);
    expect(viaJs.headers['x-edge-error']).toBe('E_MEMORY_LIMIT');
    const viaWasm = await t.get('wasmbomb', '/wasm');
    // The module's memory is capped at the 32 MB budget (512 pages): growth stops there.
    if (viaWasm.status === 200) expect(Number(viaWasm.text)).toBeLessThanOrEqual(512);
    else expect(viaWasm.headers['x-edge-error']).toBe('E_MEMORY_LIMIT');
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
    expect((await t.get('steady')).text).toBe('steady');
  });

  it('stops a worker whose several WebAssembly memories together pass the limit', async () => {
    await t.deploy('wasmmany', {
      toml: manifestFor('wasmmany', 'index.js', '[limits]\nmemory_mb = 32\ncpu_ms = 10000'),
      modules: {
        'index.js': `const bytes = new Uint8Array(${JSON.stringify(GROW_WASM)});
          const keep = [];
          export default { fetch() {
            for (let n = 0; n < 8; n++) { const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes)); keep.push(inst); for (let i = 0; i < 600; i++) if (inst.exports.grow(1) === -1) break; }
            return new Response("survived");
          } };`,
      },
    });
    const r = await t.get('wasmmany');
    expect(r.status).toBe(503);
    expect(r.headers['x-edge-error']).toBe('E_MEMORY_LIMIT');
    expect(events.some((e) => e.worker === 'wasmmany' && e.code === 'E_MEMORY_LIMIT' && /WebAssembly/.test(e.message))).toBe(true);
  });

  it('answers an uncaught exception with a 500 and sends the stack to tail only', async () => {
    await t.deploy('thrower', {
      modules: { 'index.js': 'function deep() { throw new TypeError("kaboom in guest"); }\nexport default { fetch() { deep(); } };' },
    });
    const r = await t.get('thrower');
    expect(r.status).toBe(500);
    expect(r.headers['x-edge-error']).toBe('E_WORKER_EXCEPTION');
    expect(r.text).not.toMatch(/kaboom|at deep|node:|host\//);
    const ev = events.find((e) => e.worker === 'thrower' && e.kind === 'exception');
    expect(ev?.message).toMatch(/TypeError: kaboom in guest/);
    expect(ev?.stack).toMatch(/deep/);
    expect(ev?.stack).toMatch(/worker:\/\/thrower\/index\.js:1/);

    await t.deploy('rejecter', { modules: { 'index.js': 'export default { async fetch() { await null; throw "a string"; } };' } });
    const r2 = await t.get('rejecter');
    expect(r2.status).toBe(500);
    await t.deploy('wrongtype', { modules: { 'index.js': 'export default { fetch() { return "not a response"; } };' } });
    const r3 = await t.get('wrongtype');
    expect(r3.status).toBe(500);
    expect(events.some((e) => e.worker === 'wrongtype' && /must return a Response/.test(e.message))).toBe(true);
  });
});
