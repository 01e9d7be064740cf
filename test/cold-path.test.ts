// The cold path's warm-ups and the component glue's script form (issue 15): what the prelude snapshot and each
// pooled isolate run before a worker adopts it must complete and leave nothing a guest could see, and a component
// deployed with its glue as a classic script (with the code cache made after instantiation) starts cold from it,
// as do versions stored with the glue as an ES module; the script holding the worker's code (glue or main module)
// gets its code cache made again after its first request.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ivm from 'isolated-vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_FACADES } from '../host/bindings/builtins.ts';
import { buildWorker } from '../host/build/worker-build.ts';
import { componentGlueScript } from '../host/runtime/bootstrap.ts';
import { CONTEXT_WARMUP, IsolatePool, randomBytes, snapshotWarmup, urlParse } from '../host/runtime/isolate-pool.ts';
import { PRELUDE_CAPS } from '../host/core/limits.ts';
import { buildPrelude } from '../host/runtime/js/prelude-bundle.ts';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';

/** A context of a snapshot made of the prelude alone, as the snapshot's warm-up context starts. */
async function bareContext(): Promise<{ isolate: ivm.Isolate; context: ivm.Context }> {
  const snapshot = ivm.Isolate.createSnapshot([{ code: await buildPrelude(BUILTIN_FACADES), filename: 'edge:prelude' }]);
  const isolate = new ivm.Isolate({ snapshot, memoryLimit: 128 });
  return { isolate, context: await isolate.createContext() };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

/** __edgeInit called as IsolatePool.make calls it (the host's log, call and invoke references inert). */
function initLikeThePool(context: ivm.Context): void {
  const none = new ivm.Reference(() => undefined);
  const init = context.global.getSync('__edgeInit', { reference: true }) as ivm.Reference<(...a: unknown[]) => unknown>;
  init.applySync(undefined, [none, new ivm.Reference(randomBytes), new ivm.Reference(urlParse), none, none, none, new ivm.ExternalCopy({ memoryBytes: 128 << 20, caps: PRELUDE_CAPS }).copyInto()]);
}

/** What a guest could see of the global object: its own property names and what its WebAssembly is. */
const GLOBALS = `JSON.stringify({
  names: Object.getOwnPropertyNames(globalThis).sort(),
  symbols: Object.getOwnPropertySymbols(globalThis).map(String).sort(),
  wasm: {
    tag: Object.prototype.toString.call(WebAssembly),
    validates: WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])),
    // The snapshot warm-up's stand-in would say false and list a memory.
    exports: WebAssembly.Module.exports(new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))).length,
  },
})`;

describe('snapshot and pool warm-ups', () => {
  it('runs every fetch of the snapshot warm-up to a 200, with no WebAssembly object (as when the snapshot is made)', async () => {
    const { isolate, context } = await bareContext();
    try {
      // A context made for a snapshot has no WebAssembly: the warm-up must bring its own stand-in, or __edgeInit
      // throws and nothing of the request path gets compiled into the snapshot.
      context.evalSync('delete globalThis.WebAssembly');
      context.evalSync(snapshotWarmup());
      await settle();
      const outcome = context.evalSync('JSON.stringify(globalThis.__edgeWarmupOutcome)') as string;
      expect(JSON.parse(outcome)).toEqual([200, 200, 200, 200, 200, 200, 200]);
    } finally {
      isolate.dispose();
    }
  });

  it('runs the snapshot warm-up with the real WebAssembly too', async () => {
    const { isolate, context } = await bareContext();
    try {
      context.evalSync(snapshotWarmup());
      await settle();
      expect(JSON.parse(context.evalSync('JSON.stringify(globalThis.__edgeWarmupOutcome)') as string)).toEqual([200, 200, 200, 200, 200, 200, 200]);
    } finally {
      isolate.dispose();
    }
  });

  it("runs the pooled context's warm-up and leaves the context's globals as they were", async () => {
    const { isolate, context } = await bareContext();
    try {
      // Connected to the host as a pooled context is when the warm-up runs (a URL with a base is parsed by the host).
      initLikeThePool(context);
      const before = context.evalSync('JSON.stringify(Object.getOwnPropertyNames(globalThis).sort())') as string;
      context.evalSync(CONTEXT_WARMUP);
      expect(context.evalSync('JSON.stringify(Object.getOwnPropertyNames(globalThis).sort())')).toBe(before);
    } finally {
      isolate.dispose();
    }
  });

  it('hands out a spare whose context has nothing of the warm-ups: the same globals as without them, the real WebAssembly', async () => {
    // Without warm-ups: a snapshot of the prelude alone, connected as the pool connects its contexts.
    const { isolate, context } = await bareContext();
    let plain: string;
    try {
      initLikeThePool(context);
      plain = context.evalSync(GLOBALS) as string;
    } finally {
      isolate.dispose();
    }
    // A spare of a real pool: the snapshot's warm-ups (SNAPSHOT: streams, requests, components) and the context's.
    const pool = await IsolatePool.create({ size: 1, facades: BUILTIN_FACADES });
    try {
      for (let i = 0; i < 500 && pool.spareCount === 0; i++) await settle();
      expect(pool.spareCount).toBe(1);
      const pooled = await pool.take(128);
      try {
        const seen = JSON.parse(pooled.context.evalSync(GLOBALS) as string) as Record<string, unknown>;
        expect(seen).toEqual(JSON.parse(plain));
        // Named, in case both lists ever held them.
        expect(seen.names).not.toContain('__edgeWarmupOutcome');
        expect(seen.names).not.toContain('__edgeWorker');
        expect(seen.names).not.toContain('__edgeEnv');
        expect(seen.names).not.toContain('__edgeExports');
        expect(seen.wasm).toEqual({ tag: '[object WebAssembly]', validates: true, exports: 0 });
      } finally {
        pooled.isolate.dispose();
      }
    } finally {
      pool.close();
    }
  }, 60_000);

  it("gives a component's glue the WASI interfaces whether or not it looks them up (loaded on first use)", async () => {
    const { isolate, context } = await bareContext();
    try {
      initLikeThePool(context);
      const seen = context.evalSync(`(() => {
        const host = globalThis.__edgeHost;
        const config = (world) => ({ interfaces: [], fuel: null, fuelExport: null, world, environment: { A: 'b' }, wasm: {} });
        const out = {};
        const handler = { handle: () => ({ status: 200, headers: [], body: { tag: 'none' } }) };
        // Looks up one interface by name, as jco's glue does.
        host.createComponentWorker((_, imports) => {
          out.env = imports['wasi:cli/environment'].getEnvironment();
          out.has = 'wasi:http/types' in imports;
          return { 'edge:platform/incoming-handler@0.1.0': handler };
        }, config('edge:platform/worker'));
        // Lists them first: the WASI ones are there too.
        host.createComponentWorker((_, imports) => {
          out.keys = Object.keys(imports).filter((k) => k.startsWith('wasi:')).sort();
          return { 'edge:platform/incoming-handler@0.1.0': handler };
        }, config('edge:platform/worker'));
        // Looks up none (hello-as): still instantiates.
        host.createComponentWorker(() => ({ 'edge:platform/incoming-handler@0.1.0': handler }), config('edge:platform/worker'));
        return JSON.stringify(out);
      })()`) as string;
      const out = JSON.parse(seen) as { env: unknown; has: boolean; keys: string[] };
      expect(out.env).toEqual([['A', 'b']]);
      expect(out.has).toBe(true);
      expect(out.keys).toContain('wasi:cli/environment');
      expect(out.keys).toContain('wasi:http/types');
      expect(out.keys).toContain('wasi:http/outgoing-handler');
      expect(out.keys).toContain('wasi:random/random');
    } finally {
      isolate.dispose();
    }
  });
});

describe("a component's glue as a classic script", () => {
  let t: TestHost;
  let component: Uint8Array;

  beforeAll(async () => {
    t = await startTestHost();
    component = (await buildWorker({ dir: new URL('../examples/hello-as', import.meta.url).pathname, main: 'assembly/index.ts' })).component;
  }, 120_000);
  afterAll(() => t.close());

  it('rewrites only glue of the shape jco emits', () => {
    const glue = 'export function instantiate(getCoreModule, imports) {\n  return { a: 1 };\n}\n';
    expect(componentGlueScript(glue)).not.toBeNull();
    expect(componentGlueScript(`${glue}export const other = 1;\n`)).toBeNull();
    expect(componentGlueScript(`import x from './x.js';\n${glue}`)).toBeNull();
    expect(componentGlueScript(`${glue}const u = import.meta.url;\n`)).toBeNull();
    expect(componentGlueScript(`export default function instantiate() {}\n`)).toBeNull();
  });

  it('keeps what the glue sees as a module: strict mode, its own scope, the same line numbers', async () => {
    // Line 2 makes an error; the helper after the function is module-scoped.
    const glue = [
      'export function instantiate(getCoreModule, imports) {',
      "  const where = new Error('here').stack.split('\\n')[1];",
      '  let sloppy = null;',
      '  try { undeclared = 1; } catch (err) { sloppy = err.constructor.name; }',
      '  return { self: typeof (function () { return this; })(), sloppy, where, helper: helper(), imports: imports.a };',
      '}',
      'function helper() { return 42; }',
      'var shared = 1;',
      '',
    ].join('\n');
    const isolate = new ivm.Isolate({ memoryLimit: 32 });
    try {
      const asScript = async (): Promise<unknown> => {
        const context = await isolate.createContext();
        const instantiate = context.evalSync(componentGlueScript(glue)!, { filename: 'glue.js', reference: true }) as ivm.Reference<unknown>;
        context.global.setSync('instantiate', instantiate.derefInto());
        return JSON.parse(
          context.evalSync(
            "JSON.stringify({ out: instantiate(null, { a: 'b' }), globals: ['helper', 'shared', 'undeclared'].filter((k) => k in globalThis) })",
          ) as string,
        );
      };
      const asModule = async (): Promise<unknown> => {
        const context = await isolate.createContext();
        const mod = await isolate.compileModule(glue, { filename: 'glue.js' });
        await mod.instantiate(context, () => {
          throw new Error('no imports');
        });
        await mod.evaluate();
        context.global.setSync('instantiate', (mod.namespace.getSync('instantiate', { reference: true }) as ivm.Reference<unknown>).derefInto());
        return JSON.parse(
          context.evalSync(
            "JSON.stringify({ out: instantiate(null, { a: 'b' }), globals: ['helper', 'shared', 'undeclared'].filter((k) => k in globalThis) })",
          ) as string,
        );
      };
      const module = await asModule();
      expect(module).toEqual({ out: { self: 'undefined', sloppy: 'ReferenceError', where: expect.stringMatching(/glue\.js:2:\d+\)$/), helper: 42, imports: 'b' }, globals: [] });
      // The same but for the column of line 1 (the header comes first on it).
      expect(await asScript()).toEqual(module);
    } finally {
      isolate.dispose();
    }
  });

  it('deploys the glue as a script with its code cache, and cold-starts from it after eviction', async () => {
    const d = await t.admin('POST', '/v1/workers', {
      manifest: { fileName: 'wrangler.toml', content: 'name = "glue-script"\nmain = "assembly/index.ts"\n[build]\nlanguage = "assemblyscript"\n' },
      modules: [{ path: 'assembly/index.wasm', content: Buffer.from(component).toString('base64'), encoding: 'base64' }],
    });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    const version = t.host.runtime.activeVersion('glue-script')!;
    const glue = version.modules.find((m) => m.path === version.component!.glue)!;
    expect(glue.source.startsWith('/* edge: jco glue as a classic script')).toBe(true);
    expect(glue.cache?.byteLength ?? 0).toBeGreaterThan(0);
    for (let i = 0; i < 2; i++) {
      const res = await t.get('glue-script');
      expect(res.status).toBe(200);
      expect(res.body.toString()).toContain('hello from');
      expect(t.host.runtime.evict('glue-script')).toBe(true);
    }
  });

  it("makes the glue's code cache again after the first request, once per version: it then holds the request path", async () => {
    const d = await t.admin('POST', '/v1/workers', {
      manifest: { fileName: 'wrangler.toml', content: 'name = "glue-recache"\nmain = "assembly/index.ts"\n[build]\nlanguage = "assemblyscript"\n' },
      modules: [{ path: 'assembly/index.wasm', content: Buffer.from(component).toString('base64'), encoding: 'base64' }],
    });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    const version = t.host.runtime.activeVersion('glue-recache')!;
    const glue = version.modules.find((m) => m.path === version.component!.glue)!;
    const atDeploy = glue.cache!;
    expect(atDeploy.byteLength).toBeGreaterThan(0);
    const first = await t.get('glue-recache');
    expect(first.status).toBe(200);
    for (let i = 0; i < 100 && glue.cache === atDeploy; i++) await new Promise((r) => setTimeout(r, 20));
    const afterRequest = glue.cache!;
    expect(afterRequest).not.toBe(atDeploy);
    // The functions the request compiled (the export's trampolines, lifting and lowering) are in it now.
    expect(afterRequest.byteLength).toBeGreaterThan(atDeploy.byteLength);
    for (let i = 0; i < 2; i++) {
      expect(t.host.runtime.evict('glue-recache')).toBe(true);
      const res = await t.get('glue-recache', `/again-${i}`);
      expect(res.status).toBe(200);
      expect(res.text).toContain('hello from');
      expect(t.host.runtime.warmInstance('glue-recache')!.timings.firstFetchMs).toBeGreaterThan(0);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(glue.cache).toBe(afterRequest);
  });

  it('still serves a version persisted with the glue as an ES module (deployed before the script form)', async () => {
    const version = t.host.runtime.activeVersion('glue-script')!;
    const index = version.modules.findIndex((m) => m.path === version.component!.glue);
    const dir = join(t.dataDir, 'workers', 'glue-script', 'versions', version.versionId);
    const stored = await readFile(join(dir, 'modules', version.component!.glue), 'utf8');
    expect(stored).toBe(version.modules[index]!.source);
    // The form jco emitted, which the deploy stored before componentGlueScript (and a code cache made of it).
    const esm = `export ${stored.slice(stored.indexOf('function instantiate('), stored.lastIndexOf('\nreturn instantiate;'))}\n`;
    expect(componentGlueScript(esm)).toBe(stored);
    await writeFile(join(dir, 'modules', version.component!.glue), esm);
    const isolate = new ivm.Isolate({ memoryLimit: 32 });
    try {
      const mod = isolate.compileModuleSync(esm, { filename: 'glue.js', produceCachedData: true });
      await writeFile(join(dir, 'cache', `${index}.v8`), Buffer.from((mod as ivm.Module & ivm.CachedDataResult).cachedData!.copy()));
    } finally {
      isolate.dispose();
    }
    await t.restart();
    const loaded = t.host.runtime.activeVersion('glue-script')!;
    expect(loaded.modules[index]!.source).toBe(esm);
    for (let i = 0; i < 2; i++) {
      const res = await t.get('glue-script', '/old');
      expect(res.status, res.text).toBe(200);
      expect(res.text).toContain('hello from');
      expect(t.host.runtime.evict('glue-script')).toBe(true);
    }
  });
});

describe("a module worker's main module as a classic script", () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(() => t.close());

  // Line 10 throws; its `new` is at column 48.
  const WORKER = [
    "import { DurableObject, env as bindings } from 'cloudflare:workers';",
    'export class Tally extends DurableObject {',
    "  async fetch() { const n = ((await this.ctx.storage.get('n')) ?? 0) + 1; await this.ctx.storage.put('n', n); return new Response(String(n)); }",
    '}',
    'let served = 0;',
    'export default {',
    '  async fetch(request, env) {',
    '    served += 1;',
    '    const path = new URL(request.url).pathname;',
    "    if (path === '/boom') { served += 0; throw new Error('boom'); }",
    "    if (path === '/tally') return env.TALLY.get(env.TALLY.idFromName('a')).fetch(request);",
    '    return new Response(`served ${served} by ${bindings.WHO}`);',
    '  },',
    '};',
    '',
  ].join('\n');
  const TOML = manifestFor('main-script', 'index.js', '[vars]\nWHO = "edge"\n[[durable_objects.bindings]]\nname = "TALLY"\nclass_name = "Tally"\n[[migrations]]\ntag = "v1"\nnew_classes = ["Tally"]\n');

  const mainCode = (name: string): string | undefined => t.host.runtime.warmInstance(name)?.timings.mainCode;

  it('deploys it with a code cache made after it ran, and cold-starts from that cache after eviction', async () => {
    const d = await t.deploy('main-script', { toml: TOML, modules: { 'index.js': WORKER } });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    const main = t.host.runtime.activeVersion('main-script')!.modules.find((m) => m.path === 'index.js')!;
    expect(main.source).toBe(WORKER);
    expect(main.cache?.byteLength ?? 0).toBeGreaterThan(0);
    const atDeploy = main.cache!;
    // The deploy's isolate serves first (its code was compiled without a cache, which it made).
    expect((await t.get('main-script')).text).toBe('served 1 by edge');
    expect(mainCode('main-script')).toBe('script');
    // After that first request the cache is made again (WorkerInstance.firstFetchDone): it holds the handler now.
    for (let i = 0; i < 100 && main.cache === atDeploy; i++) await new Promise((r) => setTimeout(r, 20));
    const afterRequest = main.cache!;
    expect(afterRequest).not.toBe(atDeploy);
    expect(afterRequest.byteLength).toBeGreaterThan(atDeploy.byteLength);
    for (let i = 0; i < 2; i++) {
      expect(t.host.runtime.evict('main-script')).toBe(true);
      const res = await t.get('main-script');
      expect(res.text).toBe('served 1 by edge');
      expect(mainCode('main-script')).toBe('script+cache');
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(main.cache).toBe(afterRequest); // once per version in this process
    // Its exported class is the Durable Object's.
    expect((await t.get('main-script', '/tally')).text).toBe('1');
    expect((await t.get('main-script', '/tally')).text).toBe('2');
  });

  it("reports an exception at the module's own line and column", async () => {
    const events: Array<{ kind: string; stack?: string }> = [];
    const off = t.host.logs.subscribe('main-script', (ev) => events.push(ev));
    try {
      expect((await t.get('main-script', '/boom')).status).toBe(500);
      await expect.poll(() => events.find((e) => e.kind === 'exception')).toBeDefined();
    } finally {
      off();
    }
    expect(events.find((e) => e.kind === 'exception')!.stack).toMatch(/at Object\.fetch \(worker:\/\/main-script\/index\.js:10:48\)/);
  });

  it('keeps the module form for a module a function body would change (a top-level await)', async () => {
    const d = await t.deploy('main-module', { modules: { 'index.js': "const greeting = await Promise.resolve('awaited');\nexport default { fetch: () => new Response(greeting) };\n" } });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    expect(t.host.runtime.evict('main-module')).toBe(true);
    expect((await t.get('main-module')).text).toBe('awaited');
    expect(mainCode('main-module')).toBe('module');
  });

  it('cold-starts a version stored with a module code cache (deployed before the script form), making a cache it can use', async () => {
    const version = t.host.runtime.activeVersion('main-script')!;
    const index = version.modules.findIndex((m) => m.path === 'index.js');
    const isolate = new ivm.Isolate({ memoryLimit: 32 });
    try {
      const mod = isolate.compileModuleSync(WORKER, { filename: 'index.js', produceCachedData: true });
      await writeFile(join(t.dataDir, 'workers', 'main-script', 'versions', version.versionId, 'cache', `${index}.v8`), Buffer.from((mod as ivm.Module & ivm.CachedDataResult).cachedData!.copy()));
    } finally {
      isolate.dispose();
    }
    await t.restart();
    expect((await t.get('main-script')).text).toBe('served 1 by edge');
    expect(mainCode('main-script')).toBe('script');
    expect(t.host.runtime.evict('main-script')).toBe(true);
    expect((await t.get('main-script')).text).toBe('served 1 by edge');
    expect(mainCode('main-script')).toBe('script+cache');
    expect((await t.get('main-script', '/tally')).text).toBe('3');
  });
});
