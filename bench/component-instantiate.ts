// The instantiate time of a component alone: jco's glue for examples/hello-as, exactly as the deployer prepares it
// (host/deploy/component.ts prepareComponent), evaluated (a classic script, as the deploy stores it) in an isolate made the way the host makes
// them (IsolatePool: the prelude's snapshot, its WebAssembly wrapper and TextDecoder), its core modules compiled
// inside once, then `instantiate(getCoreModule, imports, instantiateCore)` called over and over with stub imports
// of the shape the host passes (host/runtime/js/prelude/component.js). Nothing of the host is changed.
import ivm from 'isolated-vm';
import { CapabilityRegistry } from '../host/bindings/registry.ts';
import { PLATFORM_WIT_DIR } from '../host/build/worker-build.ts';
import { prepareComponent } from '../host/deploy/component.ts';
import { parseManifestText } from '../host/deploy/manifest.ts';
import { isGlueScript } from '../host/runtime/bootstrap.ts';
import { IsolatePool } from '../host/runtime/isolate-pool.ts';
import { makeTempDir, removeTempDir } from './child-host.ts';
import { HELLO_AS_COMPONENT_PATH, helloAsComponent, helloAsManifest } from './hello-as.ts';
import { measure, type Measurement, type SuiteResult } from './records.ts';
import { formatNumber } from './markdown.ts';
import { summarize } from './stats.ts';

export interface InstantiateOptions {
  /** Timed instantiations (each its own host → isolate call). */
  samples: number;
  /** Instantiations run first and dropped (JIT warm-up of the glue). */
  warmup: number;
  log(line: string): void;
}

const TARGET_US = 100;
const HANDLER = 'edge:platform/incoming-handler@0.1.0';

// Runs inside the isolate. `instantiate` is the glue's export; the imports are stubs with the host's shape.
const SETUP = `
const instantiate = globalThis.__benchInstantiate; delete globalThis.__benchInstantiate;
const wasm = globalThis.__benchWasm; delete globalThis.__benchWasm;
const modules = Object.create(null);
for (const name of Object.keys(wasm)) modules[name] = new WebAssembly.Module(wasm[name]);
class IncomingBody { read() { return undefined; } }
class OutgoingBody { write() {} }
const logged = [];
const imports = {
  'edge:platform/log': { write(level, text) { if (logged.length < 4) logged.push(String(text)); } },
  'edge:platform/vars': { get() { return undefined; }, names() { return []; } },
  'edge:platform/http-types': { IncomingBody, OutgoingBody, beginResponse() { return new OutgoingBody(); } },
};
const getCoreModule = (name) => {
  const m = modules[name];
  if (!m) throw new Error('the glue asked for core module ' + name + ', which the deploy did not provide');
  return m;
};
const instantiateCore = (module, importObject) => new WebAssembly.Instance(module, importObject);
let last = null;
// Diagnostic: the share of one instantiation spent in new WebAssembly.Instance, read with the host's clock.
const clock = globalThis.__benchClock; delete globalThis.__benchClock;
const now = () => clock.applySync(undefined, []);
globalThis.__benchSplit = () => {
  let core = 0;
  const t0 = now();
  last = instantiate(getCoreModule, imports, (module, importObject) => {
    const s = now();
    const inst = new WebAssembly.Instance(module, importObject);
    core += now() - s;
    return inst;
  });
  return [now() - t0, core];
};
globalThis.__benchOne = () => { last = instantiate(getCoreModule, imports, instantiateCore); };
globalThis.__benchNoop = () => {};
// One request through the last instance, so that what was timed is known to be a working component.
globalThis.__benchCheck = () => {
  const h = last && last[${JSON.stringify(HANDLER)}];
  if (!h || typeof h.handle !== 'function') return 'no ${HANDLER}.handle export';
  const out = h.handle({ method: 'GET', url: 'http://bench.localhost/', headers: [], body: undefined });
  const body = out.body.tag === 'bytes' ? new TextDecoder().decode(out.body.val) : '(' + out.body.tag + ')';
  return JSON.stringify({ status: out.status, body, logged });
};
`;

interface Prepared {
  glue: { path: string; source: string };
  wasm: Array<{ name: string; bytes: Uint8Array }>;
  cache: ivm.ExternalCopy<ArrayBuffer> | undefined;
}

type Fn = ivm.Reference<(...args: unknown[]) => unknown>;

/**
 * An isolate from the pool with the glue evaluated (with the deploy-style code cache) and SETUP run in it. The glue
 * is a classic script whose value is `instantiate` (the deploy's form, bootstrap.ts componentGlueScript) or, for a
 * glue of another shape, an ES module. With `afterFirst`, the code cache is made as the deploy makes it: once the
 * component was instantiated, from the same source compiled again in that isolate.
 */
async function loadGlue(pool: IsolatePool, memoryMb: number, p: Prepared, afterFirst = false): Promise<{ isolate: ivm.Isolate; fn(name: string): Fn; cachedData?: ArrayBuffer }> {
  const { isolate, context } = await pool.take(memoryMb);
  try {
    const filename = `worker://instantiate-bench/${p.glue.path}`;
    const options = p.cache ? { filename, cachedData: p.cache } : { filename, produceCachedData: true };
    let cachedData: ArrayBuffer | undefined;
    if (isGlueScript(p.glue.source)) {
      const script = isolate.compileScriptSync(p.glue.source, options);
      cachedData = (script as ivm.Script & { cachedData?: ivm.ExternalCopy<ArrayBuffer> }).cachedData?.copy();
      const instantiate = script.runSync(context, { reference: true }) as ivm.Reference<unknown>;
      if (instantiate.typeof !== 'function') throw new Error(`${p.glue.path} did not evaluate to an instantiate function`);
      context.global.setSync('__benchInstantiate', instantiate.derefInto());
    } else {
      const mod = isolate.compileModuleSync(p.glue.source, options);
      mod.instantiateSync(context, (specifier) => {
        throw new Error(`the glue imports "${specifier}"; the bench provides no modules`);
      });
      mod.evaluateSync();
      const instantiate = mod.namespace.getSync('instantiate', { reference: true }) as ivm.Reference<unknown> | undefined;
      if (!instantiate || instantiate.typeof !== 'function') throw new Error(`${p.glue.path} exports no instantiate function (was it transpiled with instantiation: 'sync'?)`);
      context.global.setSync('__benchInstantiate', instantiate.derefInto());
      cachedData = (mod as ivm.Module & { cachedData?: ivm.ExternalCopy<ArrayBuffer> }).cachedData?.copy();
    }
    context.global.setSync('__benchWasm', new ivm.ExternalCopy(Object.fromEntries(p.wasm.map((w) => [w.name, w.bytes]))).copyInto());
    context.global.setSync('__benchClock', new ivm.Reference(() => performance.now()));
    context.evalSync(SETUP);
    const fn = (name: string): Fn => context.global.getSync(name, { reference: true }) as Fn;
    if (afterFirst && isGlueScript(p.glue.source)) {
      fn('__benchOne').applySync(undefined, []);
      const again = isolate.compileScriptSync(p.glue.source, { filename, produceCachedData: true });
      cachedData = (again as ivm.Script & { cachedData?: ivm.ExternalCopy<ArrayBuffer> }).cachedData?.copy();
    }
    return { isolate, fn, ...(cachedData ? { cachedData } : {}) };
  } catch (err) {
    if (!isolate.isDisposed) isolate.dispose();
    throw err;
  }
}

function timeCall(f: Fn): number {
  const s = performance.now();
  f.applySync(undefined, []);
  return (performance.now() - s) * 1000;
}

function checkAnswer(f: Fn): { status: number; body: string } {
  const checked = f.applySync(undefined, []) as string;
  let parsed: { status: number; body: string } | undefined;
  try {
    parsed = JSON.parse(checked) as { status: number; body: string };
  } catch {
    // reported below
  }
  if (parsed?.status !== 200 || !parsed.body.startsWith('hello from http://bench.localhost/')) {
    throw new Error(`the instantiated hello-as component did not answer a request as expected: ${checked}`);
  }
  return parsed;
}

export async function runComponentInstantiate(options: InstantiateOptions): Promise<SuiteResult> {
  const { component } = await helloAsComponent();
  const dataDir = makeTempDir('instantiate');
  // Size 0: every take() makes a new isolate from the prelude snapshot, outside the timed part.
  const pool = await IsolatePool.create({ size: 0 });
  const live = new Set<ivm.Isolate>();
  const done = (isolate: ivm.Isolate): void => {
    if (!isolate.isDisposed) isolate.dispose();
    live.delete(isolate);
  };
  try {
    const registry = await CapabilityRegistry.create({ platformWitDir: PLATFORM_WIT_DIR, dataDir });
    const manifest = parseManifestText(helloAsManifest('instantiate-bench'), 'wrangler.toml');
    const t0 = performance.now();
    const prepared = await prepareComponent(component, HELLO_AS_COMPONENT_PATH, manifest, registry);
    const prepareMs = performance.now() - t0;
    const glue = prepared.modules.find((m) => m.path === prepared.component.glue);
    if (!glue) throw new Error(`prepareComponent returned no glue module ${prepared.component.glue}`);
    const p: Prepared = { glue, wasm: prepared.component.wasm, cache: undefined };
    const memoryMb = manifest.limits.memoryMb;

    // The deploy's code cache for the glue, as the host keeps one per version.
    const first = await loadGlue(pool, memoryMb, p, true);
    live.add(first.isolate);
    if (first.cachedData) p.cache = new ivm.ExternalCopy(first.cachedData);
    done(first.isolate);

    // (1) What a cold start pays: the first instantiation in a new isolate (glue evaluated, core modules compiled).
    const coldFirst: number[] = [];
    const coldSecond: number[] = [];
    const splitCore: number[] = [];
    const splitGlue: number[] = [];
    const firstHandle: number[] = [];
    const secondHandle: number[] = [];
    let answer: { status: number; body: string } | undefined;
    const total = options.warmup + options.samples;
    const splitEvery = 2;
    for (let i = 0; i < total; i++) {
      const loaded = await loadGlue(pool, memoryMb, p);
      live.add(loaded.isolate);
      try {
        const keep = i >= options.warmup;
        // Every other isolate gives the split (host clock read from inside) instead of the plain timing.
        if (keep && i % splitEvery === 1) {
          const [all, core] = loaded.fn('__benchSplit').applySync(undefined, [], { result: { copy: true } }) as [number, number];
          splitCore.push(core * 1000);
          splitGlue.push((all - core) * 1000);
        } else {
          const a = timeCall(loaded.fn('__benchOne'));
          const b = timeCall(loaded.fn('__benchOne'));
          if (keep) {
            coldFirst.push(a);
            coldSecond.push(b);
          }
        }
        const check = loaded.fn('__benchCheck');
        let s = performance.now();
        answer = checkAnswer(check);
        const h1 = (performance.now() - s) * 1000;
        s = performance.now();
        checkAnswer(check);
        const h2 = (performance.now() - s) * 1000;
        if (keep) {
          firstHandle.push(h1);
          secondHandle.push(h2);
        }
      } finally {
        done(loaded.isolate);
      }
      if ((i + 1) % 100 === 0) options.log(`  instantiate: ${i + 1}/${total} fresh isolates`);
    }

    // (2) Over and over in one isolate: the glue fully warmed up by the JIT.
    const repeated: number[] = [];
    const floor: number[] = [];
    const one = await loadGlue(pool, memoryMb, p);
    live.add(one.isolate);
    try {
      const f = one.fn('__benchOne');
      const noop = one.fn('__benchNoop');
      for (let i = 0; i < options.warmup; i++) timeCall(f);
      for (let i = 0; i < options.samples; i++) {
        repeated.push(timeCall(f));
        floor.push(timeCall(noop));
      }
      checkAnswer(one.fn('__benchCheck'));
    } finally {
      done(one.isolate);
    }

    const workload = 'examples/hello-as (jco sync glue, 3 core modules)';
    const rec = (metric: string, samples: number[], note: string): Measurement => measure({ suite: 'cold', runtime: 'edge-wasm', workload, metric: `${metric}_us`, unit: 'µs', note }, samples);
    const measurements: Measurement[] = [
      rec(
        'component_instantiate',
        coldFirst,
        'the first instantiate(getCoreModule, imports, instantiateCore) in a new pooled isolate (glue evaluated with its code cache, core modules compiled before), timed from the host around one applySync',
      ),
      rec('component_instantiate.second_call', coldSecond, 'the second instantiation in the same new isolate, right after the first'),
      rec('component_instantiate.core_instances', splitCore, 'diagnostic, other new isolates: the part of the first instantiation spent in new WebAssembly.Instance (3 core modules; host clock read from the isolate, ~2-5 µs per read)'),
      rec('component_instantiate.glue_js', splitGlue, "diagnostic, same instantiations: the rest, the glue's own JS (it sets its whole runtime up inside instantiate), clock reads included"),
      rec(
        'component_first_handle_call',
        firstHandle,
        'diagnostic: the first handle(request) through a just instantiated component in a new isolate (stub imports, no host I/O; glue lift/lower and wasm functions run for the first time), result read back as JSON',
      ),
      rec('component_second_handle_call', secondHandle, 'diagnostic: the next handle(request) on the same instance'),
      rec(
        'component_instantiate.repeated',
        repeated,
        'over and over in one isolate (JIT-warm glue); instances are dropped, but the prelude keeps a WeakRef per wasm memory until a full GC and scans that list twice per instance',
      ),
      rec('isolate_call_floor', floor, 'floor: an empty function called the same way (applySync), interleaved with the repeated samples'),
      measure(
        { suite: 'cold', runtime: 'edge-wasm', workload, metric: 'deploy_prepare_component_ms', unit: 'ms', note: 'one prepareComponent() (jco transpile + core modules prepared), the deploy-time step before the isolate; first call in this process' },
        [prepareMs],
      ),
    ];
    const sizes = prepared.component.wasm.map((w) => `${w.name} ${w.bytes.byteLength} B`).join(', ');
    const med = (xs: number[]): string => formatNumber(summarize(xs).p50);
    const c = summarize(coldFirst);
    const notes = [
      `instantiate: ${coldFirst.length} + ${splitCore.length} new isolates from IsolatePool (the host's prelude snapshot, its WebAssembly wrapper; ${options.warmup} more dropped first), then ${options.samples} repeated instantiations in one isolate. ` +
        `Glue ${glue.path}: ${glue.source.length} chars of JS; core modules ${sizes}. Imports are stubs of the host's shape; after each timing a request through the instance answered ${answer?.status} "${answer?.body.trim()}".`,
      `instantiate, where the time goes (p50): first instantiation in a new isolate ${med(coldFirst)} µs = core instances ${med(splitCore)} µs + the glue's JS ${med(splitGlue)} µs (split measured on other isolates); ` +
        `the second instantiation ${med(coldSecond)} µs; JIT-warm in one isolate ${med(repeated)} µs; an empty host → isolate call ${med(floor)} µs. ` +
        'Not included: compiling the core modules and evaluating the glue (once per isolate, before the timed call). ' +
        `After it, the first request through the new instance costs ${med(firstHandle)} µs in the isolate (stub imports), the next ${med(secondHandle)} µs.`,
    ];
    return {
      measurements,
      notes,
      targets: [
        {
          target: `component instantiate p50 < ${TARGET_US} µs`,
          measured: `${formatNumber(c.p50)} µs (first in a new isolate; JIT-warm ${med(repeated)} µs)`,
          pass: c.p50 < TARGET_US,
          note: c.p50 < TARGET_US ? '' : `missed: ${formatNumber(c.p50 / TARGET_US)}x the target`,
        },
      ],
    };
  } finally {
    for (const isolate of [...live]) done(isolate);
    pool.close();
    removeTempDir(dataDir);
  }
}
