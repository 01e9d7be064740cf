// Tests for the isolate's WebAssembly memory limits: the module-binary rewriter in Node, then the patched
// WebAssembly namespace inside real isolates (the full prelude, and wasm-memory.js bundled alone to reach
// wasmMemoryBytes()). Wasm binaries are assembled by hand below: there is no wat2wasm here.
import * as esbuild from 'esbuild';
import ivm from 'isolated-vm';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain JS module of the isolate prelude, without type declarations
import { rewriteWasmMemoryLimits as rewriteUntyped } from '../../host/runtime/js/prelude/wasm-memory.js';
import { createPreludeIsolate, type PreludeIsolate } from '../helpers/prelude-isolate.ts';

const rewriteWasmMemoryLimits = rewriteUntyped as (bytes: unknown, maxPages: number) => Uint8Array;

// The project's TS lib has no WebAssembly declarations (no DOM lib): the part of the JS API these tests use.
interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(delta: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: (new (bytes: Uint8Array) => object) & {
    exports(module: object): Array<{ name: string; kind: string }>;
    customSections(module: object, name: string): ArrayBuffer[];
  };
  Instance: new (module: object, imports?: object) => { readonly exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
  CompileError: new (message?: string) => Error;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

// ---------------------------------------------------------------------------------------------------------
// A tiny wasm assembler

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}
const str = (s: string): number[] => [...uleb(Buffer.byteLength(s)), ...Buffer.from(s)];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, payload: number[]): number[] => [id, ...uleb(payload.length), ...payload];
const wasm = (...sections: number[][]): Uint8Array => new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...sections.flat()]);

const I32 = 0x7f;
const funcType = (params: number[], results: number[]): number[] => [0x60, ...vec(params.map((p) => [p])), ...vec(results.map((r) => [r]))];
const limits = (min: number, max?: number): number[] => (max === undefined ? [0x00, ...uleb(min)] : [0x01, ...uleb(min), ...uleb(max)]);
const exportEntry = (name: string, kind: number, index: number): number[] => [...str(name), kind, ...uleb(index)];
const body = (locals: Array<[number, number]>, code: number[]): number[] => {
  const b = [...vec(locals.map(([n, t]) => [...uleb(n), t])), ...code, 0x0b];
  return [...uleb(b.length), ...b];
};
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (d: number) => [0x0c, d],
  brIf: (d: number) => [0x0d, d],
  get: (i: number) => [0x20, i],
  set: (i: number) => [0x21, i],
  tee: (i: number) => [0x22, i],
  const: (v: number) => [0x41, ...sleb(v)],
  grow: [0x40, 0x00],
  size: [0x3f, 0x00],
  eq: [0x46],
  ltU: [0x49],
  add: [0x6a],
  shl: [0x74],
  store8: [0x3a, 0x00, 0x00],
};

/** (func (result i32)) that grows memory 0 by 16 pages (1 MiB) until memory.grow fails, touching every 4 KiB
 *  page it gets, and returns memory.size in pages. Locals: 0 = old size, 1 = address, 2 = end. */
const growAllBody = body(
  [[3, I32]],
  [
    ...op.block,
    ...op.loop,
    ...op.const(16), ...op.grow, ...op.tee(0), ...op.const(-1), ...op.eq, ...op.brIf(1),
    ...op.get(0), ...op.const(16), ...op.shl, ...op.tee(1), ...op.const(1 << 20), ...op.add, ...op.set(2),
    ...op.loop,
    ...op.get(1), ...op.const(1), ...op.store8,
    ...op.get(1), ...op.const(4096), ...op.add, ...op.tee(1), ...op.get(2), ...op.ltU, ...op.brIf(0),
    ...op.end,
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...op.size,
  ],
);
/** (func (param i32) (result i32)): memory.grow by the argument. */
const growByBody = body([], [...op.get(0), ...op.grow]);
/** (func (param i32 i32) (result i32)): add. */
const addBody = body([], [...op.get(0), ...op.get(1), ...op.add]);

const TYPES = section(1, vec([funcType([], [I32]), funcType([I32], [I32]), funcType([I32, I32], [I32]), funcType([], [])]));
const CUSTOM = section(0, [...str('producers'), 1, 2, 3, 4]);

/** Defines memory (1 page, max 16384 = 1 GiB), no export section at all... */
const growNoExports = wasm(TYPES, section(3, vec([[0]])), section(5, vec([limits(1, 16384)])), section(10, vec([growAllBody])));
/** No export section, and a start function (func 1: growAll, drop): grows to the cap while instantiating, so
 *  the export section has to be inserted before the start section. */
const growAtStart = wasm(
  TYPES,
  section(3, vec([[0], [3]])),
  section(5, vec([limits(1, 16384)])),
  section(8, [1]),
  section(10, vec([growAllBody, body([], [0x10, 0, 0x1a])])),
);
/** ...with exports growAll and growBy but not the memory, and a custom section between sections and at the end. */
const growModule = wasm(
  CUSTOM,
  TYPES,
  section(3, vec([[0], [1]])),
  CUSTOM,
  section(5, vec([limits(1, 16384)])),
  section(7, vec([exportEntry('growAll', 0, 0), exportEntry('growBy', 0, 1)])),
  section(10, vec([growAllBody, growByBody])),
  section(0, [...str('name')]),
);
/** Memory without a maximum, exported as "memory". */
const exportedNoMax = wasm(TYPES, section(3, vec([[1]])), section(5, vec([limits(2)])), section(7, vec([exportEntry('memory', 2, 0), exportEntry('growBy', 0, 0)])), section(10, vec([growByBody])));
/** Imports env.mem (memory index 0), defines one more memory (index 1), exports growBy on memory 0. */
const importsMemory = wasm(
  TYPES,
  section(2, vec([[...str('env'), ...str('f'), 0x00, 0], [...str('env'), ...str('mem'), 0x02, ...limits(1)]])),
  section(3, vec([[1]])),
  section(5, vec([limits(1, 100)])),
  section(7, vec([exportEntry('growBy', 0, 1)])),
  section(10, vec([growByBody])),
);
/** No memory at all: add(a, b). */
const addModule = wasm(TYPES, section(3, vec([[2]])), section(7, vec([exportEntry('add', 0, 0)])), section(10, vec([addBody])));
/** Shared memory with a maximum above the cap. */
const sharedMemory = wasm(section(5, vec([[0x03, ...uleb(1), ...uleb(65536)]])));
/** Memory whose initial size is above the cap. */
const bigInitial = wasm(section(5, vec([limits(600, 1000)])));
/** A module that already has an export named like our hidden export. */
const nameClash = wasm(TYPES, section(3, vec([[0]])), section(5, vec([limits(1)])), section(7, vec([exportEntry('__edge_memory_0', 0, 0)])), section(10, vec([growAllBody])));

function exportsOf(bytes: Uint8Array): Array<{ name: string; kind: string }> {
  return WA.Module.exports(new WA.Module(bytes));
}

// ---------------------------------------------------------------------------------------------------------

describe('rewriteWasmMemoryLimits (in Node)', () => {
  it('hand-assembled test modules are valid to begin with', () => {
    for (const m of [growNoExports, growAtStart, growModule, exportedNoMax, importsMemory, addModule, sharedMemory, nameClash]) {
      expect(WA.validate(m)).toBe(true);
    }
  });

  it('caps a declared maximum and exports the memory when there is no export section', () => {
    const out = rewriteWasmMemoryLimits(growNoExports, 32);
    expect(WA.validate(out)).toBe(true);
    expect(exportsOf(out)).toEqual([{ name: '__edge_memory_0', kind: 'memory' }]);
    const inst = new WA.Instance(new WA.Module(out));
    const mem = inst.exports['__edge_memory_0'] as WasmMemory;
    expect(mem.buffer.byteLength).toBe(65536);
    expect(() => mem.grow(32)).toThrow(RangeError); // 1 + 32 > 32
    expect(mem.grow(31)).toBe(1);

    const started = rewriteWasmMemoryLimits(growAtStart, 40);
    expect(exportsOf(started)).toEqual([{ name: '__edge_memory_0', kind: 'memory' }]);
    const grown = new WA.Instance(new WA.Module(started)).exports['__edge_memory_0'] as WasmMemory;
    expect(grown.buffer.byteLength).toBe(33 * 65536); // the start function grew it: 1 + 2 x 16 <= 40
  });

  it('keeps custom sections and existing exports, and the wasm memory.grow stops at the cap', () => {
    const out = rewriteWasmMemoryLimits(growModule, 48);
    expect(WA.validate(out)).toBe(true);
    const mod = new WA.Module(out);
    expect(WA.Module.customSections(mod, 'producers')).toHaveLength(2);
    expect(WA.Module.customSections(mod, 'name')).toHaveLength(1);
    expect(WA.Module.exports(mod).map((e) => e.name)).toEqual(['growAll', 'growBy', '__edge_memory_0']);
    const inst = new WA.Instance(mod);
    const growAll = inst.exports['growAll'] as () => number;
    const growBy = inst.exports['growBy'] as (n: number) => number;
    expect(growAll()).toBe(33); // 1 + 2 x 16 pages; a third step of 16 would pass 48
    expect(growBy(15)).toBe(33);
    expect(growBy(1)).toBe(-1);
    expect((inst.exports['__edge_memory_0'] as WasmMemory).buffer.byteLength).toBe(48 * 65536);
  });

  it('adds a maximum to a memory without one and does not re-export an already exported memory', () => {
    const out = rewriteWasmMemoryLimits(exportedNoMax, 10);
    expect(exportsOf(out)).toEqual([
      { name: 'memory', kind: 'memory' },
      { name: 'growBy', kind: 'function' },
    ]);
    const inst = new WA.Instance(new WA.Module(out));
    const growBy = inst.exports['growBy'] as (n: number) => number;
    expect(growBy(8)).toBe(2);
    expect(growBy(1)).toBe(-1);
  });

  it('counts imported memories first in the memory index space', () => {
    const out = rewriteWasmMemoryLimits(importsMemory, 50);
    expect(exportsOf(out)).toEqual([
      { name: 'growBy', kind: 'function' },
      { name: '__edge_memory_1', kind: 'memory' },
    ]);
    const env = { f: () => 0, mem: new WA.Memory({ initial: 1 }) };
    const inst = new WA.Instance(new WA.Module(out), { env });
    const own = inst.exports['__edge_memory_1'] as WasmMemory;
    expect(own).not.toBe(env.mem);
    expect(() => own.grow(51)).toThrow(RangeError); // declared max 100, capped to 50
    expect(own.grow(49)).toBe(1);
  });

  it('leaves a module without memories unchanged', () => {
    const out = rewriteWasmMemoryLimits(addModule, 10);
    expect([...out]).toEqual([...addModule]);
    expect(out).not.toBe(addModule);
  });

  it('caps shared memories, accepts any ArrayBufferView and ArrayBuffer, and keeps a clashing name unique', () => {
    const padded = new Uint8Array(sharedMemory.length + 7);
    padded.set(sharedMemory, 3);
    const out = rewriteWasmMemoryLimits(new DataView(padded.buffer, 3, sharedMemory.length), 4);
    const mem = new WA.Instance(new WA.Module(out)).exports['__edge_memory_0'] as WasmMemory;
    expect(mem.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(() => mem.grow(4)).toThrow(RangeError);
    expect(mem.grow(3)).toBe(1);

    const clash = rewriteWasmMemoryLimits(nameClash.slice().buffer, 4);
    expect(exportsOf(clash).map((e) => e.name)).toEqual(['__edge_memory_0', '__edge_memory_0_']);
  });

  it('rewrites multi-byte LEBs and re-encodes section sizes', () => {
    // Padded LEBs everywhere: section size, memory count, min, max.
    const padded = wasm([0x05, 0x89, 0x80, 0x80, 0x00, 0x81, 0x80, 0x00, 0x01, 0x81, 0x80, 0x00, 0x90, 0x03]);
    expect(WA.validate(padded)).toBe(true); // 1 memory, min 1, max 400
    const out = rewriteWasmMemoryLimits(padded, 300);
    const mem = new WA.Instance(new WA.Module(out)).exports['__edge_memory_0'] as WasmMemory;
    expect(() => mem.grow(300)).toThrow(RangeError);
    expect(mem.grow(299)).toBe(1);
  });

  it('rejects what it cannot bound: initial above the cap, truncated sections, memory64 beyond the cap is capped', () => {
    expect(() => rewriteWasmMemoryLimits(bigInitial, 512)).toThrow(/memory limit exceeded.*600 pages/);
    expect(() => rewriteWasmMemoryLimits(wasm([0x05, 0x05, 0x01, 0x01, 0x01]), 512)).toThrow(WA.CompileError);
    expect(() => rewriteWasmMemoryLimits(wasm(section(5, vec([[0x08, 1, 1, 16]]))), 512)).toThrow(/unsupported memory flags/);
    expect(() => rewriteWasmMemoryLimits('not bytes', 512)).toThrow(TypeError);
    // memory64: flags 0x05 (i64, has max), min 1, max 2^17 pages (8 GiB; V8 accepts at most 16 GiB).
    const m64 = wasm(section(5, vec([[0x05, 0x01, ...uleb(2 ** 17)]])));
    expect(WA.validate(m64)).toBe(true);
    {
      const mem = new WA.Instance(new WA.Module(rewriteWasmMemoryLimits(m64, 8))).exports['__edge_memory_0'] as WasmMemory;
      const grow64 = mem.grow.bind(mem) as unknown as (d: bigint) => bigint; // memory64 takes BigInt deltas
      expect(() => grow64(8n)).toThrow(RangeError);
      expect(grow64(7n)).toBe(1n);
    }
  });

  it('passes a non-wasm header through for the engine to reject', () => {
    const junk = new Uint8Array([1, 2, 3]);
    expect([...rewriteWasmMemoryLimits(junk, 8)]).toEqual([1, 2, 3]);
  });
});

// ---------------------------------------------------------------------------------------------------------

/** Byte arrays as source text for the isolate. */
const src = (bytes: Uint8Array): string => `new Uint8Array([${bytes.join(',')}])`;
const MIB = 1024 * 1024;

describe('inside an isolate with the full prelude (32 MiB)', () => {
  let pi: PreludeIsolate;
  beforeAll(async () => {
    pi = await createPreludeIsolate({ memoryMb: 32 });
  });
  afterAll(() => pi?.dispose());

  it('caps new WebAssembly.Memory and its grow()', async () => {
    const r = await pi.run<string[]>(`
      const out = [];
      const m = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
      try { m.grow(1000); out.push('grew'); } catch (e) { out.push(e.constructor.name + ': ' + e.message); }
      try { new WebAssembly.Memory({ initial: 1000 }); out.push('created'); } catch (e) { out.push(e.constructor.name + ': ' + e.message); }
      out.push(String(m.grow(1)));
      const m64 = new WebAssembly.Memory({ initial: 1n, maximum: 100000n, address: 'i64' });
      try { m64.grow(5000n); out.push('grew'); } catch (e) { out.push(e.constructor.name); }
      out.push(String(m64.grow(1n)));
      return out;`);
    expect(r[0]).toMatch(/^RangeError: WebAssembly memory limit exceeded/);
    expect(r[1]).toMatch(/^RangeError: WebAssembly memory limit exceeded: new WebAssembly.Memory with 1000 initial pages/);
    expect(r.slice(2)).toEqual(['1', 'RangeError', '1']);
  });

  it('keeps constructor identity and instanceof, and no path back to the original constructors', async () => {
    const r = await pi.run<Record<string, unknown>>(`
      const m = new WebAssembly.Memory({ initial: 1 });
      const Viaproto = WebAssembly.Memory.prototype.constructor;
      const m2 = new Viaproto({ initial: 1, maximum: 65536 });
      let capped;
      try { m2.grow(1000); capped = false; } catch (e) { capped = e instanceof RangeError; }
      const mod = new WebAssembly.Module(${src(addModule)});
      const inst = new WebAssembly.Instance(mod);
      class Sub extends WebAssembly.Memory {}
      const sub = new Sub({ initial: 1, maximum: 100000 });
      let subCapped;
      try { sub.grow(5000); subCapped = false; } catch (e) { subCapped = e instanceof RangeError; }
      let requiresNew;
      try { WebAssembly.Memory({ initial: 1 }); requiresNew = true; } catch (e) { requiresNew = e instanceof TypeError; }
      return {
        memCtor: m.constructor === WebAssembly.Memory,
        memInstanceof: m instanceof WebAssembly.Memory,
        protoCtor: Viaproto === WebAssembly.Memory,
        capped,
        modCtor: mod.constructor === WebAssembly.Module && WebAssembly.Module.prototype.constructor === WebAssembly.Module,
        modInstanceof: mod instanceof WebAssembly.Module,
        instCtor: inst.constructor === WebAssembly.Instance,
        instInstanceof: inst instanceof WebAssembly.Instance,
        sub: sub instanceof Sub && sub instanceof WebAssembly.Memory,
        subCapped,
        requiresNew,
        streaming: typeof WebAssembly.compileStreaming + ',' + typeof WebAssembly.instantiateStreaming,
        names: [WebAssembly.Memory, WebAssembly.Module, WebAssembly.Instance, WebAssembly.compile, WebAssembly.instantiate]
          .map((f) => f.name + '/' + f.length).join(' '),
      };`);
    expect(r).toEqual({
      memCtor: true,
      memInstanceof: true,
      protoCtor: true,
      capped: true,
      modCtor: true,
      modInstanceof: true,
      instCtor: true,
      instInstanceof: true,
      sub: true,
      subCapped: true,
      requiresNew: true,
      streaming: 'undefined,undefined',
      names: 'Memory/1 Module/1 Instance/1 compile/1 instantiate/1',
    });
  });

  it('stops a module growing its own memory towards 1 GiB at the cap, and the process stays small', async () => {
    const rssBefore = process.memoryUsage().rss;
    const pages = await pi.run<number>(`
      const { instance } = await WebAssembly.instantiate(${src(growModule)});
      return instance.exports.growAll();`);
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    expect(pages).toBeLessThanOrEqual(512);
    expect(pages).toBeGreaterThan(400);
    expect(rssGrowth).toBeLessThan(256 * MIB);
  });

  it('hides the added memory exports and keeps normal modules working', async () => {
    const r = await pi.run<Record<string, unknown>>(`
      const mod = await WebAssembly.compile(${src(growModule)});
      const inst = await WebAssembly.instantiate(mod);
      const e1 = inst.exports, e2 = inst.exports;
      const add = (await WebAssembly.instantiate(${src(addModule)})).instance.exports.add;
      const other = new WebAssembly.Instance(new WebAssembly.Module(${src(exportedNoMax)}));
      return {
        keys: Object.keys(e1),
        moduleExports: WebAssembly.Module.exports(mod).map((e) => e.name),
        same: e1 === e2 && e1.growBy === e2.growBy,
        frozen: Object.isFrozen(e1) && Object.getPrototypeOf(e1) === null,
        growBy: e1.growBy(2),
        add: add(2, 40),
        memoryExport: other.exports.memory instanceof WebAssembly.Memory && other.exports.memory.constructor === WebAssembly.Memory,
        otherKeys: Object.keys(other.exports),
      };`);
    expect(r).toEqual({
      keys: ['growAll', 'growBy'],
      moduleExports: ['growAll', 'growBy'],
      same: true,
      frozen: true,
      growBy: 1,
      add: 42,
      memoryExport: true,
      otherKeys: ['memory', 'growBy'],
    });
  });

  it('imports a capped JS memory into a module', async () => {
    const r = await pi.run<number[]>(`
      const mem = new WebAssembly.Memory({ initial: 1 });
      const { instance } = await WebAssembly.instantiate(${src(importsMemory)}, { env: { f: () => 0, mem } });
      return [instance.exports.growBy(2), instance.exports.growBy(600), mem.buffer.byteLength / 65536];`);
    expect(r).toEqual([1, -1, 3]); // growBy grows the imported memory, capped at 512 pages (32 MiB)
  });

  it('rejects modules whose initial memory exceeds the budget, with a clear message', async () => {
    const r = await pi.run<string[]>(`
      const out = [];
      try { new WebAssembly.Module(${src(bigInitial)}); } catch (e) { out.push(e.constructor.name + ': ' + e.message); }
      await WebAssembly.compile(${src(bigInitial)}).catch((e) => out.push(e.constructor.name + ': ' + e.message));
      await WebAssembly.compile('nope').catch((e) => out.push(e.constructor.name));
      return out;`);
    expect(r[0]).toMatch(/^RangeError: WebAssembly memory limit exceeded: memory 0 of this module starts at 600 pages/);
    expect(r[1]).toBe(r[0]);
    expect(r[2]).toBe('TypeError');
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('wasm-memory.js alone in an isolate: wasmMemoryBytes / wasmMemoryExceeded', () => {
  let code: string;
  const isolates: ivm.Isolate[] = [];
  beforeAll(async () => {
    const r = await esbuild.build({
      entryPoints: [fileURLToPath(new URL('../../host/runtime/js/prelude/wasm-memory.js', import.meta.url))],
      bundle: true,
      write: false,
      format: 'iife',
      globalName: 'WM',
      logLevel: 'silent',
    });
    code = r.outputFiles[0]!.text;
  });
  afterAll(() => {
    for (const i of isolates) if (!i.isDisposed) i.dispose();
  });
  async function fresh(budgetMb: number): Promise<ivm.Context> {
    const isolate = new ivm.Isolate({ memoryLimit: 64 });
    isolates.push(isolate);
    const context = await isolate.createContext();
    await context.eval(code);
    await context.eval(`WM.installWasmMemoryLimits(WebAssembly, ${budgetMb * MIB})`);
    return context;
  }
  const evalJson = async (ctx: ivm.Context, body: string): Promise<unknown> =>
    JSON.parse((await ctx.eval(`JSON.stringify((() => { ${body} })())`, { timeout: 5000 })) as string);

  it('counts JS-created, wasm-defined and grown memories', async () => {
    const ctx = await fresh(16);
    const r = await evalJson(ctx, `
      const out = [WM.wasmMemoryBytes()];
      globalThis.a = new WebAssembly.Memory({ initial: 2 });
      out.push(WM.wasmMemoryBytes());
      a.grow(3);
      out.push(WM.wasmMemoryBytes());
      globalThis.i = new WebAssembly.Instance(new WebAssembly.Module(${src(growModule)}));
      out.push(WM.wasmMemoryBytes());
      i.exports.growBy(10);
      out.push(WM.wasmMemoryBytes(), WM.wasmMemoryExceeded());
      return out;`);
    expect(r).toEqual([0, 2 * 65536, 5 * 65536, 6 * 65536, 16 * 65536, false]);
  });

  it('reports a breach that wasm memory.grow made across several memories, for the runtime to act on', async () => {
    const ctx = await fresh(16);
    const r = await evalJson(ctx, `
      globalThis.x = new WebAssembly.Instance(new WebAssembly.Module(${src(growModule)}));
      const pages = [x.exports.growAll()];
      // This one grows its (unexported) memory in its start function, during instantiation.
      let started;
      try { globalThis.y = new WebAssembly.Instance(new WebAssembly.Module(${src(growAtStart)})); started = 'instantiated'; } catch (e) { started = e.message; }
      pages.push(WM.wasmMemoryBytes() / 65536 - pages[0]);
      let more;
      try { new WebAssembly.Memory({ initial: 1 }); more = 'created'; } catch (e) { more = e.message; }
      return [pages, WM.wasmMemoryBytes(), WM.wasmMemoryExceeded(), started, more];`);
    // Each memory alone is capped at 16 MiB = 256 pages; 1 + 16k pages stops at 241. Instantiation reports the
    // breach its start function caused (and the instance is not handed out), yet the memory lives until GC.
    expect(r).toEqual([
      [241, 241],
      2 * 241 * 65536,
      true,
      expect.stringMatching(/memory limit exceeded: .* after instantiating a module/),
      expect.stringMatching(/memory limit exceeded/),
    ]);
  });

  it('refuses to instantiate a module whose initial memory does not fit in what is left', async () => {
    const ctx = await fresh(1);
    const r = await evalJson(ctx, `
      globalThis.m = new WebAssembly.Memory({ initial: 15 });
      try { new WebAssembly.Instance(new WebAssembly.Module(${src(exportedNoMax)})); return 'instantiated'; } catch (e) { return e.constructor.name + ': ' + e.message; }`);
    expect(r).toMatch(/^RangeError: WebAssembly memory limit exceeded: instantiating a WebAssembly module/);
  });

  it('is not fooled by a guest replacing builtins after install', async () => {
    const ctx = await fresh(16);
    const r = await evalJson(ctx, `
      globalThis.m = new WebAssembly.Memory({ initial: 3 });
      Object.defineProperty(WebAssembly.Memory.prototype, 'buffer', { get() { return new ArrayBuffer(0); } });
      Object.defineProperty(ArrayBuffer.prototype, 'byteLength', { get() { return 0; } });
      WeakRef.prototype.deref = () => undefined;
      Object.defineProperty(Array.prototype, '1', { set() {}, configurable: true });
      Function.prototype.call = () => 0;
      globalThis.n = new WebAssembly.Memory({ initial: 2 });
      return WM.wasmMemoryBytes();`);
    expect(r).toBe(5 * 65536);
  });

  it('lets collected memories stop counting', async () => {
    const isolate = new ivm.Isolate({ memoryLimit: 64 });
    isolates.push(isolate);
    const ctx = await isolate.createContext();
    await ctx.eval(code);
    await ctx.eval(`WM.installWasmMemoryLimits(WebAssembly, ${16 * MIB})`);
    await ctx.eval(`globalThis.keep = new WebAssembly.Memory({ initial: 1 }); for (let i = 0; i < 20; i++) new WebAssembly.Memory({ initial: 4 });`);
    const before = (await ctx.eval('WM.wasmMemoryBytes()')) as number;
    // Make V8 collect (there is no gc() in the isolate), then ask again. A WeakRef's target is cleared by a full
    // collection once it has left the young generation, and garbage that dies young never forces one (a memory that
    // outlived two scavenges stayed counted through 50 rounds of it, 1 run in 30): so each round holds ~32 MB of large
    // arrays at once, which the old generation's limit cannot take without a full collection.
    let after = before;
    for (let i = 0; i < 50 && after > 65536; i++) {
      await ctx.eval('{ const hold = []; for (let i = 0; i < 32; i++) hold.push(new Array(131072).fill(i)); }');
      after = (await ctx.eval('WM.wasmMemoryBytes()')) as number;
    }
    expect(before).toBeGreaterThan(65536);
    expect(after).toBe(65536);
  });
});
