// Tests for the deploy manifest: valid wrangler.toml / .json / .jsonc files and every kind of rejection.

import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EdgeError } from '../core/errors.ts';
import { findManifest, loadManifest, MANIFEST_KEYS, parseManifest, parseManifestText } from './manifest.ts';
import { BUILTIN_SECTIONS } from '../bindings/builtins.ts';
import { DEFAULT_LIMITS, LIMIT_RANGES } from '../core/limits.ts';

function errorOf(fn: () => unknown): EdgeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof EdgeError) return e;
    throw e;
  }
  throw new Error('expected an EdgeError, nothing was thrown');
}

const toml = (body: string) => parseManifestText(`name = "w"\nmain = "index.js"\n${body}`, 'wrangler.toml');
const tomlError = (body: string) => errorOf(() => toml(body));

describe('parseManifestText: TOML', () => {
  it('parses a minimal manifest with defaults', () => {
    expect(parseManifestText('name = "hello-js"\nmain = "index.js"\n', 'wrangler.toml')).toEqual({
      name: 'hello-js',
      main: 'index.js',
      compatibilityFlags: [],
      vars: {},
      routes: [],
      limits: DEFAULT_LIMITS,
      build: { language: 'js', optimize: false },
      bindings: [],
      crons: [],
      bundle: { enabled: true, minify: false, define: {}, alias: {} },
    });
  });

  it('parses every supported key', () => {
    const m = parseManifestText(
      `
"$schema" = "node_modules/wrangler/config-schema.json"
name = "api-2"
main = "./src/index.js"
compatibility_date = "2025-03-14"
compatibility_flags = ["nodejs_compat", "global_fetch_strictly_public"]
account_id = "abc123"
workers_dev = false
routes = ["example.com/api/*", { pattern = "shop.example.com/*", zone_name = "example.com" }, { pattern = "api.example.org", custom_domain = true }, { pattern = "x.example.com/*", zone_id = "z1" }]

[vars]
GREETING = "hi"
COUNT = 3
RATIO = 0.5
ENABLED = true
LIST = [1, "two"]
[vars.NESTED]
deep = { a = 1 }

[limits]
cpu_ms = 100
wall_ms = 5000
memory_mb = 64
subrequests = 0
`,
      'wrangler.toml',
    );
    expect(m).toEqual({
      name: 'api-2',
      main: 'src/index.js',
      compatibilityDate: '2025-03-14',
      compatibilityFlags: ['nodejs_compat', 'global_fetch_strictly_public'],
      vars: { GREETING: 'hi', COUNT: 3, RATIO: 0.5, ENABLED: true, LIST: [1, 'two'], NESTED: { deep: { a: 1 } } },
      routes: [
        { pattern: 'example.com/api/*' },
        { pattern: 'shop.example.com/*', zoneName: 'example.com' },
        { pattern: 'api.example.org', customDomain: true },
        { pattern: 'x.example.com/*' },
      ],
      build: { language: 'js', optimize: false },
      bindings: [],
      crons: [],
      bundle: { enabled: true, minify: false, define: {}, alias: {} },
      limits: { cpuMs: 100, wallMs: 5000, memoryMb: 64, subrequests: 0 },
    });
    // vars are plain JSON objects, not TOML's null-prototype tables.
    expect(Object.getPrototypeOf(m.vars['NESTED'])).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(m.vars))).toEqual(m.vars);
  });

  it('accepts `route` as a single string, and an unquoted TOML date', () => {
    const m = toml('route = "example.com/*"\ncompatibility_date = 2024-09-23\n');
    expect(m.routes).toEqual([{ pattern: 'example.com/*' }]);
    expect(m.compatibilityDate).toBe('2024-09-23');
  });

  it('merges partial limits with the defaults', () => {
    expect(toml('[limits]\ncpu_ms = 10\n').limits).toEqual({ ...DEFAULT_LIMITS, cpuMs: 10 });
  });

  it('reports TOML syntax errors with file, line and column', () => {
    const e = errorOf(() => parseManifestText('name = "w"\nmain = \n', 'wrangler.toml'));
    expect(e.code).toBe('E_MANIFEST_INVALID');
    expect(e.message).toMatch(/^wrangler\.toml:2:\d+: invalid TOML/);
    expect(e.details).toMatchObject({ file: 'wrangler.toml', line: 2 });
    expect(typeof e.details?.['column']).toBe('number');
  });

  it('reports duplicate TOML keys as syntax errors', () => {
    const e = errorOf(() => parseManifestText('name = "a"\nname = "b"\nmain = "i.js"', 'wrangler.toml'));
    expect(e.code).toBe('E_MANIFEST_INVALID');
    expect(e.details).toMatchObject({ file: 'wrangler.toml', line: 2 });
  });
});

describe('parseManifestText: JSON and JSONC', () => {
  it('parses wrangler.json', () => {
    const m = parseManifestText(
      JSON.stringify({
        $schema: './node_modules/wrangler/config-schema.json',
        name: 'j',
        main: 'src/worker.mjs',
        compatibility_date: '2024-01-31',
        vars: { CONFIG: { a: [1, 2], b: null } },
        routes: [{ pattern: 'example.com/*', custom_domain: false }],
        limits: { cpu_ms: 30000 },
      }),
      'wrangler.json',
    );
    expect(m).toMatchObject({
      name: 'j',
      main: 'src/worker.mjs',
      compatibilityDate: '2024-01-31',
      vars: { CONFIG: { a: [1, 2], b: null } },
      routes: [{ pattern: 'example.com/*' }],
      limits: { ...DEFAULT_LIMITS, cpuMs: 30000 },
    });
    expect(m.routes[0]).not.toHaveProperty('customDomain');
  });

  it('parses wrangler.jsonc with comments and trailing commas', () => {
    const m = parseManifestText(
      `// my worker
{
  "name": "c", /* inline */
  "main": "index.js",
  "route": { "pattern": "c.example.com", "custom_domain": true },
  "compatibility_flags": ["nodejs_compat",],
}
`,
      'wrangler.jsonc',
    );
    expect(m).toMatchObject({ name: 'c', routes: [{ pattern: 'c.example.com', customDomain: true }], compatibilityFlags: ['nodejs_compat'] });
  });

  it('reports JSON syntax errors with file, line and column', () => {
    const e = errorOf(() => parseManifestText('{\n  "name": "x",\n  "main" "index.js"\n}', 'wrangler.json'));
    expect(e.code).toBe('E_MANIFEST_INVALID');
    expect(e.message).toBe('wrangler.json:3:10: invalid JSON: ColonExpected');
    expect(e.details).toEqual({ file: 'wrangler.json', key: undefined, line: 3, column: 10 });
  });

  it('rejects an empty JSON file', () => {
    const e = errorOf(() => parseManifestText('  \n', 'wrangler.jsonc'));
    expect(e.code).toBe('E_MANIFEST_INVALID');
    expect(e.message).toMatch(/^wrangler\.jsonc:\d+:\d+: invalid JSON/);
  });

  it('rejects duplicate JSON keys with their position', () => {
    const e = errorOf(() => parseManifestText('{"name": "a", "main": "i.js",\n "limits": {"cpu_ms": 1, "cpu_ms": 2}}', 'wrangler.json'));
    expect(e.message).toBe('wrangler.json:2:26: duplicate key `limits.cpu_ms`');
    expect(e.details).toMatchObject({ file: 'wrangler.json', key: 'limits.cpu_ms' });
  });

  it('rejects a top level that is not an object', () => {
    const e = errorOf(() => parseManifestText('["name"]', 'wrangler.json'));
    expect(e.message).toBe('wrangler.json: the top level must be an object, found an array');
  });

  it('rejects a file name that is not a manifest', () => {
    expect(errorOf(() => parseManifestText('', 'package.json.txt')).code).toBe('E_MANIFEST_INVALID');
  });
});

describe('parseManifestText: unknown and unsupported keys', () => {
  it('rejects a TOML binding table, saying which env.X the worker would lack', () => {
    const e = tomlError('[[queues.producers]]\nbinding = "Q"\nqueue = "x"\n');
    expect(e.code).toBe('E_BINDING_UNSUPPORTED');
    expect(e.message).toBe(
      'wrangler.toml: not deployed: this key is not supported yet by this runtime: `queues` (Queues: env.Q); deployed without them, the worker would find env.Q undefined. The README\'s "Moving a Workers project" lists what runs here.',
    );
    expect(e.details).toEqual({ file: 'wrangler.toml', key: 'queues', keys: ['queues'] });
  });

  it('rejects an unknown key and suggests the closest known one', () => {
    const e = errorOf(() => parseManifestText('name = "w"\nmian = "index.js"', 'wrangler.toml'));
    expect(e.code).toBe('E_MANIFEST_INVALID');
    expect(e.message).toContain('unknown key `mian` in wrangler.toml (did you mean `main`?)');
    expect(e.details).toEqual({ file: 'wrangler.toml', key: 'mian' });
    expect(tomlError('compatability_date = "2024-01-01"').message).toContain('did you mean `compatibility_date`?');
    expect(tomlError('[var]\nA = "1"').message).toContain('did you mean `vars`?');
    expect(tomlError('compatibility-flags = []').message).toContain('did you mean `compatibility_flags`?');
  });

  it('does not suggest anything for an unrelated key', () => {
    const e = tomlError('foo = 1');
    expect(e.message).toMatch(/^wrangler\.toml: unknown key `foo` in wrangler\.toml\. Known keys:/);
  });

  it('points a misspelled unsupported section at its real name', () => {
    const e = tomlError('[[queue]]\nbinding = "A"');
    expect(e.code).toBe('E_MANIFEST_INVALID');
    expect(e.message).toContain('did you mean `queues`? It is not supported yet');
    expect(tomlError('[[d1_database]]\nbinding = "A"').message).toContain('(did you mean `d1_databases`?)');
    expect(tomlError('[[kv_namespace]]\nbinding = "A"').message).toContain('(did you mean `kv_namespaces`?)');
  });

  it('rejects unknown keys inside limits and routes', () => {
    const e = tomlError('[limits]\ncpu = 10');
    expect(e.message).toContain('unknown key `limits.cpu` in wrangler.toml (did you mean `limits.cpu_ms`?)');
    expect(e.details).toEqual({ file: 'wrangler.toml', key: 'limits.cpu' });
    const r = tomlError('routes = [{ pattern = "a.com/*", zone = "a.com" }]');
    expect(r.details).toEqual({ file: 'wrangler.toml', key: 'routes[0].zone' });
  });

  it('checks the types of ignored wrangler keys', () => {
    expect(tomlError('workers_dev = "yes"').details).toEqual({ file: 'wrangler.toml', key: 'workers_dev' });
    expect(tomlError('account_id = 1').details).toEqual({ file: 'wrangler.toml', key: 'account_id' });
  });
});

describe('parseManifestText: name and main', () => {
  it('requires name and main', () => {
    const noName = errorOf(() => parseManifestText('main = "i.js"', 'wrangler.toml'));
    expect(noName.message).toBe('wrangler.toml: `name` is missing: set it to the worker\'s name, e.g. name = "my-worker"');
    expect(noName.details).toEqual({ file: 'wrangler.toml', key: 'name' });
    const noMain = errorOf(() => parseManifestText('{"name": "w"}', 'wrangler.json'));
    expect(noMain.message).toBe('wrangler.json: `main` is missing: set it to the entry module, e.g. "main": "src/index.js"');
    expect(noMain.details).toEqual({ file: 'wrangler.json', key: 'main' });
  });

  it.each(['a', 'hello-js', 'x1', '0', 'a'.repeat(63), 'a-b-c'])('accepts the name %j', (name) => {
    expect(parseManifestText(JSON.stringify({ name, main: 'i.js' }), 'wrangler.json').name).toBe(name);
  });

  it.each(['', 'Hello', '-a', 'a-', 'a_b', 'a.b', 'a'.repeat(64), 'é'])('rejects the name %j', (name) => {
    const e = errorOf(() => parseManifestText(JSON.stringify({ name, main: 'i.js' }), 'wrangler.json'));
    expect(e.code).toBe('E_MANIFEST_INVALID');
    expect(e.details).toEqual({ file: 'wrangler.json', key: 'name' });
    expect(e.message).toContain('<name>.localhost');
  });

  it('suggests a valid name', () => {
    expect(errorOf(() => parseManifestText('{"name":"My_Worker","main":"i.js"}', 'wrangler.json')).message).toContain('(for example `my-worker`)');
  });

  it('rejects a name of the wrong type', () => {
    const e = errorOf(() => parseManifestText('name = 12\nmain = "i.js"', 'wrangler.toml'));
    expect(e.message).toBe('wrangler.toml: `name` must be a string, found the integer 12');
  });

  it('normalizes main', () => {
    expect(toml('').main).toBe('index.js');
    expect(parseManifestText('name = "w"\nmain = "./src/../lib/w.js"', 'wrangler.toml').main).toBe('lib/w.js');
  });

  it.each(['/abs/index.js', 'C:/w/index.js', '../index.js', 'src/../../index.js', 'src\\index.js', '', '.', 'src/'])('rejects main %j', (main) => {
    const e = errorOf(() => parseManifestText(JSON.stringify({ name: 'w', main }), 'wrangler.json'));
    expect(e.code).toBe('E_MANIFEST_INVALID');
    expect(e.details).toEqual({ file: 'wrangler.json', key: 'main' });
  });

  it('rejects main of the wrong type', () => {
    const e = errorOf(() => parseManifestText('{"name":"w","main":["a.js"]}', 'wrangler.json'));
    expect(e.message).toBe('wrangler.json: `main` must be a string (the path of the entry module), found an array');
  });
});

describe('parseManifestText: other values', () => {
  it.each(['2024-1-01', '2024-02-30', 'yesterday', '2024-13-01'])('rejects compatibility_date %j', (date) => {
    const e = tomlError(`compatibility_date = "${date}"`);
    expect(e.details).toEqual({ file: 'wrangler.toml', key: 'compatibility_date' });
    expect(e.message).toContain('YYYY-MM-DD');
  });

  it('rejects a TOML date-time as compatibility_date', () => {
    expect(tomlError('compatibility_date = 2024-01-01T10:00:00Z').details?.['key']).toBe('compatibility_date');
  });

  it('rejects bad compatibility_flags', () => {
    expect(tomlError('compatibility_flags = "nodejs_compat"').message).toBe(
      'wrangler.toml: `compatibility_flags` must be an array of strings, found a string ("nodejs_compat")',
    );
    expect(tomlError('compatibility_flags = ["ok", 3]').details).toEqual({ file: 'wrangler.toml', key: 'compatibility_flags[1]' });
  });

  it('rejects vars that are not a table, or not JSON', () => {
    expect(tomlError('vars = "A=1"').message).toBe('wrangler.toml: `vars` must be a table ([vars]), found a string ("A=1")');
    expect(tomlError('[vars]\nN = inf').details).toEqual({ file: 'wrangler.toml', key: 'vars.N' });
    expect(tomlError('[vars]\nN = { a = [nan] }').details).toEqual({ file: 'wrangler.toml', key: 'vars.N.a[0]' });
  });

  it('turns TOML dates inside vars into strings', () => {
    expect(toml('[vars]\nD = 2024-05-06').vars).toEqual({ D: '2024-05-06' });
  });

  it('rejects bad routes', () => {
    expect(tomlError('routes = "example.com/*"').message).toBe(
      'wrangler.toml: `routes` must be an array of route patterns, found a string ("example.com/*")',
    );
    expect(tomlError('routes = [""]').details).toEqual({ file: 'wrangler.toml', key: 'routes[0]' });
    expect(tomlError('routes = ["/api/*"]').message).toContain('must start with a host name');
    expect(tomlError('routes = ["ftp://example.com/*"]').message).toContain('http:// or https://');
    expect(tomlError('routes = ["a b.com/*"]').message).toContain('whitespace');
    expect(tomlError('routes = [{ zone_name = "a.com" }]').details).toEqual({ file: 'wrangler.toml', key: 'routes[0].pattern' });
    expect(tomlError('routes = [{ pattern = "a.com/*", custom_domain = "yes" }]').details).toEqual({
      file: 'wrangler.toml',
      key: 'routes[0].custom_domain',
    });
    expect(tomlError('routes = [{ pattern = "a.com/*", custom_domain = true }]').message).toContain('custom domain');
    expect(tomlError('route = "a.com/*"\nroutes = ["b.com/*"]').message).toContain('both `route` and `routes`');
    expect(tomlError('routes = [{ pattern = "a.com/*", zone_name = 3 }]').details?.['key']).toBe('routes[0].zone_name');
  });

  it('accepts https:// route patterns', () => {
    expect(toml('routes = ["https://example.com/*"]').routes).toEqual([{ pattern: 'https://example.com/*' }]);
  });

  describe('limits', () => {
    const keys = { cpu_ms: 'cpuMs', wall_ms: 'wallMs', memory_mb: 'memoryMb', subrequests: 'subrequests' } as const;
    it.each(Object.entries(keys))('accepts %s at both ends of its range', (key, field) => {
      const { min, max } = LIMIT_RANGES[field];
      expect(toml(`[limits]\n${key} = ${min}`).limits[field]).toBe(min);
      expect(toml(`[limits]\n${key} = ${max}`).limits[field]).toBe(max);
    });
    it.each(Object.entries(keys))('rejects %s outside its range, naming the range', (key, field) => {
      const { min, max } = LIMIT_RANGES[field];
      // Above the maximum, cpu_ms and subrequests are lowered with a warning (wrangler's own ranges are wider): see below.
      for (const value of key === 'cpu_ms' || key === 'subrequests' ? [min - 1] : [min - 1, max + 1]) {
        const e = tomlError(`[limits]\n${key} = ${value}`);
        expect(e.code).toBe('E_MANIFEST_INVALID');
        expect(e.message).toContain(`\`limits.${key}\` must be between ${min} and ${max}`);
        expect(e.message).toContain(`found ${value}`);
        expect(e.details).toMatchObject({ file: 'wrangler.toml', key: `limits.${key}`, min, max });
      }
    });
    it('rejects non-integer limits', () => {
      expect(tomlError('[limits]\ncpu_ms = "50"').message).toBe(
        'wrangler.toml: `limits.cpu_ms` must be an integer between 1 and 30000 (milliseconds of CPU time per request), found a string ("50")',
      );
      expect(tomlError('[limits]\nmemory_mb = 1.5').message).toContain('found the number 1.5');
      expect(tomlError('limits = 5').details).toEqual({ file: 'wrangler.toml', key: 'limits' });
    });
  });
});

describe('parseManifestText: build, fuel and capability bindings', () => {
  it('reads [build] for AssemblyScript workers', () => {
    const m = parseManifestText('name = "a"\nmain = "assembly/index.ts"\n[build]\nlanguage = "assemblyscript"\noptimize = true\n', 'wrangler.toml');
    expect(m.build).toEqual({ language: 'assemblyscript', optimize: true });
  });

  it('refuses an AssemblyScript worker whose main is not a .ts entry, and unknown languages', () => {
    expect(tomlError('[build]\nlanguage = "assemblyscript"\n').message).toContain('must be the AssemblyScript entry (a .ts file)');
    const e = tomlError('[build]\nlanguage = "rust"\n');
    expect(e.message).toContain('`build.language` must be "js" or "assemblyscript"');
  });

  it('refuses a custom build command clearly', () => {
    const e = tomlError('[build]\ncommand = "npm run build"\n');
    expect(e.code).toBe('E_BINDING_UNSUPPORTED');
    expect(e.message).toContain('build.command');
  });

  it('reads limits.fuel and checks its range', () => {
    expect(toml('[limits]\nfuel = 5000000\n').limits.fuel).toBe(5_000_000);
    expect(toml('').limits.fuel).toBeUndefined();
    expect(tomlError('[limits]\nfuel = 10\n').message).toContain('`limits.fuel` must be between 1000');
  });

  it('reads [[bindings]] grants of host capabilities with their settings', () => {
    const m = toml('[[bindings]]\ntype = "geo"\nbinding = "GEO"\ntable = "eu"\n[[bindings]]\ntype = "geo"\nbinding = "GEO_US"\n');
    expect(m.bindings).toEqual([
      { type: 'geo', binding: 'GEO', settings: { table: 'eu' }, section: 'bindings', key: 'bindings[0]' },
      { type: 'geo', binding: 'GEO_US', settings: {}, section: 'bindings', key: 'bindings[1]' },
    ]);
  });

  it('refuses bindings without a type or name, duplicated, or clashing with a var', () => {
    expect(tomlError('[[bindings]]\nbinding = "GEO"\n').message).toContain('`bindings[0].type` is missing');
    expect(tomlError('[[bindings]]\ntype = "geo"\n').message).toContain('`bindings[0].binding` is missing');
    expect(tomlError('[[bindings]]\ntype = "geo"\nbinding = "my-geo"\n').message).toContain('a JavaScript identifier');
    expect(tomlError('[[bindings]]\ntype = "geo"\nbinding = "G"\n[[bindings]]\ntype = "geo"\nbinding = "G"\n').message).toContain('declared twice (bindings[0] and bindings[1])');
    expect(tomlError('[vars]\nG = 1\n[[bindings]]\ntype = "geo"\nbinding = "G"\n').message).toContain('has the name of a variable in [vars]');
  });
});

describe('findManifest / loadManifest', () => {
  const dirs: string[] = [];
  const tempDir = async () => {
    const d = await mkdtemp(join(tmpdir(), 'edge-manifest-'));
    dirs.push(d);
    return d;
  };
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  it.each(['wrangler.toml', 'wrangler.json', 'wrangler.jsonc'])('finds %s', async (fileName) => {
    const dir = await tempDir();
    const text = fileName.endsWith('.toml') ? 'name = "w"\nmain = "i.js"\n' : '{ "name": "w", "main": "i.js" }';
    await writeFile(join(dir, fileName), text);
    expect(await findManifest(dir)).toEqual({ fileName, path: join(dir, fileName), dir, text });
    expect(await loadManifest(dir)).toEqual({ fileName, manifest: expect.objectContaining({ name: 'w', main: 'i.js' }) });
  });

  it('rejects two manifests, naming both', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'wrangler.toml'), 'name = "w"\nmain = "i.js"\n');
    await writeFile(join(dir, 'wrangler.jsonc'), '{}');
    const e = await findManifest(dir).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(EdgeError);
    expect((e as EdgeError).code).toBe('E_MANIFEST_INVALID');
    expect((e as EdgeError).message).toContain('both wrangler.toml and wrangler.jsonc');
  });

  it('reports what it looked for when there is no manifest', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'wrangler.toml')); // a directory is not a manifest
    const e = (await findManifest(dir).catch((err: unknown) => err)) as EdgeError;
    expect(e.code).toBe('E_MANIFEST_NOT_FOUND');
    expect(e.message).toBe(`no manifest in ${dir}: looked for wrangler.toml, wrangler.json, wrangler.jsonc`);
    expect(e.details).toEqual({ dir, lookedFor: ['wrangler.toml', 'wrangler.json', 'wrangler.jsonc'] });
  });

  it('reports a missing directory', async () => {
    const dir = join(await tempDir(), 'nope');
    const e = (await loadManifest(dir).catch((err: unknown) => err)) as EdgeError;
    expect(e.code).toBe('E_MANIFEST_NOT_FOUND');
    expect(e.message).toContain('is not a directory');
  });

  it('loads the hello-js example', async () => {
    const { manifest, fileName } = await loadManifest('examples/hello-js');
    expect(fileName).toBe('wrangler.toml');
    expect(manifest).toMatchObject({ name: 'hello-js', main: 'index.js', compatibilityDate: '2026-11-01' });
  });
});

describe('parseManifestText: services, triggers and bundling', () => {
  it('reads service bindings, cron triggers and the bundling keys', () => {
    const m = toml('services = [{ binding = "AUTH", service = "auth-worker" }, { binding = "B", service = "b", entrypoint = "default" }]\nno_bundle = false\nminify = true\n[triggers]\ncrons = ["*/5 * * * *", "0 3 * * MON"]\n[define]\n"process.env.NODE_ENV" = "\\"production\\""\n[alias]\nfs = "./shim.js"\n');
    expect(m.bindings).toEqual([
      { type: 'service', binding: 'AUTH', settings: { service: 'auth-worker' }, section: 'services', key: 'services[0]' },
      { type: 'service', binding: 'B', settings: { service: 'b', entrypoint: 'default' }, section: 'services', key: 'services[1]' },
    ]);
    expect(m.crons).toEqual(['*/5 * * * *', '0 3 * * MON']);
    expect(m.bundle).toEqual({ enabled: true, minify: true, define: { 'process.env.NODE_ENV': '"production"' }, alias: { fs: './shim.js' } });
    expect(toml('no_bundle = true\n').bundle.enabled).toBe(false);
  });

  it('refuses bad service bindings with the key named', () => {
    expect(tomlError('services = [{ service = "a" }]\n').message).toContain('`services[0].binding` is missing');
    expect(tomlError('services = [{ binding = "A" }]\n').message).toContain('`services[0].service` is missing');
    expect(tomlError('services = [{ binding = "A", service = "Not_A_Name" }]\n').message).toContain('`services[0].service` must be a worker name');
    expect(tomlError('services = [{ binding = "A", service = "a", colour = 1 }]\n').message).toContain('unknown key `services[0].colour`');
    expect(tomlError('services = [{ binding = "A", service = "a" }, { binding = "A", service = "b" }]\n').message).toContain('declared twice');
  });

  it('refuses a service binding that shadows a variable, and named entrypoints', () => {
    expect(tomlError('services = [{ binding = "A", service = "a" }]\n[vars]\nA = "x"\n').message).toContain('declared twice (vars.A and services[0])');
    const e = tomlError('services = [{ binding = "A", service = "a", entrypoint = "Admin" }]\n');
    expect(e.code).toBe('E_BINDING_UNSUPPORTED');
    expect(e.message).toContain('named entrypoints');
  });

  it('refuses bad cron expressions, naming the entry and the problem', () => {
    expect(tomlError('[triggers]\ncrons = ["61 * * * *"]\n').message).toContain('`triggers.crons[0]` = "61 * * * *" is not a valid cron expression: Invalid value for minute');
    expect(tomlError('[triggers]\ncrons = ["* * *"]\n').message).toContain('expected 5 fields');
    expect(tomlError('[triggers]\ncrons = "* * * * *"\n').message).toContain('`triggers.crons` must be an array');
    expect(tomlError('[triggers]\ncron = ["* * * * *"]\n').message).toContain('did you mean `triggers.crons`');
    expect(tomlError('[triggers]\ncrons = ["* * * * *", "* * * * *"]\n').message).toContain('repeats');
  });

  it('reads KV namespaces and R2 buckets, refusing bad ids and clashing bindings', () => {
    const m = toml('kv_namespaces = [{ binding = "KV", id = "counter-ns", preview_id = "p" }]\nr2_buckets = [{ binding = "FILES", bucket_name = "my-files" }]\n');
    expect(m.bindings).toEqual([
      { type: 'kv', binding: 'KV', settings: { id: 'counter-ns' }, section: 'kv_namespaces', key: 'kv_namespaces[0]' },
      { type: 'r2', binding: 'FILES', settings: { bucketName: 'my-files' }, section: 'r2_buckets', key: 'r2_buckets[0]' },
    ]);
    expect(tomlError('r2_buckets = [{ binding = "B", bucket_name = "Bad_Name" }]\n').message).toContain('`r2_buckets[0].bucket_name` must be a bucket name');
    expect(tomlError('r2_buckets = [{ binding = "B", bucket = "x" }]\n').message).toContain('unknown key `r2_buckets[0].bucket`');
    expect(tomlError('kv_namespaces = [{ binding = "X", id = "a" }]\nr2_buckets = [{ binding = "X", bucket_name = "abc" }]\n').message).toContain('binding "X" is declared twice (kv_namespaces[0] and r2_buckets[0])');
    expect(tomlError('kv_namespaces = [{ binding = "KV" }]\n').message).toContain('`kv_namespaces[0].id` is missing');
    expect(tomlError('kv_namespaces = [{ binding = "KV", id = "../x" }]\n').message).toContain('`kv_namespaces[0].id` must be a namespace id');
    expect(tomlError('kv_namespaces = [{ binding = "KV", ide = "x" }]\n').message).toContain('unknown key `kv_namespaces[0].ide`');
    expect(tomlError('kv_namespaces = [{ binding = "X", id = "a" }, { binding = "X", id = "b" }]\n').message).toContain('binding "X" is declared twice (kv_namespaces[0] and kv_namespaces[1])');
    expect(tomlError('services = [{ binding = "X", service = "a" }]\nkv_namespaces = [{ binding = "X", id = "b" }]\n').message).toContain('declared twice (services[0] and kv_namespaces[0])');
  });

  it('refuses bundling keys of the wrong type', () => {
    expect(tomlError('no_bundle = "yes"\n').message).toContain('`no_bundle` must be a boolean');
    expect(tomlError('[define]\nX = 1\n').message).toContain('`define.X` must be a string');
  });

  it('keeps [[rules]] of types ESModule, CompiledWasm, Text and Data as written, with wrangler\'s fallthrough warnings', () => {
    const m = toml('[[rules]]\ntype = "Text"\nglobs = ["**/*.md"]\nfallthrough = true\n[[rules]]\ntype = "Data"\nglobs = ["**/*.dat"]\n[[rules]]\ntype = "ESModule"\nglobs = ["**/*.js"]\n');
    expect(m.bundle.rules).toEqual([{ type: 'Text', globs: ['**/*.md'], fallthrough: true }, { type: 'Data', globs: ['**/*.dat'] }, { type: 'ESModule', globs: ['**/*.js'] }]);
    expect(toml('').bundle.rules).toBeUndefined();
    // A Data rule without fallthrough ends wrangler's default Data rule (**/*.bin): said, as wrangler says it.
    const { warnings } = parseManifest('name = "w"\nmain = "index.js"\n[[rules]]\ntype = "Data"\nglobs = ["**/*.dat"]\n', 'wrangler.toml');
    expect(warnings).toEqual([expect.stringMatching(/^wrangler\.toml: The default module rule .*\*\*\/\*\.bin.* will be ignored\. To use the previous rule, add `fallthrough = true`/)]);
    expect(parseManifest('name = "w"\nmain = "index.js"\n[[rules]]\ntype = "Data"\nglobs = ["**/*.dat"]\nfallthrough = false\n', 'wrangler.toml').warnings).toEqual([]);
  });

  it('rejects [[rules]] with an unknown type, no globs or a non-boolean fallthrough, and refuses CommonJS by name', () => {
    expect(tomlError('[[rules]]\ntype = "Wasm"\nglobs = ["**/*.wasm"]\n').message).toContain('`rules[0].type` must be one of "ESModule", "CompiledWasm", "Text", "Data"');
    expect(tomlError('[[rules]]\ntype = "Text"\n').message).toContain('`rules[0].globs` must be a non-empty array of glob strings');
    expect(tomlError('[[rules]]\ntype = "Text"\nglobs = ["*.md"]\nfallthrough = "yes"\n').message).toContain('`rules[0].fallthrough` must be a boolean');
    expect(tomlError('[[rules]]\ntype = "Text"\nglobs = ["*.md"]\nmodule = true\n').message).toContain('rules[0]');
    const e = tomlError('[[rules]]\ntype = "CommonJS"\nglobs = ["**/*.cjs"]\n');
    expect(e.code).toBe('E_BINDING_UNSUPPORTED');
    expect(e.message).toContain('`rules` (module rules of type CommonJS (CommonJS modules are not uploaded as they are: remove `no_bundle`');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Every top-level wrangler key: accepted (silently, or with a warning when it has no effect here), or refused with all
// refused keys named in one error. Keys of the capabilities' own sections (kv_namespaces, ...) and `assets` have their
// own tests.

const parseJson = (extra: Record<string, unknown>, options: { env?: string } = {}) =>
  parseManifest(JSON.stringify({ name: 'w', main: 'index.js', ...extra }), 'wrangler.json', options);

/** One example each, as wrangler files write them; accepted without a warning. */
const ACCEPTED: Record<string, unknown> = {
  name: 'w',
  main: 'index.js',
  compatibility_date: '2025-04-01',
  compatibility_flags: ['nodejs_compat'],
  vars: { API_HOST: 'example.com' },
  routes: ['example.com/*', { pattern: 'shop.example.com/*', zone_name: 'example.com' }],
  route: 'example.com/*',
  limits: { cpu_ms: 100, subrequests: 50 },
  build: { watch_dir: './src' },
  bindings: [],
  triggers: { crons: ['*/5 * * * *'] },
  no_bundle: false,
  minify: true,
  define: { DEBUG: 'false' },
  alias: { 'node-fetch': './src/fetch-shim.js' },
  tsconfig: 'tsconfig.worker.json',
  jsx_factory: 'h',
  jsx_fragment: 'Fragment',
  rules: [{ type: 'ESModule', globs: ['**/*.js', '**/*.mjs'] }],
  $schema: 'node_modules/wrangler/config-schema.json',
  account_id: '0123456789abcdef',
  workers_dev: true,
  preview_urls: false,
  upload_source_maps: true,
  send_metrics: false,
  observability: { enabled: true, head_sampling_rate: 1, logs: { invocation_logs: true } },
  keep_vars: true,
  keep_names: true,
  dev: { port: 8787, ip: 'localhost', local_protocol: 'http' },
  legacy_env: true,
  zone_id: 'zone',
  first_party_worker: false,
  python_modules: { exclude: ['**/*.pyc'] },
  secrets: { required: ['API_TOKEN'] },
  configPath: '/home/me/app/wrangler.jsonc',
  userConfigPath: '/home/me/app/wrangler.jsonc',
  topLevelName: 'w',
  definedEnvironments: [],
};

/** Accepted, with a warning that says why the key has no effect here. */
const WARNED: Record<string, [unknown, RegExp]> = {
  placement: [{ mode: 'smart' }, /^wrangler\.json: `placement` is ignored: Smart Placement/],
  logpush: [true, /^wrangler\.json: `logpush` is ignored: Logpush is not available here; `edge tail` streams the logs$/],
  tail_consumers: [[{ service: 'my-tail' }], /^wrangler\.json: `tail_consumers` is ignored: Tail Workers are not supported/],
  streaming_tail_consumers: [[{ service: 'my-tail' }], /^wrangler\.json: `streaming_tail_consumers` is ignored: Tail Workers are not supported/],
  usage_model: ['bundled', /^wrangler\.json: `usage_model` is ignored: usage models are a Cloudflare billing setting/],
  env: [{ staging: { vars: { A: '1' } } }, /^wrangler\.json defines the environments staging; deployed the top-level configuration \(pass --env <name> to deploy one\)$/],
};

/** Refused, with what the key is and the env.X names it declares. */
const REFUSED: Record<string, [unknown, string, string[]]> = {
  queues: [{ producers: [{ binding: 'JOBS', queue: 'jobs' }], consumers: [{ queue: 'jobs' }] }, 'Queues', ['JOBS']],
  workflows: [[{ binding: 'FLOW', name: 'flow', class_name: 'Flow' }], 'Workflows', ['FLOW']],
  analytics_engine_datasets: [[{ binding: 'EVENTS', dataset: 'events' }], 'Analytics Engine', ['EVENTS']],
  vectorize: [[{ binding: 'VECTORS', index_name: 'idx' }], 'Vectorize', ['VECTORS']],
  ai: [{ binding: 'AI' }, 'Workers AI', ['AI']],
  ai_search: [[{ binding: 'SEARCH' }], 'AI Search', ['SEARCH']],
  ai_search_namespaces: [[{ binding: 'SEARCH_NS' }], 'AI Search', ['SEARCH_NS']],
  agent_memory: [[{ binding: 'MEMORY' }], 'agent memory', ['MEMORY']],
  browser: [{ binding: 'BROWSER' }, 'Browser Rendering', ['BROWSER']],
  hyperdrive: [[{ binding: 'HYPERDRIVE', id: 'x' }], 'Hyperdrive', ['HYPERDRIVE']],
  images: [{ binding: 'IMAGES' }, 'Images', ['IMAGES']],
  media: [{ binding: 'MEDIA' }, 'Media Transformations', ['MEDIA']],
  stream: [{ binding: 'STREAM' }, 'Stream', ['STREAM']],
  version_metadata: [{ binding: 'VERSION' }, 'version metadata', ['VERSION']],
  dispatch_namespaces: [[{ binding: 'DISPATCH', namespace: 'ns' }], 'Workers for Platforms dispatch namespaces', ['DISPATCH']],
  mtls_certificates: [[{ binding: 'CERT', certificate_id: 'c' }], 'mTLS certificates', ['CERT']],
  send_email: [[{ name: 'EMAIL' }], 'Email sending', ['EMAIL']],
  pipelines: [[{ binding: 'PIPE', pipeline: 'p' }], 'Pipelines', ['PIPE']],
  secrets_store_secrets: [[{ binding: 'STORED', store_id: 's', secret_name: 'n' }], 'Secrets Store (use `edge secret put` for secrets)', ['STORED']],
  ratelimits: [[{ name: 'LIMITER', namespace_id: '1', simple: { limit: 10, period: 60 } }], 'the Rate Limiting binding', ['LIMITER']],
  worker_loaders: [[{ binding: 'LOADER' }], 'Worker Loaders', ['LOADER']],
  vpc_services: [[{ binding: 'VPC', service_id: 's' }], 'VPC services', ['VPC']],
  vpc_networks: [[{ binding: 'NET', network_id: 'n' }], 'VPC networks', ['NET']],
  artifacts: [[{ binding: 'ARTIFACTS' }], 'artifacts', ['ARTIFACTS']],
  flagship: [[{ binding: 'FLAGS' }], 'feature flags', ['FLAGS']],
  connect: [[{ binding: 'CONNECT' }], 'connect', ['CONNECT']],
  k2: [[{ binding: 'K2' }], 'K2 bindings', ['K2']],
  exports: [{ Counter: { type: 'durable_object' } }, 'export settings', []],
  logfwdr: [{ bindings: [{ name: 'LOGS', destination: 'd' }] }, 'log forwarding', ['LOGS']],
  containers: [[{ class_name: 'Box', image: './Dockerfile', name: 'box' }], 'Containers', []],
  cloudchamber: [{ vcpu: 1 }, 'Containers', []],
  unsafe: [{ bindings: [{ name: 'X', type: 'custom' }] }, 'unsafe bindings', ['X']],
  unsafe_hello_world: [[{ binding: 'HELLO' }], 'unsafe bindings', ['HELLO']],
  wasm_modules: [{ MODULE: 'module.wasm' }, 'module bindings (wasm_modules)', []],
  text_blobs: [{ TEXT: 'text.txt' }, 'module bindings (text_blobs)', []],
  data_blobs: [{ DATA: 'data.bin' }, 'module bindings (data_blobs)', []],
  site: [{ bucket: './public' }, 'Workers Sites, replaced by static assets: write assets = { directory = "./public" } instead', []],
  node_compat: [true, 'the old node_compat mode', []],
  find_additional_modules: [true, 'additional unbundled modules', []],
  base_dir: ['./src', 'additional unbundled modules', []],
  preserve_file_names: [true, 'additional unbundled modules', []],
};

describe('every top-level wrangler key', () => {
  it('is accepted, warned about or refused here: the tables cover every key the parser knows', () => {
    const ownTests = new Set([...BUILTIN_SECTIONS.map((s) => s.section.key), 'assets']);
    const known = [...MANIFEST_KEYS.supported, ...MANIFEST_KEYS.ignored, ...MANIFEST_KEYS.warned, ...MANIFEST_KEYS.unsupported].filter((k) => !ownTests.has(k));
    expect([...Object.keys(ACCEPTED), ...Object.keys(WARNED), ...Object.keys(REFUSED)].sort()).toEqual([...new Set(known)].sort());
  });

  it.each(Object.entries(ACCEPTED))('accepts `%s` without a warning', (key, value) => {
    expect(parseJson({ [key]: value }).warnings).toEqual([]);
  });

  it.each(Object.entries(WARNED))('accepts `%s` with a warning', (key, [value, warning]) => {
    const { warnings } = parseJson({ [key]: value });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(warning);
  });

  it.each(Object.entries(REFUSED))('refuses `%s`, saying what it is and which env.X the worker would lack', (key, [value, what, bindings]) => {
    const e = errorOf(() => parseJson({ [key]: value }));
    expect(e.code).toBe('E_BINDING_UNSUPPORTED');
    expect(e.details).toEqual({ file: 'wrangler.json', key, keys: [key] });
    const named = bindings.length ? `: ${bindings.map((b) => `env.${b}`).join(', ')}` : '';
    expect(e.message).toContain(`wrangler.json: not deployed: this key is not supported yet by this runtime: \`${key}\` (${what}${named})`);
    if (bindings.length) expect(e.message).toContain(`the worker would find ${bindings.map((b) => `env.${b}`).join(', ')} undefined`);
    expect(e.message).not.toMatch(/remove/i);
  });

  it.each(Object.keys(REFUSED))('accepts `%s` when it declares nothing, as generated configs write it', (key) => {
    const empty = Array.isArray(REFUSED[key]![0]) ? [] : typeof REFUSED[key]![0] === 'object' ? {} : false;
    expect(parseJson({ [key]: empty }).warnings).toEqual([]);
  });

  it('names every refused key in one error (one deploy tells all a project needs)', () => {
    const e = errorOf(() => parseJson({
      queues: { producers: [{ binding: 'JOBS', queue: 'jobs' }] },
      ai: { binding: 'AI' },
      browser: { binding: 'BROWSER' },
      rules: [{ type: 'CommonJS', globs: ['**/*.cjs'] }],
      build: { command: 'npm run build' },
      observability: { enabled: true },
    }));
    expect(e.code).toBe('E_BINDING_UNSUPPORTED');
    expect(e.details).toEqual({ file: 'wrangler.json', key: 'queues', keys: ['queues', 'ai', 'browser', 'build.command', 'rules'] });
    expect(e.message).toBe(
      'wrangler.json: not deployed: these 5 keys are not supported yet by this runtime: `queues` (Queues: env.JOBS), `ai` (Workers AI: env.AI), ' +
        '`browser` (Browser Rendering: env.BROWSER), `build.command` (a custom build command: build with your own tooling and point `main` at its output), ' +
        '`rules` (module rules of type CommonJS (CommonJS modules are not uploaded as they are: remove `no_bundle` so that the bundler converts them to ES modules)); deployed without them, the worker would find env.JOBS, env.AI, env.BROWSER undefined. ' +
        'The README\'s "Moving a Workers project" lists what runs here.',
    );
  });

  it('accepts the wrangler.json that Cloudflare\'s vite plugin generates, empty binding sections and all', () => {
    const generated = {
      configPath: '/app/wrangler.jsonc', userConfigPath: '/app/wrangler.jsonc', topLevelName: 'w', definedEnvironments: [], legacy_env: true,
      compatibility_flags: [], jsx_factory: 'React.createElement', jsx_fragment: 'React.Fragment', rules: [{ type: 'ESModule', globs: ['**/*.js', '**/*.mjs'] }],
      triggers: {}, vars: {}, durable_objects: { bindings: [] }, workflows: [], migrations: [], exports: {}, kv_namespaces: [], cloudchamber: {}, send_email: [],
      queues: { producers: [], consumers: [] }, r2_buckets: [], d1_databases: [], vectorize: [], hyperdrive: [], services: [], analytics_engine_datasets: [],
      dispatch_namespaces: [], mtls_certificates: [], pipelines: [], secrets_store_secrets: [], unsafe_hello_world: [], ratelimits: [], worker_loaders: [],
      logfwdr: { bindings: [] }, python_modules: { exclude: ['**/*.pyc'] }, define: {}, build: { watch_dir: './src' }, no_bundle: true,
      dev: { ip: 'localhost', local_protocol: 'http', upstream_protocol: 'http', enable_containers: true, generate_types: false }, observability: { enabled: true },
    };
    const { manifest, warnings } = parseJson(generated);
    expect(warnings).toEqual([]);
    expect(manifest).toMatchObject({ name: 'w', main: 'index.js', bindings: [], bundle: { enabled: false, jsxFactory: 'React.createElement', jsxFragment: 'React.Fragment' } });
  });

  it('lowers wrangler\'s larger limits to this host\'s maximum with a warning, and still refuses nonsense', () => {
    const { manifest, warnings } = parseJson({ limits: { cpu_ms: 300_000, subrequests: 10_000 } });
    expect(manifest.limits).toMatchObject({ cpuMs: LIMIT_RANGES.cpuMs.max, subrequests: LIMIT_RANGES.subrequests.max });
    expect(warnings).toEqual([
      `wrangler.json: \`limits.cpu_ms\` = 300000 is above this host's maximum; the worker runs with ${LIMIT_RANGES.cpuMs.max} (milliseconds of CPU time per request)`,
      `wrangler.json: \`limits.subrequests\` = 10000 is above this host's maximum; the worker runs with ${LIMIT_RANGES.subrequests.max} (outgoing fetches per request)`,
    ]);
    expect(errorOf(() => parseJson({ limits: { memory_mb: 100_000 } })).code).toBe('E_MANIFEST_INVALID');
    expect(errorOf(() => parseJson({ limits: { cpu_ms: 0 } })).code).toBe('E_MANIFEST_INVALID');
  });

  it('reads the bundler keys tsconfig, jsx_factory and jsx_fragment', () => {
    expect(parseJson({ tsconfig: 'tsconfig.worker.json', jsx_factory: 'h', jsx_fragment: 'Fragment' }).manifest.bundle).toEqual({
      enabled: true, minify: false, define: {}, alias: {}, tsconfig: 'tsconfig.worker.json', jsxFactory: 'h', jsxFragment: 'Fragment',
    });
    expect(errorOf(() => parseJson({ tsconfig: 3 })).details).toEqual({ file: 'wrangler.json', key: 'tsconfig' });
  });
});

describe('parseManifest: environments (--env)', () => {
  const TOML = `
name = "api"
main = "src/index.js"
compatibility_date = "2025-04-01"
routes = ["api.example.com/*"]
[vars]
STAGE = "production"
[[kv_namespaces]]
binding = "CACHE"
id = "cache-prod"
[env.staging]
routes = ["staging.example.com/*"]
[env.staging.vars]
STAGE = "staging"
[env.dev]
name = "api-local"
send_metrics = false
`;
  it('deploys the section over the top level: its own vars and bindings (not inherited), the rest inherited, named <name>-<env>', () => {
    const { manifest, warnings } = parseManifest(TOML, 'wrangler.toml', { env: 'staging' });
    expect(warnings).toEqual([]);
    expect(manifest).toMatchObject({ name: 'api-staging', main: 'src/index.js', compatibilityDate: '2025-04-01', vars: { STAGE: 'staging' }, bindings: [], routes: [{ pattern: 'staging.example.com/*' }] });
  });

  it('keeps a name the section gives, and ignores top-level-only keys in it with a warning', () => {
    const { manifest, warnings } = parseManifest(TOML, 'wrangler.toml', { env: 'dev' });
    expect(manifest).toMatchObject({ name: 'api-local', vars: {}, routes: [{ pattern: 'api.example.com/*' }] });
    expect(warnings).toEqual(['wrangler.toml: `env.dev.send_metrics` is ignored: `send_metrics` can only be set at the top level']);
  });

  it('deploys the top level without --env, with a warning naming the environments', () => {
    const { manifest, warnings } = parseManifest(TOML, 'wrangler.toml');
    expect(manifest).toMatchObject({ name: 'api', vars: { STAGE: 'production' } });
    expect(manifest.bindings.map((b) => b.binding)).toEqual(['CACHE']);
    expect(warnings).toEqual(['wrangler.toml defines the environments staging, dev; deployed the top-level configuration (pass --env <name> to deploy one)']);
  });

  it('refuses an environment the manifest does not define, naming the ones it does', () => {
    const e = errorOf(() => parseManifest(TOML, 'wrangler.toml', { env: 'prod' }));
    expect(e.code).toBe('E_MANIFEST_INVALID');
    expect(e.message).toBe('wrangler.toml: --env prod: wrangler.toml has no environment "prod"; it defines staging, dev');
    expect(errorOf(() => parseManifest('name = "a"\nmain = "i.js"\n', 'wrangler.toml', { env: 'x' })).message).toBe('wrangler.toml: --env x: wrangler.toml has no environment "x" (no [env.x] section)');
  });

  it('refuses unsupported keys of the section too, all at once', () => {
    const e = errorOf(() => parseManifest(`${TOML}\n[env.bad]\nai = { binding = "AI" }\n[[env.bad.queues.producers]]\nbinding = "Q"\nqueue = "q"\n`, 'wrangler.toml', { env: 'bad' }));
    expect(e.details).toEqual({ file: 'wrangler.toml', key: 'ai', keys: ['ai', 'queues'] });
  });
});

describe('findManifest: build output redirects', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  it('follows .wrangler/deploy/config.json to the generated manifest, whose directory holds the code', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edge-redirect-'));
    dirs.push(dir);
    await mkdir(join(dir, '.wrangler/deploy'), { recursive: true });
    await mkdir(join(dir, 'dist/app'), { recursive: true });
    await writeFile(join(dir, 'wrangler.jsonc'), '{ "name": "app", "main": "src/index.ts" }');
    await writeFile(join(dir, '.wrangler/deploy/config.json'), '{ "configPath": "../../dist/app/wrangler.json" }');
    await writeFile(join(dir, 'dist/app/wrangler.json'), '{ "name": "app", "main": "index.js", "no_bundle": true }');
    const found = await findManifest(dir);
    expect(found).toMatchObject({ fileName: 'wrangler.json', path: join(dir, 'dist/app/wrangler.json'), dir: join(dir, 'dist/app'), redirectedBy: join(dir, '.wrangler/deploy/config.json') });
    await writeFile(join(dir, '.wrangler/deploy/config.json'), '{ "path": "x" }');
    expect(((await findManifest(dir).catch((e: unknown) => e)) as EdgeError).message).toContain('expected { "configPath": "<path of the generated wrangler.json>" }');
  });
});
