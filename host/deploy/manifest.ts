// The wrangler parser: reads wrangler.toml / wrangler.json / wrangler.jsonc into a validated DeployManifest (the model
// in host/core/manifest.ts), with errors that name the file, the key, what was expected and what was found. The
// sections that grant a built-in capability (kv_namespaces, r2_buckets, services) are parsed by that capability's own
// folder (host/bindings/<name>), through the SectionContext this file lends it. Every top-level wrangler key is
// supported, accepted without effect (silently, or with a warning the deploy returns), or refused, all refused keys in
// one error; `--env` applies an `env.<name>` section; a build tool's `.wrangler/deploy/config.json` redirect is followed.

import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { parse as parseToml, TomlDate, TomlError } from 'smol-toml';
import { parseTree, printParseErrorCode, type Node as JsonNode, type ParseError as JsonParseError } from 'jsonc-parser';
import { Cron } from 'croner';
import { EdgeError } from '../core/errors.ts';
import { WORKER_NAME_RE, type BindingGrant, type BuildSettings, type BundleSettings, type DeployManifest, type ModuleRule, type RoutePattern, type SectionContext, type WorkerLimits } from '../core/manifest.ts';
import { DEFAULT_LIMITS, LIMIT_RANGES, MAX_CRONS } from '../core/limits.ts';
import { BUILTIN_SECTIONS } from '../bindings/builtins.ts';
import { parseAssetsSection } from '../bindings/assets/assets-section.ts';
import { declaredClasses, sqliteClasses } from '../bindings/durable/durable-section.ts';
import { parseRules } from './module-rules.ts';

export type { BindingGrant, BuildSettings, BundleSettings, DeployManifest, RoutePattern, WorkerLimits } from '../core/manifest.ts';

/** Looked for in this order; more than one present is an error, since which one wins would be a guess. */
const MANIFEST_FILES = ['wrangler.toml', 'wrangler.json', 'wrangler.jsonc'] as const;

const SUPPORTED_KEYS = [
  'name', 'main', 'compatibility_date', 'compatibility_flags', 'vars', 'routes', 'route', 'limits', 'build', 'bindings',
  'triggers', 'no_bundle', 'minify', 'define', 'alias', 'assets', 'tsconfig', 'jsx_factory', 'jsx_fragment', 'rules', 'env',
  ...BUILTIN_SECTIONS.map((s) => s.section.key),
];
/**
 * Wrangler keys accepted and left without effect, silently: they configure Cloudflare's account, dashboard or network,
 * or wrangler itself, or ask for what this host does anyway (logs are always on: `edge tail`). Build tools write the
 * metadata keys (`configPath`, `topLevelName`, ...) into the wrangler.json they generate.
 */
const IGNORED_KEYS = [
  '$schema', 'account_id', 'workers_dev', 'preview_urls', 'upload_source_maps', 'send_metrics', 'observability',
  'keep_vars', 'keep_names', 'dev', 'legacy_env', 'zone_id', 'first_party_worker', 'python_modules', 'secrets',
  'configPath', 'userConfigPath', 'topLevelName', 'definedEnvironments',
];
/** Wrangler keys accepted with a warning: they ask for something this host does not do, and the worker runs without it. */
const WARNED_KEYS: Record<string, string> = {
  placement: 'Smart Placement moves a worker near its back ends in Cloudflare\'s network; here it runs on this host',
  logpush: 'Logpush is not available here; `edge tail` streams the logs',
  tail_consumers: 'Tail Workers are not supported; `edge tail` streams the logs',
  streaming_tail_consumers: 'Tail Workers are not supported; `edge tail` streams the logs',
  usage_model: 'usage models are a Cloudflare billing setting; [limits] sets this host\'s limits',
};
/**
 * Wrangler keys this runtime does not implement yet, with what they are. A key that declares something is refused
 * (all of them named in one error), not ignored: a worker that expects `env.MY_QUEUE` and silently gets `undefined`
 * fails later and far from the cause. An empty one (`"queues": { "producers": [] }`, as generated configs hold)
 * declares nothing and is accepted.
 */
const UNSUPPORTED_KEYS: Record<string, string> = {
  queues: 'Queues',
  workflows: 'Workflows',
  analytics_engine_datasets: 'Analytics Engine',
  vectorize: 'Vectorize',
  ai: 'Workers AI',
  ai_search: 'AI Search',
  ai_search_namespaces: 'AI Search',
  agent_memory: 'agent memory',
  browser: 'Browser Rendering',
  hyperdrive: 'Hyperdrive',
  images: 'Images',
  media: 'Media Transformations',
  stream: 'Stream',
  version_metadata: 'version metadata',
  dispatch_namespaces: 'Workers for Platforms dispatch namespaces',
  mtls_certificates: 'mTLS certificates',
  send_email: 'Email sending',
  pipelines: 'Pipelines',
  secrets_store_secrets: 'Secrets Store (use `edge secret put` for secrets)',
  ratelimits: 'the Rate Limiting binding',
  worker_loaders: 'Worker Loaders',
  vpc_services: 'VPC services',
  vpc_networks: 'VPC networks',
  artifacts: 'artifacts',
  flagship: 'feature flags',
  connect: 'connect',
  k2: 'K2 bindings',
  exports: 'export settings',
  logfwdr: 'log forwarding',
  containers: 'Containers',
  cloudchamber: 'Containers',
  unsafe: 'unsafe bindings',
  unsafe_hello_world: 'unsafe bindings',
  wasm_modules: 'module bindings (wasm_modules)',
  text_blobs: 'module bindings (text_blobs)',
  data_blobs: 'module bindings (data_blobs)',
  site: 'Workers Sites',
  node_compat: 'the old node_compat mode',
  find_additional_modules: 'additional unbundled modules',
  base_dir: 'additional unbundled modules',
  preserve_file_names: 'additional unbundled modules',
};
/** How the parser treats each top-level wrangler key it knows (for tests and documentation). */
export const MANIFEST_KEYS = Object.freeze({
  supported: SUPPORTED_KEYS,
  ignored: IGNORED_KEYS,
  warned: Object.keys(WARNED_KEYS),
  // A key a capability's section handles is supported, whatever this table says.
  unsupported: Object.keys(UNSUPPORTED_KEYS).filter((k) => !SUPPORTED_KEYS.includes(k)),
});

/** Keys an `env.<name>` section does not inherit from the top level (wrangler's rule): its own bindings and vars. */
const NON_INHERITABLE_KEYS = new Set([
  'vars', 'define', 'bindings', 'secrets', 'tail_consumers', 'streaming_tail_consumers',
  ...BUILTIN_SECTIONS.map((s) => s.section.key).filter((k) => k !== 'migrations'),
  ...Object.keys(UNSUPPORTED_KEYS).filter((k) => !['migrations', 'node_compat', 'find_additional_modules', 'base_dir', 'preserve_file_names', 'site', 'wasm_modules', 'text_blobs', 'data_blobs'].includes(k)),
]);
/** Keys only the top level may set; in an `env.<name>` section they are ignored with a warning, as wrangler does. */
const TOP_LEVEL_ONLY_KEYS = new Set(['$schema', 'env', 'legacy_env', 'send_metrics', 'keep_vars', 'alias', 'dev', 'site', 'wasm_modules', 'text_blobs', 'data_blobs']);

const LIMIT_KEYS: Record<string, { field: keyof WorkerLimits; unit: string }> = {
  cpu_ms: { field: 'cpuMs', unit: 'milliseconds of CPU time per request' },
  wall_ms: { field: 'wallMs', unit: 'milliseconds of wall-clock time per request' },
  memory_mb: { field: 'memoryMb', unit: 'MiB of isolate heap' },
  subrequests: { field: 'subrequests', unit: 'outgoing fetches per request' },
  fuel: { field: 'fuel', unit: 'units of WebAssembly fuel per request, about one per instruction' },
};
const BUILD_KEYS = ['language', 'optimize'];
/** wrangler's custom build keys: `command` is refused (parseManifest), `cwd` and `watch_dir` only serve it and wrangler dev. */
const WRANGLER_BUILD_KEYS = ['command', 'cwd', 'watch_dir'];
const BINDING_NAME_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const ROUTE_KEYS = ['pattern', 'zone_name', 'zone_id', 'custom_domain'];

const NAME_RE = WORKER_NAME_RE;
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

/** One key this runtime refuses, with what it is and the `env.<binding>` names it declares. */
interface Refusal { key: string; what: string; bindings: string[] }

/** Whether a value declares nothing: `[]`, `{}`, `false`, or a table of those (`{ bindings: [] }`, as generated configs hold). */
function declaresNothing(v: Raw, depth = 0): boolean {
  if (v === undefined || v === null || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isTable(v)) return depth === 0 && Object.values(v).every((x) => declaresNothing(x, depth + 1));
  return false;
}

/** Sections whose entries name their binding `name` rather than `binding`. */
const NAME_IS_BINDING = new Set(['durable_objects', 'send_email', 'ratelimits', 'unsafe', 'logfwdr']);

/** The binding names a section declares (its entries' `binding`, or `name` in some), to say which `env.X` would be missing. */
function declaredBindings(key: string, v: Raw, out: string[] = [], depth = 0): string[] {
  if (depth > 3) return out;
  if (Array.isArray(v)) {
    for (const item of v) declaredBindings(key, item, out, depth + 1);
  } else if (isTable(v)) {
    const name = typeof v['binding'] === 'string' ? v['binding'] : NAME_IS_BINDING.has(key) && typeof v['name'] === 'string' ? v['name'] : undefined;
    if (name !== undefined && BINDING_NAME_RE.test(name)) out.push(name);
    else for (const x of Object.values(v)) if (Array.isArray(x) || isTable(x)) declaredBindings(key, x, out, depth + 1);
  }
  return out;
}

/** Every refused key in one error, so that one deploy tells all that a project needs; never advice that leaves `env.X` undefined. */
function refusal(ctx: Ctx, refused: Refusal[]): EdgeError {
  const list = refused.map((r) => `\`${r.key}\` (${r.what}${r.bindings.length ? `: ${r.bindings.map((b) => `env.${b}`).join(', ')}` : ''})`);
  const missing = refused.flatMap((r) => r.bindings.map((b) => `env.${b}`));
  const keys = refused.map((r) => r.key);
  const consequence = missing.length ? `; deployed without them, the worker would find ${missing.join(', ')} undefined` : '';
  return new EdgeError(
    'E_BINDING_UNSUPPORTED',
    `${ctx.file}: not deployed: ${refused.length === 1 ? 'this key is' : `these ${refused.length} keys are`} not supported yet by this runtime: ${list.join(', ')}${consequence}. The README's "Moving a Workers project" lists what runs here.`,
    { details: { file: ctx.file, key: keys[0], keys } },
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

/** Limits Cloudflare allows beyond this host's range (wrangler writes `cpu_ms = 300000`): lowered to the maximum, with a warning. */
const CLAMPED_LIMITS = new Set(['cpu_ms', 'subrequests']);

function validateLimits(v: Raw, ctx: Ctx, warnings: string[]): WorkerLimits {
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
    if (value > max && CLAMPED_LIMITS.has(k)) {
      warnings.push(`${ctx.file}: \`${key}\` = ${value} is above this host's maximum; the worker runs with ${max} (${spec.unit})`);
      limits[spec.field] = max;
      continue;
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
    if (WRANGLER_BUILD_KEYS.includes(k)) {
      if (typeof value !== 'string') throw expected(ctx, `build.${k}`, 'a string', value);
      continue;
    }
    if (!BUILD_KEYS.includes(k)) throw unknownKey(ctx, 'build', k, [...BUILD_KEYS, ...WRANGLER_BUILD_KEYS]);
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
    return { type, binding, settings, section: 'bindings', key };
  });
}

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
  const bundle: BundleSettings = {
    enabled: noBundle !== true,
    minify: minify === true,
    define: table('define', 'a string holding a JavaScript expression (e.g. "\\"production\\"")'),
    alias: table('alias', 'a module specifier or path string'),
  };
  // esbuild's own options under wrangler's names; set only when given, so that a manifest without them compares equal.
  const text = (key: string): string | undefined => {
    const v = raw[key];
    if (v !== undefined && (typeof v !== 'string' || v === '')) throw expected(ctx, key, 'a non-empty string', v);
    return v as string | undefined;
  };
  const tsconfig = text('tsconfig');
  const jsxFactory = text('jsx_factory');
  const jsxFragment = text('jsx_fragment');
  if (tsconfig !== undefined) bundle.tsconfig = tsconfig;
  if (jsxFactory !== undefined) bundle.jsxFactory = jsxFactory;
  if (jsxFragment !== undefined) bundle.jsxFragment = jsxFragment;
  return bundle;
}

/** The helpers a capability's section parser gets: errors that name this file and key, one namespace of binding names. */
function sectionContext(ctx: Ctx, taken: Map<string, string>): SectionContext {
  return {
    file: ctx.file,
    format: ctx.format,
    entries(section, v, keys, example) {
      if (!Array.isArray(v)) throw expected(ctx, section, ctx.format === 'toml' ? `an array of tables (${example})` : 'an array of objects', v);
      return v.map((item: Raw, i: number) => {
        const key = `${section}[${i}]`;
        if (!isTable(item)) throw expected(ctx, key, `a table such as ${example}`, item);
        for (const k of Object.keys(item)) if (!keys.includes(k)) throw unknownKey(ctx, key, k, keys);
        return { key, item };
      });
    },
    bindingName(key, v, example) {
      if (v === undefined) throw invalid(ctx, `${key}.binding`, `\`${key}.binding\` is missing: the name the worker uses, e.g. binding = "${example}" for env.${example}`);
      if (typeof v !== 'string' || !BINDING_NAME_RE.test(v)) throw expected(ctx, `${key}.binding`, `a JavaScript identifier such as "${example}"`, v);
      const earlier = taken.get(v);
      if (earlier) throw invalid(ctx, `${key}.binding`, `binding "${v}" is declared twice (${earlier} and ${key}); env.${v} can only be one of them`);
      taken.set(v, key);
      return v;
    },
    expected: (key, what, found) => expected(ctx, key, what, found),
    invalid: (key, message) => invalid(ctx, key, `${message}`),
    unsupported: (key, message) => new EdgeError('E_BINDING_UNSUPPORTED', `${ctx.file}: ${message}`, { details: { file: ctx.file, key } }),
  };
}

/** A parsed manifest and what the deploy should tell about it (keys accepted without effect here). */
export interface ParsedManifest {
  manifest: DeployManifest;
  warnings: string[];
}

export interface ManifestOptions {
  /** `--env <name>`: deploy the `env.<name>` section over the top level, as wrangler does. */
  env?: string;
}

/** Parses and validates manifest text. `fileName` is the base name; it decides TOML vs JSON(C) and names the file in errors. */
export function parseManifestText(text: string, fileName: string, options: ManifestOptions = {}): DeployManifest {
  return parseManifest(text, fileName, options).manifest;
}

/**
 * The manifest applied in environment `env`: the section's keys over the top level's, except the bindings and vars,
 * which it does not inherit; the worker is named `<name>-<env>` unless the section names it (wrangler's rules).
 */
function applyEnvironment(top: Record<string, Raw>, ctx: Ctx, env: string | undefined, warnings: string[]): Record<string, Raw> {
  const sections = top['env'];
  if (sections !== undefined && !isTable(sections)) throw expected(ctx, 'env', ctx.format === 'toml' ? 'a table of environments ([env.staging])' : 'an object of environments ({ "staging": { ... } })', sections);
  const names = sections ? Object.keys(sections) : [];
  if (env === undefined) {
    if (names.length > 0) warnings.push(`${ctx.file} defines the environments ${names.join(', ')}; deployed the top-level configuration (pass --env <name> to deploy one)`);
    return top;
  }
  const section = sections?.[env];
  if (!sections || !Object.hasOwn(sections, env) || section === undefined) {
    throw invalid(ctx, `env.${env}`, `--env ${env}: ${ctx.file} has no environment "${env}"${names.length ? `; it defines ${names.join(', ')}` : ` (no [env.${env}] section)`}`);
  }
  if (!isTable(section)) throw expected(ctx, `env.${env}`, ctx.format === 'toml' ? `a table ([env.${env}])` : 'an object', section);
  const merged: Record<string, Raw> = {};
  const put = (k: string, v: Raw) => Object.defineProperty(merged, k, { value: v, enumerable: true, writable: true, configurable: true });
  for (const [k, v] of Object.entries(top)) if (k !== 'env' && !NON_INHERITABLE_KEYS.has(k)) put(k, v);
  for (const [k, v] of Object.entries(section)) {
    if (TOP_LEVEL_ONLY_KEYS.has(k)) {
      warnings.push(`${ctx.file}: \`env.${env}.${k}\` is ignored: \`${k}\` can only be set at the top level`);
      continue;
    }
    put(k, v);
  }
  if (section['name'] === undefined && typeof top['name'] === 'string') put('name', `${top['name']}-${env}`);
  return merged;
}

/** Module types of wrangler's `rules` that this runtime does not run, with what to do instead. */
const REFUSED_RULE_TYPES: Record<string, string> = {
  CommonJS: 'CommonJS modules are not uploaded as they are: remove `no_bundle` so that the bundler converts them to ES modules',
  PythonModule: 'Python workers are not supported',
  PythonRequirement: 'Python workers are not supported',
  NodeJsCompatModule: 'use `compatibility_flags = ["nodejs_compat"]` instead',
};
const RULE_TYPES = ['ESModule', 'CompiledWasm', 'Text', 'Data'] as const;

/**
 * wrangler's module `rules`: ES modules, and the value modules (`CompiledWasm`, `Text`, `Data`) that an import of a
 * matching path gives (host/deploy/module-rules.ts applies them with wrangler's defaults); CommonJS and Python are refused.
 */
function checkRules(v: Raw, ctx: Ctx): { rules: ModuleRule[] | undefined; refused: Refusal | null } {
  if (v === undefined) return { rules: undefined, refused: null };
  if (!Array.isArray(v)) throw expected(ctx, 'rules', ctx.format === 'toml' ? 'an array of tables ([[rules]])' : 'an array of objects', v);
  const other = new Map<string, string>();
  const rules: ModuleRule[] = [];
  v.forEach((rule, i) => {
    if (!isTable(rule)) throw expected(ctx, `rules[${i}]`, 'a table such as { type = "Text", globs = ["**/*.md"] }', rule);
    for (const k of Object.keys(rule)) if (!['type', 'globs', 'fallthrough'].includes(k)) throw unknownKey(ctx, `rules[${i}]`, k, ['type', 'globs', 'fallthrough']);
    const type = rule['type'];
    if (typeof type !== 'string') throw expected(ctx, `rules[${i}].type`, `a module type (${RULE_TYPES.map((t) => `"${t}"`).join(', ')})`, type);
    if (Object.hasOwn(REFUSED_RULE_TYPES, type)) {
      other.set(type, REFUSED_RULE_TYPES[type]!);
      return;
    }
    if (!(RULE_TYPES as readonly string[]).includes(type)) throw expected(ctx, `rules[${i}].type`, `one of ${RULE_TYPES.map((t) => `"${t}"`).join(', ')}`, type);
    const globs = rule['globs'];
    if (!Array.isArray(globs) || globs.length === 0 || globs.some((g) => typeof g !== 'string' || g === '')) {
      throw expected(ctx, `rules[${i}].globs`, 'a non-empty array of glob strings such as ["**/*.md"]', globs);
    }
    const fallthrough = rule['fallthrough'];
    if (fallthrough !== undefined && typeof fallthrough !== 'boolean') throw expected(ctx, `rules[${i}].fallthrough`, 'a boolean', fallthrough);
    const parsed: ModuleRule = { type: type as ModuleRule['type'], globs: [...(globs as string[])] };
    if (fallthrough !== undefined) parsed.fallthrough = fallthrough;
    rules.push(parsed);
  });
  const refused = other.size
    ? { key: 'rules', what: `module rules of type ${[...other].map(([t, why]) => `${t} (${why})`).join(', ')}`, bindings: [] }
    : null;
  return { rules, refused };
}

/** Parses and validates manifest text, with the warnings a deploy prints. */
export function parseManifest(text: string, fileName: string, options: ManifestOptions = {}): ParsedManifest {
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
  const top = format === 'toml' ? parseTomlText(text, ctx) : parseJsonText(text, ctx);
  if (!isTable(top)) throw invalid(ctx, undefined, `the top level must be ${format === 'toml' ? 'a table' : 'an object'}, found ${describe(top, format)}`);
  const warnings: string[] = [];
  const raw = applyEnvironment(top, ctx, options.env, warnings);

  const knownTop = [...SUPPORTED_KEYS, ...IGNORED_KEYS, ...Object.keys(WARNED_KEYS)];
  const unsupportedKeys = MANIFEST_KEYS.unsupported;
  const refused: Refusal[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (Object.hasOwn(WARNED_KEYS, key)) {
      if (!declaresNothing(value)) warnings.push(`${ctx.file}: \`${key}\` is ignored: ${WARNED_KEYS[key]}`);
      continue;
    }
    if (knownTop.includes(key)) continue;
    if (unsupportedKeys.includes(key)) {
      if (declaresNothing(value)) continue;
      // Workers replaced Sites with static assets: say what to write instead.
      const what = key === 'site' ? `Workers Sites, replaced by static assets: write assets = { directory = "${sitePath(value)}" } instead` : UNSUPPORTED_KEYS[key]!;
      refused.push({ key, what, bindings: declaredBindings(key, value) });
      continue;
    }
    const suggestion = closest(key, [...knownTop, ...unsupportedKeys]);
    if (suggestion && unsupportedKeys.includes(suggestion)) {
      throw invalid(ctx, key, `unknown key \`${key}\` in ${ctx.file} (did you mean \`${suggestion}\`? It is not supported yet by this runtime either).`);
    }
    throw unknownKey(ctx, '', key, knownTop);
  }
  const build = raw['build'];
  const command = isTable(build) ? build['command'] : undefined;
  if (typeof command === 'string' && command.trim() !== '') {
    refused.push({ key: 'build.command', what: 'a custom build command: build with your own tooling and point `main` at its output', bindings: [] });
  }
  const rules = checkRules(raw['rules'], ctx);
  if (rules.refused) refused.push(rules.refused);
  if (refused.length > 0) throw refusal(ctx, refused);
  if (raw['workers_dev'] !== undefined && typeof raw['workers_dev'] !== 'boolean') throw expected(ctx, 'workers_dev', 'a boolean', raw['workers_dev']);
  if (raw['account_id'] !== undefined && typeof raw['account_id'] !== 'string') throw expected(ctx, 'account_id', 'a string', raw['account_id']);
  // Source maps are always uploaded with a bundled worker (stack traces in tail point at the source); the key is accepted.
  if (raw['upload_source_maps'] !== undefined && typeof raw['upload_source_maps'] !== 'boolean') throw expected(ctx, 'upload_source_maps', 'a boolean', raw['upload_source_maps']);

  // Without `main`, a manifest with `assets` is an assets-only worker, as wrangler allows.
  const main = raw['main'] === undefined && raw['assets'] !== undefined ? '' : validateMain(raw['main'], ctx);
  const vars = validateVars(raw['vars'], ctx);
  const bindings = validateBindings(raw['bindings'], ctx, vars);
  const taken = new Map<string, string>([...Object.keys(vars).map((k): [string, string] => [k, `vars.${k}`]), ...bindings.map((b): [string, string] => [b.binding, b.key])]);
  const sections = sectionContext(ctx, taken);
  for (const { type, section } of BUILTIN_SECTIONS) {
    const value = raw[section.key];
    if (value === undefined) continue;
    for (const g of section.parse(value, sections)) bindings.push({ type, section: section.key, ...g });
  }
  const manifest: DeployManifest = {
    name: validateName(raw['name'], ctx),
    main,
    compatibilityFlags: validateFlags(raw['compatibility_flags'], ctx),
    vars,
    routes: validateRoutes(raw, ctx),
    limits: validateLimits(raw['limits'], ctx, warnings),
    build: validateBuild(raw['build'], ctx, main),
    bindings,
    crons: validateTriggers(raw['triggers'], ctx),
    bundle: validateBundle(raw, ctx),
  };
  if (rules.rules !== undefined) {
    manifest.bundle.rules = rules.rules;
    warnings.push(...parseRules(rules.rules).warnings.map((w) => `${ctx.file}: ${w}`));
  }
  if (raw['assets'] !== undefined) {
    const assets = parseAssetsSection(raw['assets'], sections, main !== '');
    manifest.assets = assets;
    if (assets.binding !== undefined) bindings.push({ type: 'assets', section: 'assets', binding: assets.binding, settings: { worker: manifest.name }, key: 'assets.binding' });
  }
  const date = validateDate(raw['compatibility_date'], ctx);
  if (date !== undefined) manifest.compatibilityDate = date;
  const sqlite = sqliteClasses(raw['migrations']);
  if (sqlite.length > 0) manifest.sqliteClasses = sqlite;
  const declared = declaredClasses(raw['migrations']);
  if (declared.length > 0) manifest.durableClasses = declared;
  return { manifest, warnings };
}

/** Workers Sites' `site.bucket`, for the message that says what to write instead. */
function sitePath(site: Raw): string {
  const bucket = isTable(site) ? site['bucket'] : undefined;
  return typeof bucket === 'string' ? bucket : './public';
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
/** A worker's manifest as found: its base name, path, directory (what `main` is relative to) and text. */
export interface FoundManifest {
  fileName: string;
  path: string;
  /** The manifest's directory: the worker's code and assets are found from here. */
  dir: string;
  text: string;
  /** The redirect followed to it (`.wrangler/deploy/config.json`, written by Cloudflare's vite plugin and frameworks). */
  redirectedBy?: string;
}

/** Where build tools (Cloudflare's vite plugin, frameworks) point wrangler at the config they generated with the build. */
const DEPLOY_REDIRECT = join('.wrangler', 'deploy', 'config.json');

/** The manifest `<dir>/.wrangler/deploy/config.json` redirects to (`{ "configPath": "../../dist/worker/wrangler.json" }`), if there is one. */
async function followRedirect(abs: string): Promise<FoundManifest | null> {
  const redirect = join(abs, DEPLOY_REDIRECT);
  if (!(await isFile(redirect))) return null;
  const fail = (why: string) => new EdgeError('E_MANIFEST_INVALID', `${redirect}: ${why}`, { details: { file: redirect, key: 'configPath' } });
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(redirect, 'utf8'));
  } catch (e) {
    throw fail(`not valid JSON (${e instanceof Error ? e.message : String(e)}); expected { "configPath": "../../dist/<worker>/wrangler.json" }`);
  }
  const configPath = isTable(parsed) ? parsed['configPath'] : undefined;
  if (typeof configPath !== 'string' || configPath === '') throw fail('expected { "configPath": "<path of the generated wrangler.json>" }');
  const path = resolve(dirname(redirect), configPath);
  const fileName = basename(path);
  if (!(MANIFEST_FILES as readonly string[]).includes(fileName)) throw fail(`configPath ${JSON.stringify(configPath)} must name a ${MANIFEST_FILES.join(', ')} file`);
  if (!(await isFile(path))) {
    throw new EdgeError('E_MANIFEST_NOT_FOUND', `${redirect} points at ${path}, which does not exist: build the project first (e.g. \`npx vite build\`), or delete the stale redirect`, {
      details: { dir: abs, file: redirect, configPath: path },
    });
  }
  return { fileName, path, dir: dirname(path), text: await readFile(path, 'utf8'), redirectedBy: redirect };
}

/**
 * Finds the one manifest of the worker in `dir`: the generated one a `.wrangler/deploy/config.json` redirect names (a
 * vite or framework build, as wrangler follows it), else wrangler.toml / wrangler.json / wrangler.jsonc in `dir`.
 */
export async function findManifest(dir: string): Promise<FoundManifest> {
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
  const redirected = await followRedirect(abs);
  if (redirected) return redirected;
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
  return { fileName, path, dir: abs, text: await readFile(path, 'utf8') };
}

/** Finds, parses and validates the manifest of the worker in `dir`. */
export async function loadManifest(dir: string): Promise<{ manifest: DeployManifest; fileName: string }> {
  const found = await findManifest(dir);
  return { manifest: parseManifestText(found.text, found.fileName), fileName: found.fileName };
}
