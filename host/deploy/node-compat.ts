// Node.js built-in modules in a worker's bundle (nodejs_compat), as Workers has them: which ones a worker may import,
// what each resolves to, and the refusals at deploy. The polyfills are bundled into the worker that imports them, never
// loaded into every isolate: unenv's runtime modules where unenv implements the module (buffer, path, url, timers,
// querystring, util with two additions), the Node ports that unenv's users reach for where unenv only mocks it
// (events, readable-stream, string_decoder), and ours (node-compat/*.js) where the runtime has to take part
// (AsyncLocalStorage, process.env from the bindings, crypto's hashes and random values, zlib on the host) or unenv's
// falls short (assert, whose deep comparisons unenv does by JSON).
import { builtinModules, createRequire } from 'node:module';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OnResolveArgs, OnResolveResult, PluginBuild } from 'esbuild';
import { NODE_COMPAT_FLAG_HINT, nodeCompatMode, populatesProcessEnv, type NodeCompatMode } from '../core/node-compat.ts';
import type { DeployManifest } from './manifest.ts';

/** Where our own polyfills are (and what esbuild resolves the packages from: the host's node_modules). */
export const NODE_COMPAT_DIR = fileURLToPath(new URL('./node-compat/', import.meta.url));
/** The file esbuild injects into nodejs_compat bundles: the Buffer, process and global globals. */
export const NODE_COMPAT_GLOBALS = `${NODE_COMPAT_DIR}globals.js`;
/** What the runtime links for the polyfills (host/runtime/guest-modules.ts, NODE_COMPAT_SPECIFIER). */
const RUNTIME_SPECIFIER = 'edge:node-compat';
/** A virtual module with the settings the bundle was made with (process.js reads it). */
const CONFIG_SPECIFIER = 'edge:node-compat-config';

const NODE_BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith('_')));

/** How a built-in is provided: a package or file that esbuild resolves from NODE_COMPAT_DIR, and whether it is ESM. */
interface Provider {
  target: string;
  esm: boolean;
}
const unenv = (name: string): Provider => ({ target: `unenv/node/${name}`, esm: true });
const own = (file: string): Provider => ({ target: `./${file}`, esm: true });
const cjs = (target: string): Provider => ({ target, esm: false });

/** The Node.js modules nodejs_compat gives a worker here, by name without `node:`. */
const PROVIDED: Record<string, Provider> = {
  assert: own('assert.js'),
  'assert/strict': own('assert-strict.js'),
  async_hooks: own('async_hooks.js'),
  buffer: unenv('buffer'),
  crypto: own('crypto.js'),
  events: cjs('events/'),
  path: unenv('path'),
  'path/posix': unenv('path/posix'),
  process: own('process.js'),
  querystring: unenv('querystring'),
  stream: cjs('readable-stream'),
  'stream/promises': cjs('readable-stream/lib/stream/promises.js'),
  'stream/web': unenv('stream/web'),
  string_decoder: cjs('string_decoder/'),
  timers: unenv('timers'),
  'timers/promises': unenv('timers/promises'),
  url: unenv('url'),
  util: own('util.js'),
  'util/types': unenv('util/types'),
  zlib: own('zlib.js'),
};

/** What a worker with only `nodejs_als` may import. */
const ALS_ONLY = new Set(['async_hooks']);

/** The Node.js modules nodejs_compat provides on this runtime (for messages and the README). */
export const NODE_COMPAT_MODULES: readonly string[] = Object.keys(PROVIDED);

/** Node.js built-ins that the bundle refused, by the specifier the worker wrote. */
export interface NodeModuleRefusals {
  /** Imported without the compatibility flag that provides them. */
  needFlag: Set<string>;
  /** Not provided by this runtime, whatever the flags. */
  unsupported: Set<string>;
}

/** The settings of one bundle: decides how every Node.js built-in a module imports resolves. */
export class NodeBuiltins {
  readonly mode: NodeCompatMode;
  readonly refused: NodeModuleRefusals = { needFlag: new Set(), unsupported: new Set() };
  private readonly populateEnv: boolean;
  private readonly guard = Symbol('edge-node-compat');

  constructor(manifest: DeployManifest) {
    this.mode = nodeCompatMode(manifest);
    this.populateEnv = populatesProcessEnv(manifest);
  }

  /** Whether `specifier` names a Node.js built-in (`node:x`, or a bare name that Node resolves to one). */
  static isBuiltin(specifier: string): boolean {
    return specifier.startsWith('node:') || NODE_BUILTINS.has(specifier);
  }

  /** esbuild's `inject` for this bundle: the globals, with nodejs_compat. */
  inject(): string[] {
    return this.mode === 'full' ? [NODE_COMPAT_GLOBALS] : [];
  }

  /** Registers the virtual modules (the CommonJS face of an ESM polyfill, and the settings). */
  setup(b: PluginBuild): void {
    b.onResolve({ filter: new RegExp(`^${CONFIG_SPECIFIER}$`) }, () => ({ path: CONFIG_SPECIFIER, namespace: 'edge-node-compat' }));
    b.onLoad({ filter: /.*/, namespace: 'edge-node-compat' }, () => ({ contents: `export const populateProcessEnv = ${this.populateEnv};\n`, loader: 'js' }));
    // `require("node:assert")` from CommonJS wants the module's default (a function, for assert and events) with the
    // named exports on it, as Node hands it; esbuild would give the ESM namespace object.
    // Its path is the module's with `.cjs` added, which makes esbuild take it as CommonJS.
    b.onLoad({ filter: /.*/, namespace: 'edge-node-cjs' }, (args) => ({
      contents:
        `const ns = require(${JSON.stringify(args.path.slice(0, -'.cjs'.length))});\n` +
        `const d = ns.default;\n` +
        `if (d === null || (typeof d !== 'object' && typeof d !== 'function')) module.exports = ns;\n` +
        `else { for (const k of Object.keys(ns)) if (k !== 'default' && !(k in d)) { try { d[k] = ns[k]; } catch {} } module.exports = d; }\n`,
      loader: 'js',
      resolveDir: NODE_COMPAT_DIR,
    }));
  }

  /**
   * Resolves a built-in `specifier` (isBuiltin) imported by `args.importer`; undefined lets esbuild resolve it (a bare
   * name that an installed npm package provides, when the runtime does not provide the built-in).
   */
  async resolve(b: PluginBuild, args: OnResolveArgs): Promise<OnResolveResult | undefined> {
    if (args.pluginData === this.guard) return undefined;
    const prefixed = args.path.startsWith('node:');
    const name = prefixed ? args.path.slice(5) : args.path;
    const internal = this.isPolyfill(args.importer);
    const provider = PROVIDED[name] ?? (internal ? unenv(name) : undefined);
    const allowed = internal || (this.mode === 'full' && provider !== undefined) || (this.mode === 'als' && ALS_ONLY.has(name));
    if (allowed && provider !== undefined) return this.provide(b, provider, args);
    if (!prefixed) {
      // `require("punycode")` with the npm package installed: Node would load its built-in, a bundle the package.
      const found = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: this.guard });
      if (found.errors.length === 0 && found.path && found.path.includes(sep)) return { path: found.path };
    }
    const needsFlag = provider !== undefined && this.mode !== 'full';
    (needsFlag ? this.refused.needFlag : this.refused.unsupported).add(args.path);
    return { errors: [{ text: needsFlag ? flagText(args.path) : unsupportedText(args.path, this.mode) }] };
  }

  /** `edge:node-compat` (the runtime's part) is linked by the host, not bundled. */
  resolveRuntime(args: OnResolveArgs): OnResolveResult | undefined {
    if (args.path === RUNTIME_SPECIFIER && this.isPolyfill(args.importer)) return { path: RUNTIME_SPECIFIER, external: true };
    return undefined;
  }

  private isPolyfill(importer: string): boolean {
    return isPolyfillFile(importer);
  }

  private async provide(b: PluginBuild, provider: Provider, args: OnResolveArgs): Promise<OnResolveResult> {
    const found = await b.resolve(provider.target, { kind: 'import-statement', resolveDir: NODE_COMPAT_DIR, pluginData: this.guard });
    if (found.errors.length > 0) return { errors: found.errors };
    if (provider.esm && args.kind === 'require-call') return { path: `${found.path}.cjs`, namespace: 'edge-node-cjs' };
    // unenv's and our files are free of side effects: an import of which nothing is used is dropped.
    return { path: found.path, sideEffects: found.sideEffects };
  }
}

/** The packages the polyfills are made of: a built-in they import resolves even where a worker's import would not. */
const POLYFILL_PACKAGES = ['unenv', 'readable-stream', 'string_decoder', 'events', 'safe-buffer', 'buffer', 'process', 'abort-controller', 'event-target-shim', '@noble/hashes', 'fflate', 'pathe'];
/** The host's node_modules (where unenv is), not a worker's: a worker's own copy of `events` is the worker's code. */
const HOST_MODULES = createRequire(import.meta.url).resolve('unenv/package.json').slice(0, -`unenv${sep}package.json`.length);
const POLYFILL_PATHS = POLYFILL_PACKAGES.map((p) => `${HOST_MODULES}${p.split('/').join(sep)}${sep}`);

/** Whether `file` (an absolute path) is one of the polyfills or of the host's packages they are made of. */
export function isPolyfillFile(file: string): boolean {
  return file.startsWith(NODE_COMPAT_DIR) || POLYFILL_PATHS.some((p) => file.startsWith(p));
}

function flagText(specifier: string): string {
  return `Could not resolve "${specifier}": it is a Node.js built-in module, which a worker imports with nodejs_compat: add ${NODE_COMPAT_FLAG_HINT} to the manifest.`;
}

function unsupportedText(specifier: string, mode: NodeCompatMode): string {
  const why = mode === null ? 'the worker runtime has no Node.js APIs by default, and nodejs_compat does not provide it either' : 'nodejs_compat does not provide it on this runtime';
  return `Could not resolve "${specifier}": it is a Node.js built-in module and ${why} (it provides ${NODE_COMPAT_MODULES.join(', ')}). Use the Web APIs a worker has (fetch, crypto.subtle, streams, ...), an npm package that runs in browsers or Workers, or map it with [alias] in the manifest.`;
}

/** One line naming every refused built-in, for the head of the bundle error; '' when none was. */
export function refusalSummary(main: string, refused: NodeModuleRefusals): string {
  const lines: string[] = [];
  if (refused.unsupported.size > 0) {
    lines.push(`${main} imports Node.js modules this runtime does not provide: ${[...refused.unsupported].join(', ')} (nodejs_compat provides ${NODE_COMPAT_MODULES.join(', ')}).`);
  }
  if (refused.needFlag.size > 0) {
    lines.push(`${main} imports Node.js modules without nodejs_compat: ${[...refused.needFlag].join(', ')}; add ${NODE_COMPAT_FLAG_HINT} to the manifest.`);
  }
  return lines.join('\n');
}
