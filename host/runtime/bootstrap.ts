// Bringing a worker version to life in an isolate: compiling and linking its modules (with the deploy-time code
// cache), the env and bootstrap modules that hand `env` and the default export to the prelude, and the evaluation
// of its global scope, each failure mapped to an error the deployer can act on.
import { STARTUP_CPU_MS } from '../core/limits.ts';
import ivm from 'isolated-vm';
import { posix } from 'node:path';
import { builtinModules } from 'node:module';
import { EdgeError } from '../core/errors.ts';
import { NODE_COMPAT_FLAG_HINT } from '../core/node-compat.ts';
import type { ComponentWorkerConfig } from '../core/isolate-protocol.ts';
import type { CapabilityRegistry } from '../bindings/registry.ts';
import type { PooledIsolate } from './isolate-pool.ts';
import { webAssembly, type WasmModule } from '../core/webassembly-api.ts';
import { errorStack, errorText } from './error-response.ts';
import type { ComponentParts, LoadedVersion, VersionModule } from './worker-types.ts';
import { isolateValues, VALUE_MODULES_GLOBAL, valueModuleSource } from './value-modules.ts';
import { dynamicImportBootstrap, dynamicImportsOf, explainLinkError, guestModule, SCRIPT_IMPORTABLE, usesCloudflareWorkers } from './guest-modules.ts';
import { callScriptForm, SCRIPT_FORM_LINE_OFFSET, scriptFormOf } from './script-form.ts';

/** `node:x`, or a bare name Node resolves to a built-in. */
const isNodeBuiltin = (specifier: string): boolean => specifier.startsWith('node:') || builtinModules.includes(specifier);

export { STARTUP_CPU_MS };
/** Up to this much source, a cold start compiles on the host thread (see evaluateWorker). */
const SYNC_COMPILE_MAX_CHARS = 256 * 1024;
const BOOTSTRAP_PATH = '__edge_bootstrap__.js';
const NO_FETCH_MARKER = '__EDGE_NO_FETCH_HANDLER__';
/** The module that computes `env` (and, for the service-worker syntax, its globals) before the worker's code runs. */
const ENV_SPECIFIER = './__edge_env__.js';

const TIMEOUT_MESSAGE = /execution timed out/i;

const compiledByVersion = new WeakMap<ComponentParts, Record<string, WasmModule>>();

/** The component's core modules compiled by the host's V8 (memories already capped at deploy). */
function compiledCoreModules(component: ComponentParts): Record<string, WasmModule> {
  let compiled = compiledByVersion.get(component);
  if (!compiled) {
    compiled = Object.fromEntries(component.wasm.map((w) => [w.name, new webAssembly.Module(w.bytes)]));
    compiledByVersion.set(component, compiled);
  }
  return compiled;
}

/**
 * How a component's glue in its classic-script form (componentGlueScript) starts: on the glue's own first line, so
 * that the lines of a stack trace through the glue are those of jco's output.
 */
const GLUE_SCRIPT_HEADER = "/* edge: jco glue as a classic script whose value is instantiate (host/runtime/bootstrap.ts) */ (() => { 'use strict'; ";
const GLUE_EXPORT = 'export function instantiate(';

/**
 * jco's glue (an ES module whose one export is `function instantiate`) rewritten at deploy into a classic script
 * whose value is that function, or null when the glue has another shape (left an ES module). Why: V8 uses the
 * functions compiled after a script ran from a code cache made then, but of a module's code cache only its top level
 * (measured here: a module's cache made after instantiation changed nothing). The deploy makes the glue's cache once
 * the component was instantiated (evaluateWorker), so a cold start neither parses the 30 KB body of `instantiate`
 * nor compiles what it runs: compile + instantiation in a new isolate went from ~2.8 to ~1.6 ms (hello-as).
 * The module's strictness is kept ('use strict'); the glue has no import and no top-level await.
 */
export function componentGlueScript(glue: string): string | null {
  const body = glue.trimEnd();
  if (!body.startsWith(GLUE_EXPORT) || /^\s*(export|import)\b/m.test(body.slice(GLUE_EXPORT.length)) || /\bimport\.meta\b/.test(body)) return null;
  return `${GLUE_SCRIPT_HEADER}function instantiate(${body.slice(GLUE_EXPORT.length)}\nreturn instantiate;\n})()\n`;
}

/** Whether a stored glue has the classic-script form (versions deployed before it have the ES-module form). */
export const isGlueScript = (source: string): boolean => source.startsWith(GLUE_SCRIPT_HEADER);

/**
 * How a JS worker's main module was compiled: as a module, or as a classic script (script-form.ts) with its code
 * cache or without one ('' for a component).
 */
export type MainCode = '' | 'module' | 'script' | 'script+cache';

/** What evaluating a version needs of the instance it loads into. */
export interface BootstrapTarget {
  readonly version: LoadedVersion;
  readonly pooled: PooledIsolate;
  readonly registry: CapabilityRegistry;
  /** Where the cold start's time went (WorkerInstance.timings), filled in as each phase completes. */
  readonly timings: { codeLoadMs: number; evaluateMs: number; mainCode: MainCode };
  /** Takes the memory shared with the JS facades as soon as it exists: disposing the instance releases it, even when evaluation fails. */
  adoptShared(shared: { release(): void }): void;
  /**
   * Takes the classic script that holds the worker's code (a component's glue, a JS worker's main module in its
   * script form), whose code cache the instance makes again after its first request.
   */
  keepScript(script: ClassicScript): void;
}

/** A classic script of a version (the component glue, a main module's script form): what compiles it again. */
export interface ClassicScript {
  module: VersionModule;
  source: string;
  options: ivm.ScriptOrigin;
}

/**
 * Compiles, links and evaluates the version's modules in the target's isolate, handing `env` and the default
 * export to the prelude. With `produceCache`, fills each module's `cache` with V8 code cache (done at deploy).
 */
export async function evaluateWorker(target: BootstrapTarget, produceCache: boolean): Promise<void> {
  const started = performance.now();
  const { isolate, context } = target.pooled;
  const { manifest, modules, worker } = target.version;
  const byPath = new Map(modules.map((m) => [m.path, m]));
  // WebAssembly, text and data modules (wrangler's module rules): each a small JS module whose default export is the value.
  const values = new Map((target.version.component ? [] : (target.version.valueModules ?? [])).map((m) => [m.path, m]));
  // Modules using import() run rewritten (guest-modules.ts); the code cache is made from and checked against that text.
  const dynamic = target.version.component ? null : dynamicImportsOf(modules);
  const sourceOf = (path: string): string | undefined => dynamic?.sources.get(path) ?? byPath.get(path)?.source;
  const guestModules = new Map<string, ivm.Module>();
  const compiled = new Map<string, ivm.Module>();
  const pathOf = new Map<ivm.Module, string>();
  // Small workers compile and link on this thread: each async isolated-vm step is a round trip to the
  // isolate's thread, and at idle those wake-ups cost more than compiling a few KB (with its code cache).
  const sync = modules.reduce((n, m) => n + m.source.length, 0) <= SYNC_COMPILE_MAX_CHARS;

  const compileOptions = (path: string): ivm.CompileModuleOptions & ivm.CachedDataOptions => {
    const mod = byPath.get(path)!;
    const filename = `worker://${worker}/${path}`;
    if (produceCache) return { filename, produceCachedData: true };
    return mod.cache ? { filename, cachedData: new ivm.ExternalCopy(new Uint8Array(mod.cache).buffer as ArrayBuffer) } : { filename };
  };
  const record = (path: string, m: ivm.Module): ivm.Module => {
    if (produceCache) {
      const cached = (m as ivm.Module & ivm.CachedDataResult).cachedData;
      if (cached) byPath.get(path)!.cache = Buffer.from(cached.copy());
    }
    compiled.set(path, m);
    pathOf.set(m, path);
    return m;
  };
  const compileValue = (path: string): ivm.Module => {
    const m = isolate.compileModuleSync(valueModuleSource(values.get(path)!, manifest.limits.memoryMb), { filename: `worker://${worker}/${path}` });
    compiled.set(path, m);
    pathOf.set(m, path);
    return m;
  };
  const compileSync = (path: string, source = sourceOf(path)): ivm.Module => {
    const existing = compiled.get(path);
    if (existing) return existing;
    if (values.has(path)) return compileValue(path);
    if (source === undefined) throw new EdgeError('E_MODULE_NOT_FOUND', `Module "${path}" was not uploaded.`);
    try {
      return record(path, isolate.compileModuleSync(source, compileOptions(path)));
    } catch (err) {
      throw new EdgeError('E_MODULE_INVALID', `${path}: ${errorText(err)}`, { details: { module: path } });
    }
  };
  // isolated-vm resolves a module's imports concurrently: two modules importing a third must get the one compile
  // under way, not start a second (a module compiled twice is two instances, with two copies of its state).
  const compiling = new Map<string, Promise<ivm.Module>>();
  const compileAsync = (path: string): Promise<ivm.Module> => {
    let pending = compiling.get(path);
    if (!pending) {
      pending = (async () => {
        if (values.has(path)) return compileValue(path);
        const mod = byPath.get(path);
        if (!mod) throw new EdgeError('E_MODULE_NOT_FOUND', `Module "${path}" was not uploaded.`);
        try {
          return record(path, await isolate.compileModule(sourceOf(path) ?? mod.source, compileOptions(path)));
        } catch (err) {
          throw new EdgeError('E_MODULE_INVALID', `${path}: ${errorText(err)}`, { details: { module: path } });
        }
      })();
      compiling.set(path, pending);
    }
    return pending;
  };

  const resolve = (specifier: string, referrer: ivm.Module): string => {
    const from = pathOf.get(referrer) ?? manifest.main;
    if (!specifier.startsWith('./') && !specifier.startsWith('../') && !specifier.startsWith('/')) {
      if (isNodeBuiltin(specifier)) {
        // nodejs_compat's modules are polyfills that `edge deploy` bundles into the worker, not modules of the runtime.
        throw new EdgeError(
          'E_MODULE_NOT_FOUND',
          `${from}: cannot import "${specifier}": a Node.js built-in module is bundled into the worker by \`edge deploy\` (with ${NODE_COMPAT_FLAG_HINT}); these modules were uploaded unbundled (no_bundle), so they cannot import it.`,
          { details: { module: from, specifier } },
        );
      }
      throw new EdgeError(
        'E_MODULE_NOT_FOUND',
        `${from}: cannot import "${specifier}": only relative imports of uploaded modules are supported (bundle npm packages into your worker first).`,
        { details: { module: from, specifier } },
      );
    }
    // `./x.wasm?module` is wrangler's way of importing x.wasm as a WebAssembly.Module.
    const file = specifier.endsWith('?module') ? specifier.slice(0, -'?module'.length) : specifier;
    const path = file.startsWith('/') ? posix.normalize(file.slice(1)) : posix.join(posix.dirname(from), file);
    if (!byPath.has(path) && !values.has(path)) {
      throw new EdgeError('E_MODULE_NOT_FOUND', `${from}: cannot import "${specifier}": no uploaded module at "${path}".`, {
        details: { module: from, specifier },
      });
    }
    return path;
  };

  // The bootstrap imports the entry, checks its default export and hands it (with env) to the prelude,
  // all within the one evaluation; the first fetch entry picks them up. A component's entry is jco's glue,
  // adapted into a fetch handler by the prelude (component.js).
  const plan = target.registry.plan(manifest);
  const component = target.version.component;
  // `env`: [vars] plus one value per binding, each made by the facade the registry names for it (the runtime names none).
  const varsSource = `JSON.parse(${JSON.stringify(JSON.stringify(manifest.vars))})`;
  const envSource = plan.env.length === 0 ? varsSource : `host.buildEnv(${varsSource}, ${JSON.stringify(plan.interfaces)}, ${JSON.stringify(plan.env)})`;
  if (!component && plan.env.length > 0) {
    // Memory shared with facades (a capability's counters that let its facade answer from the isolate while they hold).
    const shared = target.registry.share(manifest);
    target.adoptShared(shared);
    for (const [name, buffer] of Object.entries(shared.buffers)) {
      context.global.setSync(`__edgeShared_${name}`, new ivm.ExternalCopy(buffer).copyInto({ release: true }));
    }
  }
  if (values.size > 0) {
    // Compiled (a .wasm) once per version by the host, handed over compiled; read by the modules that stand for them.
    const copy = new ivm.ExternalCopy(isolateValues([...values.values()], manifest.limits.memoryMb));
    context.global.setSync(VALUE_MODULES_GLOBAL, copy.copyInto({ release: true }));
  }
  let bootstrapSource: string;
  let envModule: ivm.Module | null = null;
  let glueScript = false;
  // The main module run as a classic script (script-form.ts): the runtime modules its function is called with.
  let mainScript: { imports: string[] } | null = null;
  // Classic scripts (the glue, the main module's script form) whose code cache is made once the worker ran.
  const cacheAfterRun: ClassicScript[] = [];
  /**
   * Compiles `source`, module `path`'s classic-script form, with the version's code cache when it has one (on this
   * thread: with a cache even a large script compiles in about a millisecond), and runs it: its value. Without a
   * usable cache (a deploy, a cache made for the module form or by another V8), one is made after the worker ran, so
   * that it holds the functions the evaluation compiled.
   */
  const runClassic = async (path: string, source: string, lineOffset = 0): Promise<{ value: ivm.Reference<unknown>; cached: boolean; script: ClassicScript }> => {
    const module = byPath.get(path)!;
    const options: ivm.ScriptOrigin = { filename: `worker://${worker}/${path}`, ...(lineOffset !== 0 ? { lineOffset } : {}) };
    const cache = !produceCache && module.cache ? module.cache : undefined;
    let script: ivm.Script;
    try {
      const compileOptions = cache ? { ...options, cachedData: new ivm.ExternalCopy(new Uint8Array(cache).buffer as ArrayBuffer) } : options;
      script = sync || cache ? isolate.compileScriptSync(source, compileOptions) : await isolate.compileScript(source, compileOptions);
    } catch (err) {
      throw new EdgeError('E_MODULE_INVALID', `${path}: ${errorText(err)}`, { details: { module: path } });
    }
    const cached = cache !== undefined && (script as ivm.Script & { cachedDataRejected?: boolean }).cachedDataRejected !== true;
    if (!cached) cacheAfterRun.push({ module, source, options });
    const value = script.runSync(context, { reference: true, timeout: Math.max(STARTUP_CPU_MS, manifest.limits.cpuMs) }) as ivm.Reference<unknown>;
    script.release();
    return { value, cached, script: { module, source, options } };
  };
  if (component) {
    // Compiled once per version in the host and handed to each isolate compiled (V8 shares the code between
    // isolates): a cold start neither compiles nor re-parses the core modules.
    context.global.setSync('__edgeWasm', new ivm.ExternalCopy(compiledCoreModules(component)).copyInto({ release: true }));
    const glueSource = sourceOf(component.glue);
    if (glueSource !== undefined && isGlueScript(glueSource)) {
      // The glue's classic-script form (componentGlueScript; versions deployed before it have the module form). Its
      // value is `instantiate` (defining it runs nothing of the component), for the bootstrap to take; its cache,
      // made once the component was instantiated, holds what instantiation compiled (see componentGlueScript).
      glueScript = true;
      const { value, script } = await runClassic(component.glue, glueSource);
      context.global.setSync('__edgeGlue', value.derefInto({ release: true }));
      target.keepScript(script);
    }
    // ComponentWorkerConfig but its `wasm`, which the bootstrap adds from __edgeWasm.
    const config: Omit<ComponentWorkerConfig, 'wasm'> = {
      interfaces: plan.interfaces,
      fuel: manifest.limits.fuel ?? null,
      fuelExport: component.fuelExport,
      world: component.world ?? 'edge:platform/worker',
      // wasi:cli/environment: [vars], JSON values as their JSON text.
      environment: Object.fromEntries(Object.entries(manifest.vars).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
      // Durable Object classes it declares, served by its durable-handler (the deploy checked it exports one).
      ...(manifest.durableClasses && manifest.durableClasses.length > 0 ? { objectClasses: manifest.durableClasses } : {}),
    };
    bootstrapSource =
      (glueScript
        ? `const instantiate = globalThis.__edgeGlue; delete globalThis.__edgeGlue;\n`
        : `import { instantiate } from ${JSON.stringify(`./${component.glue}`)};\n`) +
      `const host = globalThis.__edgeHost; delete globalThis.__edgeHost;\n` +
      `const wasm = globalThis.__edgeWasm; delete globalThis.__edgeWasm;\n` +
      `const w = host.createComponentWorker(instantiate, Object.assign(${JSON.stringify(config)}, { wasm }));\n` +
      `Object.defineProperty(globalThis, '__edgeWorker', { value: w, configurable: true });\n` +
      `Object.defineProperty(globalThis, '__edgeEnv', { value: ${envSource}, configurable: true });\n` +
      // Its Durable Object classes (component-objects.js), where objects.js looks for a JS worker's exported classes.
      `Object.defineProperty(globalThis, '__edgeExports', { value: w.classes, configurable: true });\n`;
  } else {
    // Whether the worker uses the module or the service-worker syntax is known only once it ran (a default export,
    // or listeners). Its bindings are globals in the service-worker syntax, from the first line on: the env module,
    // evaluated before the worker's, defines them, and the bootstrap takes them back from a module worker. A worker
    // with no vars or bindings needs no env module (one compile less on its cold start).
    // `import { env } from "cloudflare:workers"` needs it too: the env module defines env before the worker's modules run.
    const envEmpty = plan.env.length === 0 && Object.keys(manifest.vars).length === 0 && !usesCloudflareWorkers(modules);
    const extra = dynamicImportBootstrap(dynamic!, manifest.main);
    target.timings.mainCode = 'module';
    const mainModule = dynamic!.sources.size === 0 ? byPath.get(manifest.main) : undefined;
    const form = mainModule ? scriptFormOf(mainModule, mainModule.source, SCRIPT_IMPORTABLE) : null;
    if (mainModule && form !== null) {
      // Its value is the function whose body is the module (defining it runs nothing), for the bootstrap to call.
      const { value, cached, script } = await runClassic(manifest.main, form.source, SCRIPT_FORM_LINE_OFFSET);
      target.keepScript(script);
      mainScript = { imports: form.imports };
      target.timings.mainCode = cached ? 'script+cache' : 'script';
      context.global.setSync('__edgeMain', value.derefInto({ release: true }));
    }
    if (!envEmpty) envModule = isolate.compileModuleSync(
      `const host = globalThis.__edgeHost;\n` +
        `const env = ${envSource};\n` +
        `Object.defineProperty(globalThis, '__edgeEnv', { value: env, configurable: true });\n` +
        `const saved = [];\n` +
        `for (const key of Object.keys(env)) {\n` +
        `  const before = Object.getOwnPropertyDescriptor(globalThis, key);\n` +
        `  if (before && !before.configurable) continue;\n` +
        `  saved.push([key, before]);\n` +
        `  Object.defineProperty(globalThis, key, { value: env[key], writable: true, configurable: true, enumerable: true });\n` +
        `}\n` +
        `Object.defineProperty(globalThis, '__edgeEnvSaved', { value: saved, configurable: true });\n`,
      { filename: `worker://${worker}/${ENV_SPECIFIER.slice(2)}` },
    );
    bootstrapSource =
      (envEmpty ? '' : `import ${JSON.stringify(ENV_SPECIFIER)};\n`) +
      (mainScript
        ? mainScript.imports.map((spec, i) => `import * as __edge_i${i} from ${JSON.stringify(spec)};\n`).join('')
        : `import * as entry from ${JSON.stringify(`./${manifest.main}`)};\n`) +
      extra.imports +
      // The main module's body runs where its evaluation would have: after the env module and what it imports.
      (mainScript
        ? `const main = globalThis.__edgeMain; delete globalThis.__edgeMain;\n${callScriptForm('main', mainScript.imports.map((_, i) => `__edge_i${i}`))}`
        : '') +
      `const host = globalThis.__edgeHost; delete globalThis.__edgeHost;\n` +
      (values.size > 0 ? `delete globalThis.${VALUE_MODULES_GLOBAL};\n` : '') +
      extra.body +
      (envEmpty
        ? `const saved = []; Object.defineProperty(globalThis, '__edgeEnv', { value: {}, configurable: true });\n`
        : `const saved = globalThis.__edgeEnvSaved; delete globalThis.__edgeEnvSaved;\n`) +
      // A class extending WorkerEntrypoint becomes handlers that make an instance per event (cloudflare-workers.js).
      `let w = host.cloudflareWorkers.entrypointHandlers(entry.default);\n` +
      `const listeners = host.serviceWorkerHandlers();\n` +
      `if (w === undefined) w = listeners;\n` +
      `else for (const [key, before] of saved) { if (before) Object.defineProperty(globalThis, key, before); else delete globalThis[key]; }\n` +
      `if (w === null || (typeof w !== 'object' && typeof w !== 'function') || (typeof w.fetch !== 'function' && typeof w.scheduled !== 'function')) throw new Error(${JSON.stringify(NO_FETCH_MARKER)});\n` +
      `Object.defineProperty(globalThis, '__edgeWorker', { value: w, configurable: true });\n` +
      `Object.defineProperty(globalThis, '__edgeExports', { value: entry, configurable: true });\n`;
  }
  const bootstrap = isolate.compileModuleSync(bootstrapSource, { filename: `worker://${worker}/${BOOTSTRAP_PATH}` });
  pathOf.set(bootstrap, BOOTSTRAP_PATH);
  const isEnv = (spec: string, ref: ivm.Module): boolean => envModule !== null && spec === ENV_SPECIFIER && ref === bootstrap;
  // cloudflare:workers, the dynamic import registry, and refusals of the cloudflare: modules this runtime lacks.
  const builtin = (spec: string, ref: ivm.Module): ivm.Module | null => guestModule(isolate, worker, spec, pathOf.get(ref) ?? manifest.main, guestModules);
  try {
    if (sync) bootstrap.instantiateSync(context, (spec, ref) => (isEnv(spec, ref) ? envModule! : (builtin(spec, ref) ?? compileSync(resolve(spec, ref)))));
    else await bootstrap.instantiate(context, (spec, ref) => (isEnv(spec, ref) ? envModule! : (builtin(spec, ref) ?? compileAsync(resolve(spec, ref)))));
  } catch (err) {
    if (err instanceof EdgeError) throw err;
    throw explainLinkError(errorText(err), manifest.main) ?? new EdgeError('E_MODULE_INVALID', `linking ${manifest.main}: ${errorText(err)}`);
  }
  const startupMs = Math.max(STARTUP_CPU_MS, manifest.limits.cpuMs);
  const linked = performance.now();
  target.timings.codeLoadMs = linked - started;
  try {
    await bootstrap.evaluate({ timeout: startupMs, promise: true });
    target.timings.evaluateMs = performance.now() - linked;
    for (const c of cacheAfterRun) {
      // The same source again: V8 answers from this isolate's compilation cache, and the code cache made from it holds
      // what the evaluation compiled. Kept with the version (the deploy stores it; a version loaded from disk with a
      // cache V8 rejects gets one for the rest of this process).
      const again = isolate.compileScriptSync(c.source, { ...c.options, produceCachedData: true });
      const cached = (again as ivm.Script & ivm.CachedDataResult).cachedData;
      if (cached) c.module.cache = Buffer.from(cached.copy());
      again.release();
    }
  } catch (err) {
    const text = errorText(err);
    if (isolate.isDisposed) throw new EdgeError('E_MEMORY_LIMIT', `Evaluating ${manifest.main} exceeded the memory limit of ${manifest.limits.memoryMb} MB.`);
    if (TIMEOUT_MESSAGE.test(text)) {
      throw new EdgeError('E_CPU_LIMIT', `Evaluating the global scope of ${manifest.main} took longer than ${startupMs} ms of CPU.`);
    }
    if (text.includes(NO_FETCH_MARKER)) {
      throw new EdgeError(
        'E_NO_FETCH_HANDLER',
        `${manifest.main} must export a default object with a fetch(request, env, ctx) or a scheduled(controller, env, ctx) method, e.g. \`export default { fetch(request) { return new Response('ok') } }\` (or, in the service-worker syntax, call addEventListener('fetch', ...) or addEventListener('scheduled', ...)).`,
      );
    }
    if (component) throw new EdgeError('E_COMPONENT_INVALID', `The component ${manifest.main} failed to instantiate: ${text}`, { details: { stack: errorStack(err) } });
    throw new EdgeError('E_MODULE_INVALID', `${manifest.main} threw while being evaluated: ${text}`, { details: { stack: errorStack(err) } });
  }
}
