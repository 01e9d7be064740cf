// Bundling at deploy (host/deploy/bundle.ts via collectUpload, as `edge deploy` and `edge dev` do): TypeScript entries,
// npm packages from the worker's own node_modules, wrangler's bundling keys, errors with file:line:col, and stack
// traces in tail mapped back to the TypeScript source through the uploaded source map.

import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledEntryPath } from '../host/deploy/bundle.ts';
import { collectUpload, collectWorker } from '../host/deploy/upload.ts';
import type { TailEvent } from '../host/runtime/worker-types.ts';
import { startTestHost, type TestHost } from './helpers/test-host.ts';
import { startEdge, startEdgeDev } from './helpers/edge-cli.ts';
import { request } from './helpers/http.ts';
import { rejection, writeWorkerDir } from './helpers/worker-dir.ts';

const dirs: string[] = [];
let t: TestHost;
beforeAll(async () => {
  t = await startTestHost();
});
afterAll(async () => {
  await t?.close();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const worker = (files: Record<string, string>): Promise<string> => writeWorkerDir(files, dirs, 'edge-bundle-');

const toml = (name: string, main: string, extra = '') => `name = "${name}"\nmain = "${main}"\ncompatibility_date = "2026-11-01"\n${extra}\n`;

/**
 * An npm package with a Node build and a Workers build behind export conditions, as real packages ship them
 * (hono, postgres, ...): the bundle must pick the `workerd` one.
 */
const GREET_PACKAGE = {
  'node_modules/greet/package.json': JSON.stringify({
    name: 'greet',
    version: '1.0.0',
    type: 'module',
    exports: { '.': { workerd: './worker.js', node: './node.js', default: './node.js' } },
  }),
  'node_modules/greet/worker.js': 'export const greet = (who) => `hello ${who} from the workerd build`;\n',
  'node_modules/greet/node.js': "import { readFileSync } from 'node:fs';\nexport const greet = (who) => readFileSync(who, 'utf8');\n",
};

const TS_WORKER = `import { greet } from 'greet';

interface Env { WHO: string }

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/throw') {
      const depth: number = 3;
      throw new Error(\`thrown at depth \${depth}\`);
    }
    return new Response(greet(env.WHO));
  },
};
`;

describe('bundling at deploy', () => {
  it('maps main to the module the host runs', () => {
    expect(bundledEntryPath('src/index.ts')).toBe('src/index.js');
    expect(bundledEntryPath('src/index.tsx')).toBe('src/index.js');
    expect(bundledEntryPath('src/index.mts')).toBe('src/index.mjs');
    expect(bundledEntryPath('index.mjs')).toBe('index.mjs');
    expect(bundledEntryPath('index.js')).toBe('index.js');
  });

  it('bundles a TypeScript worker with an npm package from its own node_modules (workerd condition), deploys and serves it', async () => {
    const dir = await worker({ 'wrangler.toml': toml('ts-npm', 'src/index.ts', '[vars]\nWHO = "edge"'), 'src/index.ts': TS_WORKER, ...GREET_PACKAGE });
    const { upload, inputs } = await collectWorker(dir);
    expect(upload.modules.map((m) => m.path)).toEqual(['src/index.js', 'src/index.js.map']);
    const bundle = upload.modules[0]!.content;
    expect(bundle).toContain('from the workerd build');
    expect(bundle).not.toContain('node:fs');
    expect(bundle).toMatch(/\/\/# sourceMappingURL=index\.js\.map\s*$/);
    expect(inputs).toContain(join(dir, 'node_modules/greet/worker.js'));
    expect(inputs).toContain(join(dir, 'src/index.ts'));

    const res = await t.admin('POST', '/v1/workers', upload);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.version.main).toBe('src/index.js');
    const got = await t.get('ts-npm', '/');
    expect(got.status).toBe(200);
    expect(got.text).toBe('hello edge from the workerd build');
  });

  it('resolves packages from node_modules above the worker directory, as Node does', async () => {
    const dir = await worker({
      ...GREET_PACKAGE,
      'apps/w/wrangler.toml': toml('above', 'index.ts'),
      'apps/w/index.ts': "import { greet } from 'greet';\nexport default { fetch: () => new Response(greet('up')) };\n",
    });
    const upload = await collectUpload(join(dir, 'apps/w'));
    expect(upload.modules[0]!.content).toContain('from the workerd build');
  });

  it('maps the stack of an exception sent to tail to the .ts file and line', async () => {
    const dir = await worker({ 'wrangler.toml': toml('ts-throw', 'src/index.ts', '[vars]\nWHO = "x"'), 'src/index.ts': TS_WORKER, ...GREET_PACKAGE });
    expect((await t.admin('POST', '/v1/workers', await collectUpload(dir))).status).toBe(201);
    const events: TailEvent[] = [];
    const off = t.host.logs.subscribe('ts-throw', (ev) => events.push(ev));
    try {
      expect((await t.get('ts-throw', '/throw')).status).toBe(500);
      await expect.poll(() => events.find((e) => e.kind === 'exception')).toBeDefined();
    } finally {
      off();
    }
    const ev = events.find((e) => e.kind === 'exception')!;
    expect(ev.message).toContain('thrown at depth 3');
    // `throw new Error(...)` is on line 10 of src/index.ts, column 13 (the `new`).
    expect(ev.stack).toMatch(/at Object\.fetch \(src\/index\.ts:10:13\)/);
    expect(ev.stack).not.toContain('index.js');
  });

  it('edge tail prints the exception with the mapped stack', async () => {
    const tail = startEdge(['tail', 'ts-throw', '--format', 'json', '--admin-url', t.host.adminUrl, '--token', t.host.adminToken]);
    try {
      await tail.waitFor(/connected: tailing ts-throw/, 'stderr');
      expect((await t.get('ts-throw', '/throw')).status).toBe(500);
      const line = (await tail.waitFor(/^\{.*"kind":"exception".*\}$/m))[0];
      const ev = JSON.parse(line) as TailEvent;
      expect(ev.message).toBe('Uncaught Error: thrown at depth 3');
      expect(ev.stack).toMatch(/at Object\.fetch \(src\/index\.ts:10:13\)/);
    } finally {
      tail.kill();
    }
  });

  it('maps the stack of a deploy-time exception in the global scope too', async () => {
    const dir = await worker({ 'wrangler.toml': toml('ts-top', 'src/index.ts'), 'src/index.ts': "const limit: number = 2;\nif (limit > 1) {\n  throw new RangeError('limit too high');\n}\nexport default { fetch: () => new Response('x') };\n" });
    const res = await t.admin('POST', '/v1/workers', await collectUpload(dir));
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('limit too high');
    expect(res.body.error.details.stack).toContain('src/index.ts:3:9');
  });

  it('keeps the source map with the stored version: a restarted host still maps stacks', async () => {
    await t.restart();
    const events: TailEvent[] = [];
    const off = t.host.logs.subscribe('ts-throw', (ev) => events.push(ev));
    try {
      expect((await t.get('ts-throw', '/throw')).status).toBe(500);
      await expect.poll(() => events.find((e) => e.kind === 'exception')).toBeDefined();
    } finally {
      off();
    }
    expect(events.find((e) => e.kind === 'exception')!.stack).toContain('src/index.ts:10:13');
  });

  it('applies [define], [alias] and minify', async () => {
    const src = `import { tag } from 'tagger';
declare const BUILD_ID: string;
export default {
  fetch(): Response {
    const somethingLongNamed = { build: BUILD_ID, tag: tag(), mode: process.env.MODE };
    return Response.json(somethingLongNamed);
  },
};
`;
    const dir = await worker({
      'wrangler.toml': toml('defines', 'index.ts', 'minify = true\n[define]\nBUILD_ID = "\\"b-42\\""\n"process.env.MODE" = "\\"prod\\""\n[alias]\ntagger = "./shims/tagger.ts"'),
      'index.ts': src,
      'shims/tagger.ts': 'export const tag = (): string => "aliased";\n',
    });
    const upload = await collectUpload(dir);
    const bundle = upload.modules.find((m) => m.path === 'index.js')!.content;
    expect(bundle).not.toContain('somethingLongNamed');
    expect(bundle.split('\n').length).toBeLessThan(5);
    expect((await t.admin('POST', '/v1/workers', upload)).status).toBe(201);
    expect(JSON.parse((await t.get('defines', '/')).text)).toEqual({ build: 'b-42', tag: 'aliased', mode: 'prod' });
  });

  it('no_bundle = true uploads the modules as they are', async () => {
    const dir = await worker({
      'wrangler.toml': toml('raw', 'src/index.js', 'no_bundle = true'),
      'src/index.js': "import { x } from './lib.js';\nexport default { fetch: () => new Response(x) };\n",
      'src/lib.js': "export const x = 'unbundled';\n",
    });
    const upload = await collectUpload(dir);
    expect(upload.modules).toEqual([
      { path: 'src/index.js', content: "import { x } from './lib.js';\nexport default { fetch: () => new Response(x) };\n" },
      { path: 'src/lib.js', content: "export const x = 'unbundled';\n" },
    ]);
    expect((await t.admin('POST', '/v1/workers', upload)).status).toBe(201);
    expect((await t.get('raw', '/')).text).toBe('unbundled');

    const ts = await worker({ 'wrangler.toml': toml('raw-ts', 'index.ts', 'no_bundle = true'), 'index.ts': 'export default {}' });
    const e = await rejection(collectUpload(ts));
    expect(e.code).toBe('E_MODULE_NOT_FOUND');
    expect(e.message).toContain('no_bundle');
  });

  it('a syntax error in a .ts file names file:line:col', async () => {
    const dir = await worker({
      'wrangler.toml': toml('broken', 'src/index.ts'),
      'src/index.ts': "import { f } from './lib.ts';\nexport default { fetch: () => new Response(f()) };\n",
      'src/lib.ts': 'export function f(): string {\n  const a: number = 1\n  return a +* 2;\n}\n',
    });
    const e = await rejection(collectUpload(dir));
    expect(e.code).toBe('E_BUNDLE_FAILED');
    expect(e.message).toMatch(/src\/lib\.ts:3:13: Unexpected "\*"/);
    expect(e.details).toMatchObject({ file: 'src/lib.ts', line: 3, column: 13 });
  });

  it('an import of a Node built-in fails with a clear error at the import', async () => {
    const dir = await worker({
      'wrangler.toml': toml('nodey', 'index.ts'),
      'index.ts': "import { readFileSync } from 'node:fs';\nimport path from 'path';\nexport default { fetch: () => new Response(readFileSync(path.join('a', 'b'), 'utf8')) };\n",
    });
    const e = await rejection(collectUpload(dir));
    expect(e.code).toBe('E_BUNDLE_FAILED');
    expect(e.message).toMatch(/index\.ts:1:30: Could not resolve "node:fs": it is a Node\.js built-in module and the worker runtime has no Node\.js APIs/);
    expect(e.message).toMatch(/index\.ts:2:18: Could not resolve "path"/);
    expect(e.message).toContain('2 errors');
  });

  it('leaves cloudflare:workers to the runtime and refuses cloudflare: modules it lacks, by name', async () => {
    const ok = await worker({ 'wrangler.toml': toml('cfmod', 'index.ts'), 'index.ts': "import { WorkerEntrypoint } from 'cloudflare:workers';\nexport default class extends WorkerEntrypoint {}\n" });
    expect((await collectUpload(ok)).modules[0]!.content).toMatch(/from "cloudflare:workers"/);
    const dir = await worker({ 'wrangler.toml': toml('cfsock', 'index.ts'), 'index.ts': "import { connect } from 'cloudflare:sockets';\nexport default { fetch: () => connect('a:1') };\n" });
    const e = await rejection(collectUpload(dir));
    expect(e.code).toBe('E_BUNDLE_FAILED');
    expect(e.message).toMatch(/index\.ts:1:25: Could not resolve "cloudflare:sockets": TCP sockets \(connect\(\) from cloudflare:sockets\) are not supported by this runtime/);
  });

  it('a bare built-in name that an installed npm package provides resolves to the package', async () => {
    const dir = await worker({
      'wrangler.toml': toml('evts', 'index.ts'),
      'index.ts': "import { EventEmitter } from 'events';\nexport default { fetch: () => new Response(String(new EventEmitter().ok)) };\n",
      'node_modules/events/package.json': JSON.stringify({ name: 'events', version: '3.3.0', main: 'events.js' }),
      'node_modules/events/events.js': 'export class EventEmitter { ok = "polyfill" }\n',
    });
    expect((await collectUpload(dir)).modules[0]!.content).toContain('polyfill');
  });

  it('the host rejects a source map that maps no module or is not one', async () => {
    const base = { manifest: { fileName: 'wrangler.toml', content: toml('maps', 'index.js') }, modules: [{ path: 'index.js', content: 'export default { fetch: () => new Response("m") }' }] };
    const orphan = await t.admin('POST', '/v1/workers', { ...base, modules: [...base.modules, { path: 'other.js.map', content: '{}' }] });
    expect(orphan.status).toBe(400);
    expect(orphan.body.error.message).toContain('maps no uploaded module');
    const bad = await t.admin('POST', '/v1/workers', { ...base, modules: [...base.modules, { path: 'index.js.map', content: '{"version":2}' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('not a version 3 source map');
  });
});

describe('bundling in the CLI', () => {
  it('edge deploy exits non-zero and prints file:line:col for a bundling error, before contacting any host', async () => {
    const dir = await worker({ 'wrangler.toml': toml('cli-broken', 'src/index.ts'), 'src/index.ts': 'export default {\n  fetch() { return new Response(1 +); },\n};\n' });
    const deploy = startEdge(['deploy', dir, '--admin-url', 'http://127.0.0.1:9', '--token', 'x']);
    const { code } = await deploy.exited;
    expect(code).not.toBe(0);
    expect(deploy.stderr()).toMatch(/error E_BUNDLE_FAILED: bundling src\/index\.ts failed with 1 error:\nsrc\/index\.ts:2:36: Unexpected "\)"/);
    expect(deploy.stderr()).toMatch(/line: 2\n\s+column: 36/);
  });

  it('edge dev rebuilds when a file the bundle read changes outside the worker directory, and keeps serving through an error', async () => {
    const root = await worker({
      ...GREET_PACKAGE,
      'shared/version.ts': 'export const version = 1;\n',
      'w/wrangler.toml': toml('dev-bundle', 'src/index.ts'),
      'w/src/index.ts': "import { greet } from 'greet';\nimport { version } from '../../shared/version.ts';\nexport default { fetch: () => new Response(`${greet('dev')} v${version}`) };\n",
    });
    const { dev, url, host } = await startEdgeDev(join(root, 'w'));
    try {
      const body = async () => (await request(url + '/', { host })).text;
      expect(await body()).toBe('hello dev from the workerd build v1');

      // A package in node_modules (above the worker directory, which the directory watcher does not see).
      await writeFile(join(root, 'node_modules/greet/worker.js'), 'export const greet = (who) => `hi ${who}, edited`;\n');
      await dev.waitFor(/changed: \.\.\/node_modules\/greet\/worker\.js; redeploying[^]*deployed dev-bundle/);
      await expect.poll(body).toBe('hi dev, edited v1');

      // A source file outside the worker directory.
      await writeFile(join(root, 'shared/version.ts'), 'export const version = 2;\n');
      await expect.poll(body, { timeout: 15_000 }).toBe('hi dev, edited v2');

      // A syntax error: printed with its location, the previous version keeps serving.
      await writeFile(join(root, 'shared/version.ts'), 'export const version = ;\n');
      await dev.waitFor(/error E_BUNDLE_FAILED: [^]*\.\.\/shared\/version\.ts:1:24: Unexpected ";"/, 'stderr');
      await dev.waitFor(/previous version keeps serving/, 'stderr');
      expect(await body()).toBe('hi dev, edited v2');

      // A new import outside the directory that fails to bundle: fixing that file alone rebuilds.
      await writeFile(join(root, 'shared/version.ts'), "export { version } from './extra.ts';\n");
      await writeFile(join(root, 'shared/extra.ts'), 'export const version = 3 +;\n');
      await dev.waitFor(/\.\.\/shared\/extra\.ts:1:27: Unexpected ";"/, 'stderr');
      // The watcher takes the file on after the error is printed: saving again until it is seen, as an editor would.
      await expect
        .poll(async () => {
          await writeFile(join(root, 'shared/extra.ts'), 'export const version = 3;\n');
          return body();
        }, { timeout: 15_000, interval: 500 })
        .toBe('hi dev, edited v3');
    } finally {
      dev.kill();
    }
  }, 60_000);
});
