// The deploy manifest as every layer sees it: what a worker is (its code, limits, routes, triggers) and what it is
// granted (one BindingGrant per binding, whatever section of wrangler.toml wrote it). The wrangler parser
// (host/deploy/manifest.ts) produces it; capabilities read their own grants from it by type.
import type { EdgeError } from './errors.ts';
import type { AssetsConfig } from './assets.ts';

export interface RoutePattern {
  pattern: string;
  zoneName?: string;
  customDomain?: boolean;
}

export interface WorkerLimits {
  cpuMs: number;
  wallMs: number;
  memoryMb: number;
  subrequests: number;
  /** WebAssembly fuel per request (deterministic instruction budget); absent: not metered, the CPU limit applies. */
  fuel?: number;
}

/** How the worker's source becomes what the host runs. */
export interface BuildSettings {
  /** `js`: ES modules as uploaded; `assemblyscript`: `main` is an AssemblyScript entry that `edge build` compiles into a component. */
  language: 'js' | 'assemblyscript';
  /** asc -O3 (slower builds). */
  optimize: boolean;
}

/**
 * One binding of the worker to a capability: `env.<binding>` for a JS worker, `X.open("<binding>")` for a component.
 * Built-in capabilities are granted by their wrangler section (`kv_namespaces = [...]` gives grants of type "kv"),
 * user capabilities by `[[bindings]] type = "..."`.
 */
export interface BindingGrant {
  /** The capability's name: "kv", "r2", "service", or a user capability's ("geo"). */
  type: string;
  binding: string;
  /** The capability's own settings for this binding (`{ id }` for KV, `{ bucketName }` for R2, ...). */
  settings: Record<string, unknown>;
  /** The section that granted it: `bindings` (`[[bindings]]`, user capabilities) or a built-in's (`kv_namespaces`). */
  section: string;
  /** Where it was written, for errors: `bindings[0]`, `kv_namespaces[1]`. */
  key: string;
}

/** wrangler's bundling keys: how `edge deploy`/`edge dev` turn `main` and its imports into uploaded ES modules. */
export interface BundleSettings {
  /** `no_bundle = true`: upload the modules as they are (no esbuild), wrangler's meaning. */
  enabled: boolean;
  minify: boolean;
  /** esbuild `define`: identifier -> JS expression text. */
  define: Record<string, string>;
  /** esbuild `alias`: module specifier -> replacement specifier or path. */
  alias: Record<string, string>;
  /** wrangler's `tsconfig`: the tsconfig.json esbuild reads, relative to the worker directory. */
  tsconfig?: string;
  /** wrangler's `jsx_factory` / `jsx_fragment`. */
  jsxFactory?: string;
  jsxFragment?: string;
  /** wrangler's `[[rules]]` as written (set only when given); host/deploy/module-rules.ts adds wrangler's defaults. */
  rules?: ModuleRule[];
}

/** The module types of wrangler's `[[rules]]` that this runtime runs. */
export type ModuleRuleType = 'ESModule' | 'CompiledWasm' | 'Text' | 'Data';
/** A module type whose default export is a value, not code: a WebAssembly.Module, a string or an ArrayBuffer. */
export type ValueModuleType = Exclude<ModuleRuleType, 'ESModule'>;
export const VALUE_MODULE_TYPES: readonly ValueModuleType[] = ['CompiledWasm', 'Text', 'Data'];

/** One of wrangler's module rules: imports whose path matches one of `globs` are modules of `type`. */
export interface ModuleRule {
  type: ModuleRuleType;
  globs: string[];
  /** `true`: later rules of the same type still apply (wrangler's meaning). */
  fallthrough?: boolean;
}

export interface DeployManifest {
  name: string;
  /** The entry module; '' for an assets-only worker (no `main`, only `assets`), which has no code to run. */
  main: string;
  compatibilityDate?: string;
  compatibilityFlags: string[];
  vars: Record<string, unknown>;
  routes: RoutePattern[];
  limits: WorkerLimits;
  build: BuildSettings;
  /** Every binding, from `[[bindings]]` and from the capabilities' own sections, in manifest order. */
  bindings: BindingGrant[];
  /** `[triggers] crons = [...]`: cron expressions (UTC) that run the worker's scheduled handler. */
  crons: string[];
  bundle: BundleSettings;
  /** `assets = { directory, ... }`: static assets served with the worker (or, without `main`, instead of one). */
  assets?: AssetsConfig;
  /** Durable Object classes with SQLite storage (`[[migrations]] new_sqlite_classes`, after renames and deletions). */
  sqliteClasses?: string[];
  /** Every Durable Object class it declares (`[[migrations]]` new_classes and new_sqlite_classes, after renames and deletions). */
  durableClasses?: string[];
}

/** A worker's name: it becomes the host name <name>.localhost. */
export const WORKER_NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Grants written in `[[bindings]]`: those of user capabilities. */
export function userGrants(manifest: DeployManifest): BindingGrant[] {
  return manifest.bindings.filter((b) => b.section === 'bindings');
}

/** The grants of capability `type` in `manifest`, in manifest order. */
export function grantsOfType(manifest: DeployManifest, type: string): BindingGrant[] {
  return manifest.bindings.filter((b) => b.type === type);
}

/**
 * A wrangler section that grants a capability (`kv_namespaces`), owned by the capability's folder: it turns the
 * section's value into grants, using the parser's helpers for errors that name the file and key.
 */
export interface ManifestSection {
  /** The top-level key: `kv_namespaces`. */
  key: string;
  /** Parses the section's value (never undefined) into grants of the capability (`type` and `section` are filled in by the parser). */
  parse(value: unknown, ctx: SectionContext): Array<Omit<BindingGrant, 'type' | 'section'>>;
}

/** What the wrangler parser lends a section parser. */
export interface SectionContext {
  /** The manifest file's name, for messages. */
  readonly file: string;
  readonly format: 'toml' | 'json';
  /** The items of an array-of-tables section (`[{ binding, id }]`), each checked against `keys`. */
  entries(section: string, value: unknown, keys: readonly string[], example: string): Array<{ key: string; item: Record<string, unknown> }>;
  /** A binding name at `<key>.binding`: a JavaScript identifier, used once across the whole manifest. */
  bindingName(key: string, value: unknown, example: string): string;
  /** "`key` must be <what>, found <value>". */
  expected(key: string, what: string, found: unknown): EdgeError;
  /** A message about `key`. */
  invalid(key: string, message: string): EdgeError;
  /** `key` asks for something this runtime does not support (E_BINDING_UNSUPPORTED). */
  unsupported(key: string, message: string): EdgeError;
}
