// WebAssembly, text and data modules in JS workers, as wrangler's module rules give them: `import mod from
// "./x.wasm"` is a WebAssembly.Module (compiled by the host, handed into the isolate), `.txt`/`.html`/`.sql` a
// string, `.bin` an ArrayBuffer, `[[rules]]` adding types and globs; bundled from source by `edge deploy`, uploaded
// as they are (`no_bundle`, a build tool's output directory), restored after a host restart, and the memory an
// instance of such a module grows counted in the worker's `limits.memory_mb`. Against a real host on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { collectUpload } from '../host/deploy/upload.ts';
import { globToRegExp, parseRules } from '../host/deploy/module-rules.ts';
import { startTestHost, type TestHost } from './helpers/test-host.ts';
import { rejection } from './helpers/worker-dir.ts';

/**
 * A hand-written core module: `add(a, b)`, `grow(pages)` (memory.grow, -1 when it cannot) and `pages()`, over one
 * memory of 1 page with no maximum that it does not export (so only the host's rewrite lets the runtime see it).
 */
const TINY_WASM = Buffer.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  // types: (i32 i32) -> i32, (i32) -> i32, () -> i32
  0x01, 0x10, 0x03, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x01, 0x7f,
  // functions
  0x03, 0x04, 0x03, 0x00, 0x01, 0x02,
  // memory: 1 page, no maximum
  0x05, 0x03, 0x01, 0x00, 0x01,
  // exports: add, grow, pages
  0x07, 0x16, 0x03, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00, 0x04, 0x67, 0x72, 0x6f, 0x77, 0x00, 0x01, 0x05, 0x70, 0x61, 0x67, 0x65, 0x73, 0x00, 0x02,
  // code
  0x0a, 0x15, 0x03,
  0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b,
  0x06, 0x00, 0x20, 0x00, 0x40, 0x00, 0x0b,
  0x04, 0x00, 0x3f, 0x00, 0x0b,
]);

let t: TestHost;
const dirs: string[] = [];

async function workerDir(files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edge-wasm-'));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

async function deployDir(dir: string): Promise<{ status: number; body: any }> {
  return t.admin('POST', '/v1/workers', await collectUpload(dir));
}

beforeAll(async () => {
  t = await startTestHost();
});
afterAll(async () => {
  await t?.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A worker reporting what its value-module imports are. */
const REPORTER = `
import mod from './tiny.wasm';
import again from './tiny.wasm?module';
import text from './hello.txt';
import page from './page.html';
import query from './q.sql';
import data from './blob.bin';
export default {
  fetch() {
    const instance = new WebAssembly.Instance(mod);
    return Response.json({
      isModule: mod instanceof WebAssembly.Module,
      same: mod === again,
      sum: instance.exports.add(2, 40),
      exports: Object.keys(instance.exports),
      moduleExports: WebAssembly.Module.exports(mod).map((e) => e.name),
      text, page, query,
      isArrayBuffer: data instanceof ArrayBuffer,
      data: [...new Uint8Array(data)],
    });
  },
};
`;
const REPORTED = {
  isModule: true,
  same: true,
  sum: 42,
  exports: ['add', 'grow', 'pages'],
  moduleExports: ['add', 'grow', 'pages'],
  text: 'héllo\n',
  page: '<p>hi</p>',
  query: 'SELECT 1;',
  isArrayBuffer: true,
  data: [0, 1, 2, 255],
};
const REPORTER_FILES = {
  'tiny.wasm': TINY_WASM,
  'hello.txt': 'héllo\n',
  'page.html': '<p>hi</p>',
  'q.sql': 'SELECT 1;',
  'blob.bin': new Uint8Array([0, 1, 2, 255]),
};

describe('module rules', () => {
  it('matches globs as wrangler does (on the specifier, `**/*.wasm` matching ./x.wasm) and applies fallthrough', () => {
    expect(globToRegExp('**/*.wasm').test('./x.wasm')).toBe(true);
    expect(globToRegExp('**/*.wasm?module').test('./x.wasm?module')).toBe(true);
    expect(globToRegExp('**/*.wasm').test('x.wasm')).toBe(false);
    expect(globToRegExp('**/*.wasm', { globstar: true }).test('x.wasm')).toBe(true);
    expect(globToRegExp('**/*.wasm', { globstar: true }).test('lib/a/x.wasm')).toBe(true);
    expect(globToRegExp('*.txt', { globstar: true }).test('lib/x.txt')).toBe(false);
    // A Text rule without fallthrough ends the default Text rule (.txt then is no longer text), with wrangler's warning.
    const ended = parseRules([{ type: 'Text', globs: ['**/*.md'] }]);
    expect(ended.rules.map((r) => r.type)).toEqual(['Text', 'Data', 'CompiledWasm']);
    expect(ended.warnings[0]).toMatch(/default module rule .*\*\*\/\*\.txt.* will be ignored/);
    const through = parseRules([{ type: 'Text', globs: ['**/*.md'], fallthrough: true }]);
    expect(through.rules.map((r) => r.type)).toEqual(['Text', 'Text', 'Data', 'CompiledWasm']);
    expect(through.warnings).toEqual([]);
  });
});

describe('WebAssembly, text and data modules', () => {
  it('bundled from source: a .wasm import is a WebAssembly.Module, .txt/.html/.sql strings, .bin an ArrayBuffer', async () => {
    const dir = await workerDir({ 'wrangler.toml': 'name = "wm-bundled"\nmain = "src/index.js"\n', 'src/index.js': REPORTER, ...Object.fromEntries(Object.entries(REPORTER_FILES).map(([k, v]) => [`src/${k}`, v])) });
    const upload = await collectUpload(dir);
    // Uploaded beside the bundle under wrangler's `<sha1>-<name>`, typed.
    const wasm = upload.modules.find((m) => m.path.endsWith('-tiny.wasm'))!;
    expect(wasm).toMatchObject({ type: 'CompiledWasm', encoding: 'base64' });
    expect(wasm.path).toMatch(/^src\/[0-9a-f]{40}-tiny\.wasm$/);
    expect(upload.modules.find((m) => m.path.endsWith('-hello.txt'))).toMatchObject({ type: 'Text', content: 'héllo\n' });
    const bundle = upload.modules.find((m) => m.path === 'src/index.js')!.content;
    expect(bundle).toMatch(/from "\.\/[0-9a-f]{40}-tiny\.wasm"/);
    const r = await deployDir(dir);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const res = await t.get('wm-bundled');
    expect(res.status, res.text).toBe(200);
    expect(JSON.parse(res.text)).toEqual(REPORTED);
  });

  it('[[rules]] make other files text or data, and a rule ending its type turns the default off', async () => {
    const toml =
      'name = "wm-rules"\nmain = "index.js"\n' +
      '[[rules]]\ntype = "Text"\nglobs = ["**/*.md"]\n' +
      '[[rules]]\ntype = "Data"\nglobs = ["**/*.dat"]\nfallthrough = true\n';
    const dir = await workerDir({
      'wrangler.toml': toml,
      'index.js': `import md from './readme.md'; import dat from './x.dat'; import bin from './y.bin';
        export default { fetch: () => Response.json({ md, dat: new Uint8Array(dat).length, bin: new Uint8Array(bin).length }) };`,
      'readme.md': '# Title',
      'x.dat': new Uint8Array(3),
      'y.bin': new Uint8Array(5),
    });
    expect((await deployDir(dir)).status).toBe(201);
    expect(JSON.parse((await t.get('wm-rules')).text)).toEqual({ md: '# Title', dat: 3, bin: 5 });

    // The Text rule above ended Text: `.txt` is no longer text, and importing it says which rule ignored it.
    await writeFile(join(dir, 'index.js'), `import t from './a.txt'; export default { fetch: () => new Response(t) };`);
    await writeFile(join(dir, 'a.txt'), 'x');
    const e = await rejection(collectUpload(dir));
    expect(e.code).toBe('E_BUNDLE_FAILED');
    expect(e.message).toContain('./a.txt matched a module rule');
    expect(e.message).toContain('fallthrough = true');
  });

  it('a missing .wasm is named in the error, bundled or not', async () => {
    const bundled = await workerDir({ 'wrangler.toml': 'name = "wm-missing"\nmain = "index.js"\n', 'index.js': `import m from './gone.wasm'; export default { fetch: () => new Response(String(m)) };` });
    const e = await rejection(collectUpload(bundled));
    expect(e.code).toBe('E_BUNDLE_FAILED');
    expect(e.message).toMatch(/index\.js:1:\d+: Could not resolve "\.\/gone\.wasm"/);

    const unbundled = await workerDir({ 'wrangler.toml': 'name = "wm-missing"\nmain = "index.js"\nno_bundle = true\n', 'index.js': `import m from './gone.wasm'; export default { fetch: () => new Response(String(m)) };` });
    const r = await deployDir(unbundled);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('E_MODULE_NOT_FOUND');
    expect(r.body.error.message).toContain('cannot import "./gone.wasm": no uploaded module at "gone.wasm"');
  });

  it('a file that is not WebAssembly is refused at deploy, naming it', async () => {
    const dir = await workerDir({ 'wrangler.toml': 'name = "wm-bad"\nmain = "index.js"\n', 'index.js': `import m from './bad.wasm'; export default { fetch: () => new Response(String(m)) };`, 'bad.wasm': 'not wasm at all' });
    const r = await deployDir(dir);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('E_MODULE_INVALID');
    expect(r.body.error.message).toMatch(/-bad\.wasm: not a valid WebAssembly module/);
  });

  it('uploaded as they are (no_bundle, a build tool\'s output directory): the .wasm beside the JS is found by the rules', async () => {
    const dir = await workerDir({
      // What `wrangler deploy --dry-run --outdir` leaves: the bundle, and the modules it imports beside it.
      'dist/wrangler.json': JSON.stringify({ name: 'wm-prebundled', main: 'index.js', no_bundle: true, compatibility_date: '2026-11-01', rules: [{ type: 'ESModule', globs: ['**/*.js'] }] }),
      'dist/index.js': REPORTER.replaceAll('./', './lib/'),
      ...Object.fromEntries(Object.entries(REPORTER_FILES).map(([k, v]) => [`dist/lib/${k}`, v])),
      '.wrangler/deploy/config.json': JSON.stringify({ configPath: '../../dist/wrangler.json' }),
    });
    const upload = await collectUpload(dir);
    expect(upload.modules.map((m) => [m.path, m.type])).toEqual([
      ['index.js', undefined],
      ['lib/blob.bin', 'Data'],
      ['lib/hello.txt', 'Text'],
      ['lib/page.html', 'Text'],
      ['lib/q.sql', 'Text'],
      ['lib/tiny.wasm', 'CompiledWasm'],
    ]);
    const r = await t.admin('POST', '/v1/workers', upload);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(JSON.parse((await t.get('wm-prebundled')).text)).toEqual(REPORTED);

    // An API upload that does not type its files: the manifest's rules type them by path.
    const untyped = { ...upload, manifest: { ...upload.manifest, content: upload.manifest.content.replace('wm-prebundled', 'wm-untyped') }, modules: upload.modules.map(({ type: _type, ...m }) => m) };
    expect((await t.admin('POST', '/v1/workers', untyped)).status).toBe(201);
    expect(JSON.parse((await t.get('wm-untyped')).text)).toEqual(REPORTED);
  });

  it('value modules are stored with the version: the worker serves them after a host restart', async () => {
    await t.restart();
    expect(JSON.parse((await t.get('wm-bundled')).text)).toEqual(REPORTED);
    expect(JSON.parse((await t.get('wm-prebundled')).text)).toEqual(REPORTED);
  });
});

describe('memory of wasm instantiated from an imported module', () => {
  it('is counted in limits.memory_mb: growing past it stops the request with E_MEMORY_LIMIT, other workers unaffected', async () => {
    const dir = await workerDir({
      'wrangler.toml': 'name = "wm-grow"\nmain = "index.js"\n[limits]\nmemory_mb = 16\n',
      'tiny.wasm': TINY_WASM,
      // Each instance's memory (not exported by the module) may grow up to the budget on its own; two of them
      // together pass it, which only the accounting of every instance's memory can see.
      'index.js': `import mod from './tiny.wasm';
        export default { fetch(request) {
          const n = Number(new URL(request.url).searchParams.get('instances'));
          const out = [];
          for (let i = 0; i < n; i++) { const inst = new WebAssembly.Instance(mod); out.push(inst.exports.grow(160), inst.exports.pages()); }
          globalThis.keep = out;
          return Response.json(out);
        } };`,
    });
    expect((await deployDir(dir)).status).toBe(201);
    const one = await t.get('wm-grow', '/?instances=1');
    expect(one.status, one.text).toBe(200);
    expect(JSON.parse(one.text)).toEqual([1, 161]); // 10 MiB in one instance: under the budget

    const two = await t.get('wm-grow', '/?instances=2');
    expect(two.status).toBe(503);
    expect(two.headers['x-edge-error']).toBe('E_MEMORY_LIMIT');
    // Another worker keeps serving, and this one comes back in a new isolate.
    expect((await t.get('wm-bundled')).status).toBe(200);
    expect((await t.get('wm-grow', '/?instances=1')).status).toBe(200);
  });

  it('one instance cannot grow its memory past the budget (memory.grow fails)', async () => {
    const dir = await workerDir({
      'wrangler.toml': 'name = "wm-cap"\nmain = "index.js"\n[limits]\nmemory_mb = 8\n',
      'tiny.wasm': TINY_WASM,
      'index.js': `import mod from './tiny.wasm';
        export default { fetch() { const inst = new WebAssembly.Instance(mod); return Response.json([inst.exports.grow(1000), inst.exports.pages()]); } };`,
    });
    expect((await deployDir(dir)).status).toBe(201);
    const res = await t.get('wm-cap');
    expect(res.status, res.text).toBe(200);
    expect(JSON.parse(res.text)).toEqual([-1, 1]);
  });
});
