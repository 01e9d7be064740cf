// The modules a JS worker imports besides its own uploaded ones, as the bootstrap links them: `cloudflare:workers`
// (env, WorkerEntrypoint, DurableObject, RpcTarget; the prelude's cloudflare-workers.js holds the classes),
// `edge:node-compat` (what nodejs_compat's bundled polyfills take from the runtime), refusals of
// the `cloudflare:*` modules this runtime lacks, and dynamic `import()` of the worker's own modules. isolated-vm has no
// dynamic import, so a module that uses it is rewritten (its `import(x)` calls `dynamicImport`) and every module it
// names by a literal path is linked and evaluated by the bootstrap after the entry, then registered for lookup.
import ivm from 'isolated-vm';
import { init as initLexer, parse as lexModule } from 'es-module-lexer';
import { posix } from 'node:path';
import { EdgeError } from '../core/errors.ts';
import { CLOUDFLARE_WORKERS_EXPORTS, cloudflareExportRefusal, cloudflareModuleRefusal } from '../core/cloudflare-modules.ts';
import type { ImportableModules } from './script-form.ts';
import type { VersionModule } from './worker-types.ts';

await initLexer;

/** The specifier of the module behind rewritten `import()` calls. */
export const DYNAMIC_IMPORT_SPECIFIER = 'edge:dynamic-import';
const CLOUDFLARE_WORKERS = 'cloudflare:workers';

/**
 * `cloudflare:workers`: `env` is the object handlers get (the env module, evaluated first, defined it); the classes
 * come from the prelude through the host object the bootstrap takes away once everything is evaluated.
 */
const CLOUDFLARE_WORKERS_SOURCE =
  `const m = globalThis.__edgeHost.cloudflareWorkers;\n` +
  `export const env = globalThis.__edgeEnv;\n` +
  `export const WorkerEntrypoint = m.WorkerEntrypoint, DurableObject = m.DurableObject, RpcTarget = m.RpcTarget;\n`;

/** The runtime pieces nodejs_compat's polyfills import (host/deploy/node-compat; the prelude's index.js makes them). */
export const NODE_COMPAT_SPECIFIER = 'edge:node-compat';
const NODE_COMPAT_EXPORTS = ['AsyncLocalStorage', 'AsyncResource', 'inspect', 'zlib'] as const;
const NODE_COMPAT_SOURCE = `const m = globalThis.__edgeHost.nodeCompat;\nexport const ${NODE_COMPAT_EXPORTS.map((n) => `${n} = m.${n}`).join(', ')};\n`;

/** The modules above a worker's main module may import and keep its script form (script-form.ts), with their exports. */
export const SCRIPT_IMPORTABLE: ImportableModules = new Map([
  [CLOUDFLARE_WORKERS, CLOUDFLARE_WORKERS_EXPORTS],
  [NODE_COMPAT_SPECIFIER, NODE_COMPAT_EXPORTS],
]);

/** Resolves `import(specifier)` from module `from` against the modules the bootstrap registered. */
const DYNAMIC_IMPORT_SOURCE = `
let table = null;
const waiting = [];
export function register(modules) {
  table = modules;
  for (const settle of waiting.splice(0)) settle();
}
function resolve(from, specifier) {
  const parts = specifier.startsWith('/') ? [] : from.split('/').slice(0, -1);
  for (const seg of specifier.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return parts.join('/');
}
function lookup(from, specifier) {
  if (!specifier.startsWith('./') && !specifier.startsWith('../') && !specifier.startsWith('/')) {
    throw new TypeError('import("' + specifier + '") in ' + from + ': only the worker\\'s own modules (relative paths) can be imported dynamically');
  }
  const path = resolve(from, specifier);
  const ns = table[path];
  if (ns === undefined) throw new TypeError('import("' + specifier + '") in ' + from + ': no module ' + path + ' was loaded; import() reaches the uploaded modules that some import() names by a literal path');
  return ns;
}
export function dynamicImport(from, specifier) {
  const spec = String(specifier);
  if (table !== null) return new Promise((resolve) => resolve(lookup(from, spec)));
  return new Promise((resolve, reject) => waiting.push(() => {
    try { resolve(lookup(from, spec)); } catch (err) { reject(err); }
  }));
}
`;

/** A version's modules with their dynamic imports rewritten, and the modules those name (targets, in upload order). */
export interface DynamicImports {
  /** Rewritten sources by path (only modules that use `import()`). */
  sources: Map<string, string>;
  /** Paths of uploaded modules named by a literal `import()`. */
  targets: string[];
}

const NO_DYNAMIC_IMPORTS: DynamicImports = { sources: new Map(), targets: [] };
const dynamicByVersion = new WeakMap<readonly VersionModule[], DynamicImports>();
const MAYBE_DYNAMIC = /\bimport\s*\(/;

/** Rewrites the dynamic imports of a version's modules (once per version in this process). */
export function dynamicImportsOf(modules: readonly VersionModule[]): DynamicImports {
  let found = dynamicByVersion.get(modules);
  if (found) return found;
  found = NO_DYNAMIC_IMPORTS;
  const uploaded = new Set(modules.map((m) => m.path));
  for (const m of modules) {
    if (!MAYBE_DYNAMIC.test(m.source)) continue;
    let imports;
    try {
      [imports] = lexModule(m.source, m.path);
    } catch {
      continue; // Not valid JS: compiling it reports the error with its position.
    }
    const calls = imports.filter((i) => i.t === 2);
    if (calls.length === 0) continue;
    if (found === NO_DYNAMIC_IMPORTS) found = { sources: new Map(), targets: [] };
    // `import (` becomes `__edgeDynamicImport("<this module>", `; the import of that function goes on a line of its own
    // at the end (import declarations are hoisted), so that positions move only on lines with a dynamic import.
    let out = '';
    let at = 0;
    for (const call of calls) {
      out += m.source.slice(at, call.ss) + `__edgeDynamicImport(${JSON.stringify(m.path)}, `;
      at = call.s;
      const spec = call.n;
      if (spec !== undefined && (spec.startsWith('./') || spec.startsWith('../') || spec.startsWith('/'))) {
        const path = spec.startsWith('/') ? posix.normalize(spec.slice(1)) : posix.join(posix.dirname(m.path), spec);
        if (uploaded.has(path) && !found.targets.includes(path)) found.targets.push(path);
      }
    }
    out += m.source.slice(at);
    found.sources.set(m.path, `${out}\nimport { dynamicImport as __edgeDynamicImport } from ${JSON.stringify(DYNAMIC_IMPORT_SPECIFIER)};\n`);
  }
  dynamicByVersion.set(modules, found);
  return found;
}

/** Whether a worker's code imports `cloudflare:workers` (its `env` must then exist before the worker's modules run). */
export function usesCloudflareWorkers(modules: readonly VersionModule[]): boolean {
  return modules.some((m) => m.source.includes(CLOUDFLARE_WORKERS));
}

/**
 * The bootstrap's extra lines for dynamic imports: imports of the targets after the entry's, and the registration
 * of every module they may reach (the entry included).
 */
export function dynamicImportBootstrap(dynamic: DynamicImports, main: string): { imports: string; body: string } {
  if (dynamic.sources.size === 0) return { imports: '', body: '' };
  const targets = dynamic.targets.filter((t) => t !== main);
  const imports =
    targets.map((t, i) => `import * as __edgeDynamic${i} from ${JSON.stringify(`./${t}`)};\n`).join('') +
    `import { register as __edgeRegisterDynamic } from ${JSON.stringify(DYNAMIC_IMPORT_SPECIFIER)};\n`;
  const table = [`${JSON.stringify(main)}: entry`, ...targets.map((t, i) => `${JSON.stringify(t)}: __edgeDynamic${i}`)];
  return { imports, body: `__edgeRegisterDynamic(Object.freeze({ ${table.join(', ')} }));\n` };
}

/**
 * The module a worker's non-relative specifier names, compiled in `isolate` (once per evaluation: `cache`), or null
 * when it is none of these (the caller reports it). A `cloudflare:*` module this runtime lacks is refused by name.
 */
export function guestModule(isolate: ivm.Isolate, worker: string, specifier: string, from: string, cache: Map<string, ivm.Module>): ivm.Module | null {
  const cached = cache.get(specifier);
  if (cached) return cached;
  let source: string;
  if (specifier === CLOUDFLARE_WORKERS) source = CLOUDFLARE_WORKERS_SOURCE;
  else if (specifier === DYNAMIC_IMPORT_SPECIFIER) source = DYNAMIC_IMPORT_SOURCE;
  else if (specifier === NODE_COMPAT_SPECIFIER) source = NODE_COMPAT_SOURCE;
  else if (specifier.startsWith('cloudflare:')) {
    throw new EdgeError('E_BINDING_UNSUPPORTED', `${from}: cannot import "${specifier}": ${cloudflareModuleRefusal(specifier)}.`, { details: { module: from, specifier } });
  } else return null;
  const module = isolate.compileModuleSync(source, { filename: `worker://${worker}/${specifier}` });
  cache.set(specifier, module);
  return module;
}

/** A link error that names a `cloudflare:workers` export this runtime lacks (WorkflowEntrypoint), as a refusal; else null. */
export function explainLinkError(text: string, main: string): EdgeError | null {
  const m = /module '(cloudflare:workers)' does not provide an export named '([^']+)'/.exec(text);
  if (!m) return null;
  return new EdgeError('E_BINDING_UNSUPPORTED', `${main}: cannot import { ${m[2]} } from "cloudflare:workers": ${cloudflareExportRefusal(m[2]!)}.`, { details: { module: main, specifier: m[1], export: m[2] } });
}
