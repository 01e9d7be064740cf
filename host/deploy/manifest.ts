// The deploy manifest: reads wrangler.toml / wrangler.json / wrangler.jsonc into a validated DeployManifest,
// with errors that name the file, the key, what was expected and what was found.

import { readFile, stat } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import { parse as parseToml, TomlDate, TomlError } from 'smol-toml';
import { parseTree, printParseErrorCode, type Node as JsonNode, type ParseError as JsonParseError } from 'jsonc-parser';
import { Cron } from 'croner';
import { EdgeError } from '../core/errors.ts';

export interface RoutePattern { pattern: string; zoneName?: string; customDomain?: boolean }
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
 * A grant of a capability the host was configured with (edge.config.ts), from `[[bindings]]`:
 * `type` names the capability, `binding` the name the worker uses, anything else is the capability's own settings.
 */
export interface BindingGrant {
  type: string;
  binding: string;
  settings: Record<string, unknown>;
  /** Where it was written, for errors: `bindings[0]`. */
  key: string;
}
/** A service binding: `env.<binding>` is a Fetcher that calls worker `service` in-process. */
export interface ServiceBinding {
  binding: string;
  service: string;
  /** A named entrypoint of the target (wrangler's `entrypoint`); only the default is supported. */
  entrypoint?: string;
}
/** `kv_namespaces = [{ binding, id }]`: `env.<binding>` is the KV namespace `id` of this host. */
export interface KvNamespaceBinding {
  binding: string;
  id: string;
}
/** `r2_buckets = [{ binding, bucket_name }]`: `env.<binding>` is the bucket `bucketName` of this host. */
export interface R2BucketBinding {
  binding: string;
  bucketName: string;
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
}
export interface DeployManifest {
  name: string;
  main: string;
  compatibilityDate?: string;
  compatibilityFlags: string[];
  vars: Record<string, unknown>;
  routes: RoutePattern[];
  limits: WorkerLimits;
  build: BuildSettings;
  bindings: BindingGrant[];
  /** `services = [{ binding, service }]`. */
  services: ServiceBinding[];
  kvNamespaces: KvNamespaceBinding[];
  r2Buckets: R2BucketBinding[];
  /** `[triggers] crons = [...]`: cron expressions (UTC) that run the worker's scheduled handler. */
  crons: string[];
  bundle: BundleSettings;
}

export const DEFAULT_LIMITS: WorkerLimits = Object.freeze({ cpuMs: 50, wallMs: 30_000, memoryMb: 128, subrequests: 50 });

export const LIMIT_RANGES: Record<keyof WorkerLimits, { min: number; max: number }> = Object.freeze({
  cpuMs: Object.freeze({ min: 1, max: 30_000 }),
  wallMs: Object.freeze({ min: 10, max: 900_000 }),
  memoryMb: Object.freeze({ min: 8, max: 1024 }),
  subrequests: Object.freeze({ min: 0, max: 1000 }),
  fuel: Object.freeze({ min: 1000, max: Number.MAX_SAFE_INTEGER }),
});

/** Looked for in this order; more than one present is an error, since which one wins would be a guess. */
const MANIFEST_FILES = ['wrangler.toml', 'wrangler.json', 'wrangler.jsonc'] as const;

const SUPPORTED_KEYS = [
  'name', 'main', 'compatibility_date', 'compatibility_flags', 'vars', 'routes', 'route', 'limits', 'build', 'bindings',
  'services', 'triggers', 'no_bundle', 'minify', 'define', 'alias', 'kv_namespaces', 'r2_buckets',
];
/** Wrangler keys that mean nothing on a single local host; accepted so that real wrangler files deploy unchanged. */
const IGNORED_KEYS = ['$schema', 'account_id', 'workers_dev', 'upload_source_maps'];
/**
 * Wrangler sections this runtime does not implement yet. They are rejected (not ignored) because a worker
 * that expects `env.MY_KV` and silently gets `undefined` fails later and far from the cause.
 */
const UNSUPPORTED_KEYS = [
  'd1_databases', 'durable_objects', 'queues', 'analytics_engine_datasets',
  'vectorize', 'ai', 'browser', 'hyperdrive', 'migrations', 'wasm_modules', 'text_blobs', 'data_blobs', 'unsafe',
  'site', 'assets', 'env', 'dev', 'rules', 'tail_consumers', 'placement', 'dispatch_namespaces',
  'mtls_certificates', 'send_email', 'version_metadata', 'pipelines', 'workflows', 'secrets_store_secrets', 'logfwdr',
  'containers', 'images', 'observability', 'logpush', 'usage_model', 'node_compat', 'keep_vars',
  'find_additional_modules', 'base_dir', 'preserve_file_names', 'tsconfig', 'jsx_factory',
  'jsx_fragment', 'legacy_env', 'send_metrics', 'preview_urls',
];
const BINDING_KEYS = new Set([
  'kv_namespaces', 'r2_buckets', 'd1_databases', 'durable_objects', 'services', 'queues', 'analytics_engine_datasets',
  'vectorize', 'ai', 'browser', 'hyperdrive', 'wasm_modules', 'text_blobs', 'data_blobs', 'dispatch_namespaces',
  'mtls_certificates', 'send_email', 'version_metadata', 'pipelines', 'workflows', 'secrets_store_secrets', 'images',
  'containers', 'tail_consumers', 'logfwdr',
]);

const LIMIT_KEYS: Record<string, { field: keyof WorkerLimits; unit: string }> = {
  cpu_ms: { field: 'cpuMs', unit: 'milliseconds of CPU time per request' },
  wall_ms: { field: 'wallMs', unit: 'milliseconds of wall-clock time per request' },
  memory_mb: { field: 'memoryMb', unit: 'MiB of isolate heap' },
  subrequests: { field: 'subrequests', unit: 'outgoing fetches per request' },
  fuel: { field: 'fuel', unit: 'units of WebAssembly fuel per request, about one per instruction' },
};
const BUILD_KEYS = ['language', 'optimize'];
/** wrangler's custom build keys: a build command is run by the user's own tooling here. */
const UNSUPPORTED_BUILD_KEYS = ['command', 'cwd', 'watch_dir'];
const BINDING_NAME_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const ROUTE_KEYS = ['pattern', 'zone_name', 'zone_id', 'custom_domain'];

const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

type Format = 'toml' | 'json';

/** What a parse gives us before validation: plain JSON-like values (TOML dates kept as TomlDate). */
type Raw = unknown;

interface Ctx { file: string; format: Format }

function invalid(ctx: Ctx, key: string | undefined, message: string, extra: Record<string, unknown> = {}): EdgeError {
  return new EdgeError('E_MANIFEST_INVALID', `${ctx.file}: ${message}`, { details: { file: ctx.file, key, ...extra } });
}

function isTable(v: Raw): v is Record<string, Raw> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof TomlDate);
}

/** A short, user-facing description of a value: "a string (\"abc\")", "an array", "a table". */
function describe(v: Raw, format: Format): string {
  if (v === null) return 'null';
  if (v instanceof TomlDate) return `a TOML date (${v.toISOString()}, not quoted)`;
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return format === 'toml' ? 'a table' : 'an object';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)})`;
  if (typeof v === 'number') return Number.isInteger(v) ? `the integer ${v}` : `the number ${v}`;
  if (typeof v === 'boolean') return `the boolean ${v}`;
  return `a ${typeof v}`;
}

function expected(ctx: Ctx, key: string, what: string, found: Raw): EdgeError {
  return invalid(ctx, key, `\`${key}\` must be ${what}, found ${describe(found, ctx.format)}`);
}

/** Edit distance counting an adjacent swap as one edit ("mian" is one typo from "main"); keys are short, so O(n*m) is fine. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

function closest(key: string, candidates: readonly string[]): string | undefined {
  const norm = key.toLowerCase().replace(/-/g, '_');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(norm, c);
    if (d < bestDistance) { best = c; bestDistance = d; }
  }
  // Roughly one typo per four characters (at least one) counts as likely; so does a truncated key ("cpu" for "cpu_ms").
  if (best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 4))) return best;
  return norm.length >= 3 ? candidates.find((c) => c.startsWith(norm)) : undefined;
}

function unknownKey(ctx: Ctx, path: string, key: string, candidates: readonly string[]): EdgeError {
  const suggestion = closest(key, candidates);
  const full = path ? `${path}.${key}` : key;
  const hint = suggestion ? ` (did you mean \`${path ? `${path}.${suggestion}` : suggestion}\`?)` : '';
  const known = ` Known keys${path ? ` in \`${path}\`` : ''}: ${candidates.filter((c) => !c.startsWith('$')).join(', ')}.`;
  return invalid(ctx, full, `unknown key \`${full}\` in ${ctx.file}${hint}.${known}`);
}

function unsupported(ctx: Ctx, key: string): EdgeError {
  const what = BINDING_KEYS.has(key) ? 'binding section' : 'section';
  return new EdgeError(
    'E_BINDING_UNSUPPORTED',
    `${ctx.file}: the \`${key}\` ${what} is not supported yet by this runtime; remove \`${key}\` from ${ctx.file} to deploy without it`,
    { details: { file: ctx.file, key } },
  );
}

// ---------------------------------------------------------------------------------------------------------
// Parsing

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) { line++; lineStart = i + 1; }
  }
  return { line, column: offset - lineStart + 1 };
}

function parseTomlText(text: string, ctx: Ctx): Raw {
  try {
    return parseToml(text);
  } catch (e) {
    if (e instanceof TomlError) {
      const reason = (e.message.split('\n')[0] ?? e.message).replace(/^Invalid TOML document:\s*/, '');
      throw new EdgeError('E_MANIFEST_INVALID', `${ctx.file}:${e.line}:${e.column}: invalid TOML: ${reason}\n${e.codeblock.trimEnd()}`, {
        details: { file: ctx.file, key: undefined, line: e.line, column: e.column },
        cause: e,
      });
    }
    throw e;
  }
}

/** Builds the value from jsonc-parser's tree so that a duplicated key is an error, not a silent overwrite. */
function jsonValue(node: JsonNode, text: string, ctx: Ctx, path: string): Raw {
  switch (node.type) {
    case 'object': {
      const out: Record<string, Raw> = {};
      for (const prop of node.children ?? []) {
        const [keyNode, valueNode] = prop.children ?? [];
        if (!keyNode || !valueNode) continue;
        const key = String(keyNode.value);
        const full = path ? `${path}.${key}` : key;
        if (Object.hasOwn(out, key)) {
          const { line, column } = lineColumn(text, keyNode.offset);
          throw new EdgeError('E_MANIFEST_INVALID', `${ctx.file}:${line}:${column}: duplicate key \`${full}\``, {
            details: { file: ctx.file, key: full, line, column },
          });
        }
        Object.defineProperty(out, key, { value: jsonValue(valueNode, text, ctx, full), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    case 'array':
      return (node.children ?? []).map((child, i) => jsonValue(child, text, ctx, `${path}[${i}]`));
    default:
      return node.value as Raw;
  }
}

function parseJsonText(text: string, ctx: Ctx): Raw {
  const errors: JsonParseError[] = [];
  // Wrangler reads wrangler.json as JSONC too, so comments and trailing commas are fine in both.
  const tree = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: false });
  const first = errors[0];
  if (first || !tree) {
    const offset = first?.offset ?? text.length;
    const { line, column } = lineColumn(text, offset);
    const reason = first ? printParseErrorCode(first.error) : 'ValueExpected';
    throw new EdgeError('E_MANIFEST_INVALID', `${ctx.file}:${line}:${column}: invalid JSON: ${reason}`, {
      details: { file: ctx.file, key: undefined, line, column },
    });
  }
  return jsonValue(tree, text, ctx, '');
}

// ---------------------------------------------------------------------------------------------------------
// Validation

function validateName(v: Raw, ctx: Ctx): string {
  if (v === undefined) {
    throw invalid(ctx, 'name', `\`name\` is missing: set it to the worker's name, e.g. ${ctx.format === 'toml' ? 'name = "my-worker"' : '"name": "my-worker"'}`);
  }
  if (typeof v !== 'string') throw expected(ctx, 'name', 'a string', v);
  if (!NAME_RE.test(v)) {
    const fixed = v.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
    const hint = fixed && NAME_RE.test(fixed) && fixed !== v ? ` (for example \`${fixed}\`)` : '';
    throw invalid(
      ctx, 'name',
      `\`name\` must be 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-', because it becomes the host name <name>.localhost; found ${describe(v, ctx.format)}${hint}`,
    );
  }
  return v;
}

function validateMain(v: Raw, ctx: Ctx): string {
  if (v === undefined) {
    throw invalid(ctx, 'main', `\`main\` is missing: set it to the entry module, e.g. ${ctx.format === 'toml' ? 'main = "src/index.js"' : '"main": "src/index.js"'}`);
  }
  if (typeof v !== 'string') throw expected(ctx, 'main', 'a string (the path of the entry module)', v);
  if (v.trim() === '') throw expected(ctx, 'main', 'a non-empty path to the entry module', v);
  if (v.includes('\\')) throw invalid(ctx, 'main', `\`main\` must use '/' as the path separator, found ${describe(v, ctx.format)}`);
  if (v.startsWith('/') || /^[a-zA-Z]:/.test(v)) {
    throw invalid(ctx, 'main', `\`main\` must be a path relative to the worker's directory, found the absolute path ${JSON.stringify(v)}`);
  }
  const normalized = posix.normalize(v);
  if (normalized === '..' || normalized.startsWith('../') || normalized === '.' || normalized.endsWith('/')) {
    throw invalid(ctx, 'main', `\`main\` must name a file inside the worker's directory, found ${JSON.stringify(v)}`);
  }
  return normalized;
}

function validateDate(v: Raw, ctx: Ctx): string | undefined {
  if (v === undefined) return undefined;
  // An unquoted TOML date is what people naturally write; accept it as the string it denotes.
  const s = v instanceof TomlDate && v.isDate() ? v.toISOString() : v;
  if (typeof s !== 'string') throw expected(ctx, 'compatibility_date', 'a date written YYYY-MM-DD', v);
  const m = DATE_RE.exec(s);
  const valid = m !== null && (() => {
    const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
  })();
  if (!valid) throw expected(ctx, 'compatibility_date', 'a valid date written YYYY-MM-DD', v);
  return s;
}

function validateFlags(v: Raw, ctx: Ctx): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw expected(ctx, 'compatibility_flags', 'an array of strings', v);
  return v.map((flag, i) => {
    const key = `compatibility_flags[${i}]`;
    if (typeof flag !== 'string' || !/^[A-Za-z0-9_-]+$/.test(flag)) throw expected(ctx, key, 'a flag name such as "nodejs_compat"', flag);
    return flag;
  });
}

/** Copies a vars value into plain JSON, rejecting what JSON cannot carry. */
function jsonVar(v: Raw, ctx: Ctx, key: string): unknown {
  if (v instanceof TomlDate) return v.toISOString();
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw expected(ctx, key, 'a finite number (JSON has no inf or nan)', v);
    return v;
  }
  if (Array.isArray(v)) return v.map((item, i) => jsonVar(item, ctx, `${key}[${i}]`));
  if (isTable(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(v)) {
      Object.defineProperty(out, k, { value: jsonVar(item, ctx, `${key}.${k}`), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  throw expected(ctx, key, 'a string, number, boolean or JSON value', v);
}

function validateVars(v: Raw, ctx: Ctx): Record<string, unknown> {
  if (v === undefined) return {};
  if (!isTable(v)) throw expected(ctx, 'vars', ctx.format === 'toml' ? 'a table ([vars])' : 'an object', v);
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(v)) {
    if (name === '') throw invalid(ctx, 'vars', '`vars` has an empty variable name');
    Object.defineProperty(out, name, { value: jsonVar(value, ctx, `vars.${name}`), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function validatePattern(v: Raw, ctx: Ctx, key: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw expected(ctx, key, 'a route pattern such as "example.com/api/*"', v);
  if (/\s/.test(v)) throw invalid(ctx, key, `\`${key}\` must not contain whitespace, found ${JSON.stringify(v)}`);
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(v);
  if (scheme && !/^https?$/i.test(scheme[1]!)) throw invalid(ctx, key, `\`${key}\` may only use http:// or https://, found ${JSON.stringify(v)}`);
  const rest = scheme ? v.slice(scheme[0].length) : v;
  if (rest.startsWith('/') || rest === '') throw invalid(ctx, key, `\`${key}\` must start with a host name (e.g. "example.com/*"), found ${JSON.stringify(v)}`);
  return v;
}

function validateRoute(v: Raw, ctx: Ctx, key: string): RoutePattern {
  if (typeof v === 'string') return { pattern: validatePattern(v, ctx, key) };
  if (!isTable(v)) throw expected(ctx, key, 'a route pattern string or { pattern, zone_name, custom_domain }', v);
  for (const k of Object.keys(v)) if (!ROUTE_KEYS.includes(k)) throw unknownKey(ctx, key, k, ROUTE_KEYS);
  if (v['pattern'] === undefined) throw invalid(ctx, `${key}.pattern`, `\`${key}.pattern\` is missing`);
  const route: RoutePattern = { pattern: validatePattern(v['pattern'], ctx, `${key}.pattern`) };
  const zoneName = v['zone_name'];
  if (zoneName !== undefined) {
    if (typeof zoneName !== 'string' || zoneName === '') throw expected(ctx, `${key}.zone_name`, 'a non-empty string', zoneName);
    route.zoneName = zoneName;
  }
  // zone_id identifies a Cloudflare zone; it has no meaning here, so it is accepted and dropped like account_id.
  if (v['zone_id'] !== undefined && typeof v['zone_id'] !== 'string') throw expected(ctx, `${key}.zone_id`, 'a string', v['zone_id']);
  const custom = v['custom_domain'];
  if (custom !== undefined) {
    if (typeof custom !== 'boolean') throw expected(ctx, `${key}.custom_domain`, 'a boolean', custom);
    if (custom) {
      const host = route.pattern.replace(/^https?:\/\//i, '');
      if (host.includes('*') || host.includes('/')) {
        throw invalid(ctx, `${key}.pattern`, `\`${key}.pattern\` is a custom domain, so it must be a bare host name without '*' or a path, found ${JSON.stringify(route.pattern)}`);
      }
      route.customDomain = true;
    }
  }
  return route;
}

function validateRoutes(raw: Record<string, Raw>, ctx: Ctx): RoutePattern[] {
  const route = raw['route'];
  const routes = raw['routes'];
  if (route !== undefined && routes !== undefined) {
    throw invalid(ctx, 'route', 'both `route` and `routes` are set; use only `routes`');
  }
  if (route !== undefined) return [validateRoute(route, ctx, 'route')];
  if (routes === undefined) return [];
  if (!Array.isArray(routes)) throw expected(ctx, 'routes', 'an array of route patterns', routes);
  return routes.map((r, i) => validateRoute(r, ctx, `routes[${i}]`));
}

function validateLimits(v: Raw, ctx: Ctx): WorkerLimits {
  const limits: WorkerLimits = { ...DEFAULT_LIMITS };
  if (v === undefined) return limits;
  if (!isTable(v)) throw expected(ctx, 'limits', ctx.format === 'toml' ? 'a table ([limits])' : 'an object', v);
  for (const [k, value] of Object.entries(v)) {
    const spec = LIMIT_KEYS[k];
    if (!spec) throw unknownKey(ctx, 'limits', k, Object.keys(LIMIT_KEYS));
    const key = `limits.${k}`;
    const { min, max } = LIMIT_RANGES[spec.field];
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw expected(ctx, key, `an integer between ${min} and ${max} (${spec.unit})`, value);
    }
    if (value < min || value > max) {
      throw invalid(ctx, key, `\`${key}\` must be between ${min} and ${max} (${spec.unit}), found ${value}`, { min, max });
    }
    limits[spec.field] = value;
  }
  return limits;
}

function validateBuild(v: Raw, ctx: Ctx, main: string): BuildSettings {
  const build: BuildSettings = { language: 'js', optimize: false };
  if (v === undefined) return build;
  if (!isTable(v)) throw expected(ctx, 'build', ctx.format === 'toml' ? 'a table ([build])' : 'an object', v);
  for (const [k, value] of Object.entries(v)) {
    if (UNSUPPORTED_BUILD_KEYS.includes(k)) {
      throw new EdgeError('E_BINDING_UNSUPPORTED', `${ctx.file}: \`build.${k}\` (a custom build command) is not supported; build with your own tooling and point \`main\` at the output, or set \`build.language = "assemblyscript"\``, {
        details: { file: ctx.file, key: `build.${k}` },
      });
    }
    if (!BUILD_KEYS.includes(k)) throw unknownKey(ctx, 'build', k, BUILD_KEYS);
    if (k === 'language') {
      if (value !== 'js' && value !== 'assemblyscript') throw expected(ctx, 'build.language', '"js" or "assemblyscript"', value);
      build.language = value;
    } else {
      if (typeof value !== 'boolean') throw expected(ctx, 'build.optimize', 'a boolean', value);
      build.optimize = value;
    }
  }
  if (build.language === 'assemblyscript' && !main.endsWith('.ts')) {
    throw invalid(ctx, 'main', `\`main\` must be the AssemblyScript entry (a .ts file) when \`build.language\` is "assemblyscript", found ${JSON.stringify(main)}`);
  }
  return build;
}

function validateBindings(v: Raw, ctx: Ctx, vars: Record<string, unknown>): BindingGrant[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw expected(ctx, 'bindings', ctx.format === 'toml' ? 'an array of tables ([[bindings]])' : 'an array of objects', v);
  const seen = new Map<string, string>();
  return v.map((item, i) => {
    const key = `bindings[${i}]`;
    if (!isTable(item)) throw expected(ctx, key, 'a table with `type` and `binding`', item);
    const type = item['type'];
    const binding = item['binding'];
    if (type === undefined) throw invalid(ctx, `${key}.type`, `\`${key}.type\` is missing: name the capability (one the host was configured with in edge.config.ts)`);
    if (typeof type !== 'string' || !/^[a-z][a-z0-9-]*$/.test(type)) throw expected(ctx, `${key}.type`, 'a capability name such as "geo"', type);
    if (binding === undefined) throw invalid(ctx, `${key}.binding`, `\`${key}.binding\` is missing: the name the worker uses, e.g. binding = "GEO" for env.GEO`);
    if (typeof binding !== 'string' || !BINDING_NAME_RE.test(binding)) throw expected(ctx, `${key}.binding`, 'a JavaScript identifier such as "GEO"', binding);
    const earlier = seen.get(binding);
    if (earlier) throw invalid(ctx, `${key}.binding`, `binding "${binding}" is declared twice (${earlier} and ${key})`);
    if (Object.hasOwn(vars, binding)) throw invalid(ctx, `${key}.binding`, `binding "${binding}" has the name of a variable in [vars]; env.${binding} can only be one of them`);
    seen.set(binding, key);
    const settings: Record<string, unknown> = {};
    for (const [k, value] of Object.entries(item)) {
      if (k === 'type' || k === 'binding') continue;
      Object.defineProperty(settings, k, { value: jsonVar(value, ctx, `${key}.${k}`), enumerable: true, writable: true, configurable: true });
    }
    return { type, binding, settings, key };
  });
}

const SERVICE_KEYS = ['binding', 'service', 'entrypoint', 'environment'];

function validateServices(v: Raw, ctx: Ctx, taken: Map<string, string>): ServiceBinding[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw expected(ctx, 'services', ctx.format === 'toml' ? 'an array of tables (services = [{ binding = "AUTH", service = "auth-worker" }])' : 'an array of objects', v);
  return v.map((item, i) => {
    const key = `services[${i}]`;
    if (!isTable(item)) throw expected(ctx, key, 'a table with `binding` and `service`', item);
    for (const k of Object.keys(item)) if (!SERVICE_KEYS.includes(k)) throw unknownKey(ctx, key, k, SERVICE_KEYS);
    const binding = item['binding'];
    const service = item['service'];
    if (binding === undefined) throw invalid(ctx, `${key}.binding`, `\`${key}.binding\` is missing: the name the worker uses, e.g. binding = "AUTH" for env.AUTH`);
    if (typeof binding !== 'string' || !BINDING_NAME_RE.test(binding)) throw expected(ctx, `${key}.binding`, 'a JavaScript identifier such as "AUTH"', binding);
    if (service === undefined) throw invalid(ctx, `${key}.service`, `\`${key}.service\` is missing: the name of the worker to call`);
    if (typeof service !== 'string' || !NAME_RE.test(service)) throw expected(ctx, `${key}.service`, 'a worker name (a-z, 0-9 and \'-\')', service);
    if (item['environment'] !== undefined && typeof item['environment'] !== 'string') throw expected(ctx, `${key}.environment`, 'a string', item['environment']);
    const earlier = taken.get(binding);
    if (earlier) throw invalid(ctx, `${key}.binding`, `binding "${binding}" is declared twice (${earlier} and ${key}); env.${binding} can only be one of them`);
    taken.set(binding, key);
    const out: ServiceBinding = { binding, service };
    const entrypoint = item['entrypoint'];
    if (entrypoint !== undefined) {
      if (typeof entrypoint !== 'string' || !BINDING_NAME_RE.test(entrypoint)) throw expected(ctx, `${key}.entrypoint`, 'the name of an exported entrypoint', entrypoint);
      if (entrypoint !== 'default') {
        throw new EdgeError('E_BINDING_UNSUPPORTED', `${ctx.file}: \`${key}.entrypoint\` = ${JSON.stringify(entrypoint)}: named entrypoints (RPC) are not supported yet; bind the worker's default export`, {
          details: { file: ctx.file, key: `${key}.entrypoint` },
        });
      }
      out.entrypoint = entrypoint;
    }
    return out;
  });
}

/** The namespace id / bucket name rules: what wrangler accepts, and safe as a storage name. */
const STORE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const BUCKET_RE = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

function bindingTable(ctx: Ctx, section: string, v: Raw, keys: string[], example: string): Array<{ key: string; item: Record<string, Raw> }> {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw expected(ctx, section, ctx.format === 'toml' ? `an array of tables (${example})` : 'an array of objects', v);
  return v.map((item, i) => {
    const key = `${section}[${i}]`;
    if (!isTable(item)) throw expected(ctx, key, `a table such as ${example}`, item);
    for (const k of Object.keys(item)) if (!keys.includes(k)) throw unknownKey(ctx, key, k, keys);
    return { key, item };
  });
}

function bindingName(ctx: Ctx, key: string, v: Raw, taken: Map<string, string>, example: string): string {
  if (v === undefined) throw invalid(ctx, `${key}.binding`, `\`${key}.binding\` is missing: the name the worker uses, e.g. binding = "${example}" for env.${example}`);
  if (typeof v !== 'string' || !BINDING_NAME_RE.test(v)) throw expected(ctx, `${key}.binding`, `a JavaScript identifier such as "${example}"`, v);
  const earlier = taken.get(v);
  if (earlier) throw invalid(ctx, `${key}.binding`, `binding "${v}" is declared twice (${earlier} and ${key}); env.${v} can only be one of them`);
  taken.set(v, key);
  return v;
}

function validateKvNamespaces(v: Raw, ctx: Ctx, taken: Map<string, string>): KvNamespaceBinding[] {
  return bindingTable(ctx, 'kv_namespaces', v, ['binding', 'id', 'preview_id'], 'kv_namespaces = [{ binding = "MY_KV", id = "my-namespace" }]').map(({ key, item }) => {
    const binding = bindingName(ctx, key, item['binding'], taken, 'MY_KV');
    const id = item['id'];
    if (id === undefined) throw invalid(ctx, `${key}.id`, `\`${key}.id\` is missing: the namespace to bind (any name; namespaces are created on first use on this host)`);
    if (typeof id !== 'string' || !STORE_ID_RE.test(id)) throw expected(ctx, `${key}.id`, 'a namespace id of letters, digits, "_", "." and "-" (at most 63)', id);
    if (item['preview_id'] !== undefined && typeof item['preview_id'] !== 'string') throw expected(ctx, `${key}.preview_id`, 'a string', item['preview_id']);
    return { binding, id };
  });
}

function validateR2Buckets(v: Raw, ctx: Ctx, taken: Map<string, string>): R2BucketBinding[] {
  return bindingTable(ctx, 'r2_buckets', v, ['binding', 'bucket_name', 'preview_bucket_name', 'jurisdiction'], 'r2_buckets = [{ binding = "BUCKET", bucket_name = "my-bucket" }]').map(({ key, item }) => {
    const binding = bindingName(ctx, key, item['binding'], taken, 'BUCKET');
    const name = item['bucket_name'];
    if (name === undefined) throw invalid(ctx, `${key}.bucket_name`, `\`${key}.bucket_name\` is missing: the bucket to bind (created on first use on this host)`);
    if (typeof name !== 'string' || !BUCKET_RE.test(name)) throw expected(ctx, `${key}.bucket_name`, 'a bucket name of 3-63 lower-case letters, digits and "-" (as R2 and S3 require)', name);
    for (const k of ['preview_bucket_name', 'jurisdiction']) if (item[k] !== undefined && typeof item[k] !== 'string') throw expected(ctx, `${key}.${k}`, 'a string', item[k]);
    return { binding, bucketName: name };
  });
}

/** wrangler allows at most this many cron triggers per worker (paid plan). */
const MAX_CRONS = 250;

function validateTriggers(v: Raw, ctx: Ctx): string[] {
  if (v === undefined) return [];
  if (!isTable(v)) throw expected(ctx, 'triggers', ctx.format === 'toml' ? 'a table ([triggers] crons = ["*/5 * * * *"])' : 'an object ({ "crons": ["*/5 * * * *"] })', v);
  for (const k of Object.keys(v)) if (k !== 'crons') throw unknownKey(ctx, 'triggers', k, ['crons']);
  const crons = v['crons'];
  if (crons === undefined) return [];
  if (!Array.isArray(crons)) throw expected(ctx, 'triggers.crons', 'an array of cron expressions such as "*/5 * * * *"', crons);
  if (crons.length > MAX_CRONS) throw invalid(ctx, 'triggers.crons', `\`triggers.crons\` has ${crons.length} entries; at most ${MAX_CRONS} are allowed`);
  const seen = new Set<string>();
  return crons.map((c, i) => {
    const key = `triggers.crons[${i}]`;
    if (typeof c !== 'string') throw expected(ctx, key, 'a cron expression string such as "*/5 * * * *"', c);
    const problem = cronProblem(c);
    if (problem) throw invalid(ctx, key, `\`${key}\` = ${JSON.stringify(c)} is not a valid cron expression: ${problem}`);
    if (seen.has(c)) throw invalid(ctx, key, `\`${key}\` repeats the cron expression ${JSON.stringify(c)}`);
    seen.add(c);
    return c;
  });
}

/** Why `expr` is not a cron expression Workers accepts (5 fields: minute hour day-of-month month day-of-week, UTC), or null. */
export function cronProblem(expr: string): string | null {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return `expected 5 fields (minute hour day-of-month month day-of-week), found ${fields.length}`;
  try {
    new Cron(expr, { paused: true, timezone: 'UTC', legacyMode: true });
    return null;
  } catch (e) {
    return e instanceof Error ? e.message.replace(/^CronPattern: /, '') : String(e);
  }
}

function validateBundle(raw: Record<string, Raw>, ctx: Ctx): BundleSettings {
  const noBundle = raw['no_bundle'];
  if (noBundle !== undefined && typeof noBundle !== 'boolean') throw expected(ctx, 'no_bundle', 'a boolean', noBundle);
  const minify = raw['minify'];
  if (minify !== undefined && typeof minify !== 'boolean') throw expected(ctx, 'minify', 'a boolean', minify);
  const table = (key: 'define' | 'alias', what: string): Record<string, string> => {
    const v = raw[key];
    if (v === undefined) return {};
    if (!isTable(v)) throw expected(ctx, key, ctx.format === 'toml' ? `a table ([${key}])` : 'an object', v);
    const out: Record<string, string> = {};
    for (const [k, value] of Object.entries(v)) {
      if (typeof value !== 'string') throw expected(ctx, `${key}.${k}`, what, value);
      Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  return {
    enabled: noBundle !== true,
    minify: minify === true,
    define: table('define', 'a string holding a JavaScript expression (e.g. "\\"production\\"")'),
    alias: table('alias', 'a module specifier or path string'),
  };
}

/** Parses and validates manifest text. `fileName` is the base name; it decides TOML vs JSON(C) and names the file in errors. */
export function parseManifestText(text: string, fileName: string): DeployManifest {
  const lower = fileName.toLowerCase();
  let format: Format;
  if (lower.endsWith('.toml')) format = 'toml';
  else if (lower.endsWith('.json') || lower.endsWith('.jsonc')) format = 'json';
  else {
    throw new EdgeError('E_MANIFEST_INVALID', `${fileName}: not a manifest file name; expected one of ${MANIFEST_FILES.join(', ')}`, {
      details: { file: fileName, key: undefined },
    });
  }
  const ctx: Ctx = { file: fileName, format };
  const raw = format === 'toml' ? parseTomlText(text, ctx) : parseJsonText(text, ctx);
  if (!isTable(raw)) throw invalid(ctx, undefined, `the top level must be ${format === 'toml' ? 'a table' : 'an object'}, found ${describe(raw, format)}`);

  const knownTop = [...SUPPORTED_KEYS, ...IGNORED_KEYS];
  for (const key of Object.keys(raw)) {
    if (knownTop.includes(key)) continue;
    if (UNSUPPORTED_KEYS.includes(key)) throw unsupported(ctx, key);
    const suggestion = closest(key, [...knownTop, ...UNSUPPORTED_KEYS]);
    if (suggestion && UNSUPPORTED_KEYS.includes(suggestion)) {
      throw invalid(ctx, key, `unknown key \`${key}\` in ${ctx.file} (did you mean \`${suggestion}\`? It is not supported yet by this runtime either).`);
    }
    throw unknownKey(ctx, '', key, knownTop);
  }
  if (raw['workers_dev'] !== undefined && typeof raw['workers_dev'] !== 'boolean') throw expected(ctx, 'workers_dev', 'a boolean', raw['workers_dev']);
  if (raw['account_id'] !== undefined && typeof raw['account_id'] !== 'string') throw expected(ctx, 'account_id', 'a string', raw['account_id']);
  // Source maps are always uploaded with a bundled worker (stack traces in tail point at the source); the key is accepted.
  if (raw['upload_source_maps'] !== undefined && typeof raw['upload_source_maps'] !== 'boolean') throw expected(ctx, 'upload_source_maps', 'a boolean', raw['upload_source_maps']);

  const main = validateMain(raw['main'], ctx);
  const vars = validateVars(raw['vars'], ctx);
  const bindings = validateBindings(raw['bindings'], ctx, vars);
  const taken = new Map<string, string>([...Object.keys(vars).map((k): [string, string] => [k, `vars.${k}`]), ...bindings.map((b): [string, string] => [b.binding, b.key])]);
  const manifest: DeployManifest = {
    name: validateName(raw['name'], ctx),
    main,
    compatibilityFlags: validateFlags(raw['compatibility_flags'], ctx),
    vars,
    routes: validateRoutes(raw, ctx),
    limits: validateLimits(raw['limits'], ctx),
    build: validateBuild(raw['build'], ctx, main),
    bindings,
    services: validateServices(raw['services'], ctx, taken),
    kvNamespaces: validateKvNamespaces(raw['kv_namespaces'], ctx, taken),
    r2Buckets: validateR2Buckets(raw['r2_buckets'], ctx, taken),
    crons: validateTriggers(raw['triggers'], ctx),
    bundle: validateBundle(raw, ctx),
  };
  const date = validateDate(raw['compatibility_date'], ctx);
  if (date !== undefined) manifest.compatibilityDate = date;
  return manifest;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw e;
  }
}

/** Finds the one manifest file in `dir`. */
export async function findManifest(dir: string): Promise<{ fileName: string; path: string; text: string }> {
  const abs = resolve(dir);
  let dirStat;
  try {
    dirStat = await stat(abs);
  } catch {
    dirStat = undefined;
  }
  if (!dirStat?.isDirectory()) {
    throw new EdgeError('E_MANIFEST_NOT_FOUND', `${dir} is not a directory; expected a worker directory holding ${MANIFEST_FILES.join(', ')}`, {
      details: { dir: abs, lookedFor: [...MANIFEST_FILES] },
    });
  }
  const present: string[] = [];
  for (const name of MANIFEST_FILES) if (await isFile(join(abs, name))) present.push(name);
  if (present.length === 0) {
    throw new EdgeError('E_MANIFEST_NOT_FOUND', `no manifest in ${abs}: looked for ${MANIFEST_FILES.join(', ')}`, {
      details: { dir: abs, lookedFor: [...MANIFEST_FILES] },
    });
  }
  if (present.length > 1) {
    throw new EdgeError('E_MANIFEST_INVALID', `${abs} holds both ${present.join(' and ')}; keep only one manifest`, {
      details: { file: present[0], key: undefined, files: present },
    });
  }
  const fileName = present[0]!;
  const path = join(abs, fileName);
  return { fileName, path, text: await readFile(path, 'utf8') };
}

/** Finds, parses and validates the manifest of the worker in `dir`. */
export async function loadManifest(dir: string): Promise<{ manifest: DeployManifest; fileName: string }> {
  const found = await findManifest(dir);
  return { manifest: parseManifestText(found.text, found.fileName), fileName: found.fileName };
}
