// Moving a Workers project here unmodified, against a real host on loopback: a create-cloudflare hello-world (with
// `observability`), deploy warnings for keys without effect, every refused key in one error, `--env` sections,
// `cloudflare:workers` (env at module top level, WorkerEntrypoint classes, DurableObject/RpcTarget base classes),
// refusals of cloudflare:sockets and WorkflowEntrypoint, the build output of Cloudflare's vite plugin
// (.wrangler/deploy/config.json, a generated wrangler.json, dynamic import() between unbundled modules), and
// `process.env.NODE_ENV` in bundles.

import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectWorker } from '../host/deploy/upload.ts';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';
import { startEdge } from './helpers/edge-cli.ts';
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

const workerDir = (files: Record<string, string>): Promise<string> => writeWorkerDir(files, dirs, 'edge-compat-');

/** Deploys the worker directory as `edge deploy` does (collect, bundle, upload). */
async function deployDir(dir: string, options: { env?: string } = {}) {
  const collected = await collectWorker(dir, options);
  return { collected, res: await t.admin('POST', '/v1/workers', collected.upload) };
}

/** create-cloudflare's "Hello World" worker (TypeScript), as `npm create cloudflare` writes it. */
const C3_HELLO_WORLD = {
  'wrangler.jsonc': '{\n\t"name": "my-first-worker",\n\t"main": "src/index.ts",\n\t"compatibility_date": "2025-04-01",\n\t"compatibility_flags": ["nodejs_compat"],\n\t"observability": {\n\t\t"enabled": true,\n\t},\n}\n',
  'src/index.ts':
    "/**\n * Welcome to Cloudflare Workers! This is your first worker.\n */\n\nexport default {\n\tasync fetch(request, env, ctx): Promise<Response> {\n\t\treturn new Response('Hello World!');\n\t},\n} satisfies ExportedHandler<Env>;\n",
  'package.json': '{ "name": "my-first-worker", "version": "0.0.0", "private": true, "scripts": { "deploy": "wrangler deploy", "dev": "wrangler dev" } }\n',
  'tsconfig.json': '{ "compilerOptions": { "target": "es2024", "module": "es2022", "moduleResolution": "Bundler", "strict": true, "types": ["./worker-configuration.d.ts"] } }\n',
};

describe('wrangler projects as they are', () => {
  it('deploys an unmodified create-cloudflare hello-world with `observability`, naming the real main file', async () => {
    const dir = await workerDir(C3_HELLO_WORLD);
    const { collected, res } = await deployDir(dir);
    expect(res.status).toBe(201);
    expect(res.body.warnings).toEqual([]);
    expect(collected.main).toBe(`${dir}/src/index.ts`);
    expect((await t.get('my-first-worker')).text).toBe('Hello World!');
  });

  it('edge deploy prints the host\'s warnings and the main file as the manifest names it', async () => {
    const dir = await workerDir({ ...C3_HELLO_WORLD, 'wrangler.jsonc': C3_HELLO_WORLD['wrangler.jsonc'].replace('"name": "my-first-worker"', '"name": "cli-hello", "placement": { "mode": "smart" }') });
    const cli = startEdge(['deploy', '.', '--admin-url', t.host.adminUrl, '--token', t.host.adminToken], { cwd: dir });
    const { code } = await cli.exited;
    expect(code).toBe(0);
    expect(cli.stdout()).toMatch(/^deployed cli-hello version \S+ \(main src\/index\.ts\)\n/);
    expect(cli.stderr()).toMatch(/^warning wrangler\.jsonc: `placement` is ignored: Smart Placement/);
    expect((await t.get('cli-hello')).text).toBe('Hello World!');
  });

  it('serves routes whose pattern has a port, on any port', async () => {
    const res = await t.deploy('ported', { toml: manifestFor('ported', 'index.js', 'routes = ["app.example.com:8787/*"]'), modules: { 'index.js': 'export default { fetch: () => new Response("ported") };' } });
    expect(res.status).toBe(201);
    expect((await request(`${t.host.dataUrl}/x`, { host: `app.example.com:${t.port}` })).text).toBe('ported');
  });

  it('returns warnings for keys that have no effect here, and deploys', async () => {
    const toml = manifestFor('warned', 'index.js', 'placement = { mode = "smart" }\nlogpush = true\ntail_consumers = [{ service = "tail" }]\n[limits]\ncpu_ms = 300000\n[observability]\nenabled = true\n');
    const res = await t.deploy('warned', { toml, modules: { 'index.js': 'export default { fetch: () => new Response("ok") };' } });
    expect(res.status).toBe(201);
    expect(res.body.warnings).toEqual([
      expect.stringMatching(/^wrangler\.toml: `placement` is ignored: Smart Placement/),
      expect.stringMatching(/^wrangler\.toml: `logpush` is ignored/),
      expect.stringMatching(/^wrangler\.toml: `tail_consumers` is ignored/),
      'wrangler.toml: `limits.cpu_ms` = 300000 is above this host\'s maximum; the worker runs with 30000 (milliseconds of CPU time per request)',
    ]);
    expect((await t.get('warned')).text).toBe('ok');
  });

  it('refuses a project with unsupported bindings in one error naming all of them, and what env.X would lack', async () => {
    const toml = manifestFor('refused', 'index.js', '[[queues.producers]]\nbinding = "JOBS"\nqueue = "jobs"\n[ai]\nbinding = "AI"\n[[vectorize]]\nbinding = "VECTORS"\nindex_name = "v"\n');
    const res = await t.deploy('refused', { toml, modules: { 'index.js': 'export default { fetch: () => new Response("ok") };' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('E_BINDING_UNSUPPORTED');
    expect(res.body.error.details.keys).toEqual(['queues', 'ai', 'vectorize']);
    expect(res.body.error.message).toContain('`queues` (Queues: env.JOBS), `ai` (Workers AI: env.AI), `vectorize` (Vectorize: env.VECTORS)');
    expect(res.body.error.message).toContain('the worker would find env.JOBS, env.AI, env.VECTORS undefined');
    expect(res.body.error.message).not.toMatch(/remove/i);
    expect((await t.get('refused')).status).toBe(404);
  });

  it('deploys an `env.<name>` section with --env: its vars and routes, named <name>-<env>', async () => {
    const dir = await workerDir({
      'wrangler.toml': 'name = "envs"\nmain = "index.js"\n[vars]\nSTAGE = "top"\n[env.staging]\nroutes = ["staging.example.com/*"]\n[env.staging.vars]\nSTAGE = "staging"\n',
      'index.js': 'export default { fetch: (req, env) => new Response(env.STAGE) };\n',
    });
    const top = await deployDir(dir);
    expect(top.res.status).toBe(201);
    expect(top.res.body.warnings).toEqual(['wrangler.toml defines the environments staging; deployed the top-level configuration (pass --env <name> to deploy one)']);
    expect((await t.get('envs')).text).toBe('top');
    const staging = await deployDir(dir, { env: 'staging' });
    expect(staging.res.status).toBe(201);
    expect(staging.res.body).toMatchObject({ name: 'envs-staging', routes: ['staging.example.com/*'], warnings: [] });
    expect((await t.get('envs-staging')).text).toBe('staging');
    const missing = await rejection(collectWorker(dir, { env: 'production' }));
    expect(missing.message).toBe('wrangler.toml: --env production: wrangler.toml has no environment "production"; it defines staging');
  });
});

describe('cloudflare:workers', () => {
  it('gives `env` at module top level: the same object the handlers get', async () => {
    const res = await t.deploy('cf-env', {
      toml: manifestFor('cf-env', 'index.js', '[vars]\nGREETING = "hello from vars"\n'),
      modules: {
        'index.js':
          'import { env } from "cloudflare:workers";\nconst atStart = env.GREETING;\n' +
          'export default { fetch: (req, handlerEnv) => Response.json({ atStart, same: env === handlerEnv }) };\n',
      },
    });
    expect(res.status).toBe(201);
    expect(JSON.parse((await t.get('cf-env')).text)).toEqual({ atStart: 'hello from vars', same: true });
  });

  it('gives an empty `env` to a worker without vars or bindings', async () => {
    const res = await t.deploy('cf-env-empty', {
      modules: { 'index.js': 'import { env } from "cloudflare:workers";\nexport default { fetch: (req, e) => Response.json({ keys: Object.keys(env), same: env === e }) };\n' },
    });
    expect(res.status).toBe(201);
    expect(JSON.parse((await t.get('cf-env-empty')).text)).toEqual({ keys: [], same: true });
  });

  it('runs a default export extending WorkerEntrypoint: a new instance per request with this.env and this.ctx', async () => {
    const res = await t.deploy('cf-entry', {
      toml: manifestFor('cf-entry', 'index.js', '[vars]\nWHO = "entrypoint"\n'),
      modules: {
        'index.js':
          'import { WorkerEntrypoint } from "cloudflare:workers";\nlet made = 0;\n' +
          'export default class extends WorkerEntrypoint {\n  constructor(ctx, env) { super(ctx, env); made++; }\n' +
          '  async fetch(request) { this.ctx.waitUntil(Promise.resolve()); return Response.json({ who: this.env.WHO, path: new URL(request.url).pathname, made }); }\n}\n',
      },
    });
    expect(res.status).toBe(201);
    const first = JSON.parse((await t.get('cf-entry', '/a')).text);
    const second = JSON.parse((await t.get('cf-entry', '/b')).text);
    expect(first).toMatchObject({ who: 'entrypoint', path: '/a' });
    expect(second).toMatchObject({ who: 'entrypoint', path: '/b', made: first.made + 1 });
  });

  it('exports DurableObject and RpcTarget base classes', async () => {
    const res = await t.deploy('cf-classes', {
      modules: {
        'index.js':
          'import { DurableObject, RpcTarget } from "cloudflare:workers";\n' +
          'export class Counter extends DurableObject { constructor(ctx, env) { super(ctx, env); } }\nclass Thing extends RpcTarget {}\n' +
          'export default { fetch: () => { const c = new Counter("ctx", { A: 1 }); return Response.json({ ctx: c.ctx, env: c.env, rpc: new Thing() instanceof RpcTarget }); } };\n',
      },
    });
    expect(res.status).toBe(201);
    expect(JSON.parse((await t.get('cf-classes')).text)).toEqual({ ctx: 'ctx', env: { A: 1 }, rpc: true });
  });

  it('refuses WorkflowEntrypoint and cloudflare:sockets at deploy, by name', async () => {
    const wf = await t.deploy('cf-workflow', { modules: { 'index.js': 'import { WorkflowEntrypoint } from "cloudflare:workers";\nexport class W extends WorkflowEntrypoint {}\nexport default { fetch: () => new Response("x") };\n' } });
    expect(wf.status).toBe(400);
    expect(wf.body.error.code).toBe('E_BINDING_UNSUPPORTED');
    expect(wf.body.error.message).toBe('index.js: cannot import { WorkflowEntrypoint } from "cloudflare:workers": WorkflowEntrypoint (Workflows) is not supported by this runtime.');
    const sockets = await t.deploy('cf-sockets', { modules: { 'index.js': 'import { connect } from "cloudflare:sockets";\nexport default { fetch: () => connect("a:1") };\n' } });
    expect(sockets.status).toBe(400);
    expect(sockets.body.error.code).toBe('E_BINDING_UNSUPPORTED');
    expect(sockets.body.error.message).toBe('index.js: cannot import "cloudflare:sockets": TCP sockets (connect() from cloudflare:sockets) are not supported by this runtime: a worker reaches the network through fetch().');
  });

  it('bundles `import { env } from "cloudflare:workers"` in TypeScript', async () => {
    const dir = await workerDir({
      'wrangler.toml': manifestFor('cf-ts', 'src/index.ts', '[vars]\nNAME = "ts"\n'),
      'src/index.ts': 'import { env, WorkerEntrypoint } from "cloudflare:workers";\nconst name: string = (env as { NAME: string }).NAME;\nexport default class extends WorkerEntrypoint { fetch() { return new Response(name); } }\n',
    });
    expect((await deployDir(dir)).res.status).toBe(201);
    expect((await t.get('cf-ts')).text).toBe('ts');
  });
});

describe('build output of Cloudflare\'s vite plugin', () => {
  /** What `vite build` with @cloudflare/vite-plugin leaves: the user's config, the generated one, its redirect, chunks loaded by import(). */
  const VITE_PROJECT = {
    'wrangler.jsonc': '{ "name": "vite-app", "main": "src/index.ts", "compatibility_date": "2025-04-01", "observability": { "enabled": true } }\n',
    'src/index.ts': 'export default { fetch: () => new Response("source, not the build") };\n',
    '.wrangler/deploy/config.json': '{"configPath":"../../dist/vite_app/wrangler.json","auxiliaryWorkers":[]}',
    'dist/vite_app/wrangler.json': JSON.stringify({
      configPath: '/home/me/vite-app/wrangler.jsonc', userConfigPath: '/home/me/vite-app/wrangler.jsonc', topLevelName: 'vite-app', definedEnvironments: [], legacy_env: true,
      compatibility_date: '2025-04-01', compatibility_flags: [], jsx_factory: 'React.createElement', jsx_fragment: 'React.Fragment',
      rules: [{ type: 'ESModule', globs: ['**/*.js', '**/*.mjs'] }], name: 'vite-app', main: 'index.js', triggers: {}, vars: { FROM: 'generated config' },
      durable_objects: { bindings: [] }, workflows: [], migrations: [], exports: {}, kv_namespaces: [], cloudchamber: {}, send_email: [],
      queues: { producers: [], consumers: [] }, r2_buckets: [], d1_databases: [], vectorize: [], ai_search_namespaces: [], ai_search: [], agent_memory: [],
      hyperdrive: [], services: [], analytics_engine_datasets: [], dispatch_namespaces: [], mtls_certificates: [], pipelines: [], secrets_store_secrets: [],
      artifacts: [], unsafe_hello_world: [], flagship: [], worker_loaders: [], ratelimits: [], vpc_services: [], vpc_networks: [], logfwdr: { bindings: [] },
      python_modules: { exclude: ['**/*.pyc'] }, define: {}, build: { watch_dir: './src' },
      dev: { ip: 'localhost', local_protocol: 'http', upstream_protocol: 'http', enable_containers: true, generate_types: false },
      observability: { enabled: true }, no_bundle: true,
    }),
    'dist/vite_app/index.js':
      'const routes = { "/page": () => import("./assets/page-Bx1.js"), "/missing": () => import("./assets/" + "nope.js") };\n' +
      'export default { async fetch(request, env) { const load = routes[new URL(request.url).pathname];\n' +
      '  if (!load) return new Response(`index ${env.FROM}`);\n  try { const m = await load(); return new Response(m.render()); } catch (e) { return new Response(String(e), { status: 500 }); } } };\n',
    'dist/vite_app/assets/page-Bx1.js': 'import { shared } from "./shared-C2.js";\nexport function render() { return `page ${shared}`; }\n',
    'dist/vite_app/assets/shared-C2.js': 'export const shared = "with a shared chunk";\n',
  };

  it('follows .wrangler/deploy/config.json to the generated wrangler.json and deploys its output unmodified', async () => {
    const dir = await workerDir(VITE_PROJECT);
    const { collected, res } = await deployDir(dir);
    expect(collected.redirectedBy).toBe(`${dir}/.wrangler/deploy/config.json`);
    expect(collected.manifestPath).toBe(`${dir}/dist/vite_app/wrangler.json`);
    expect(collected.upload.modules.map((m) => m.path)).toEqual(['assets/page-Bx1.js', 'assets/shared-C2.js', 'index.js']);
    expect(res.status).toBe(201);
    expect(res.body.warnings).toEqual([]);
    expect((await t.get('vite-app')).text).toBe('index generated config');
  });

  it('lets unbundled modules import() their own modules', async () => {
    expect((await t.get('vite-app', '/page')).text).toBe('page with a shared chunk');
    const missing = await t.get('vite-app', '/missing');
    expect(missing.status).toBe(500);
    expect(missing.text).toBe('TypeError: import("./assets/nope.js") in index.js: no module assets/nope.js was loaded; import() reaches the uploaded modules that some import() names by a literal path');
  });

  it('links a module imported by two others once, also when the modules are large enough to compile off the main thread', async () => {
    // Over 256 KiB of source: the host compiles asynchronously, and isolated-vm resolves imports concurrently.
    const padding = `/* ${'x'.repeat(300 * 1024)} */\n`;
    const dir = await workerDir({
      'wrangler.toml': 'name = "shared-chunk"\nmain = "index.js"\nno_bundle = true\ncompatibility_date = "2025-04-01"\n',
      'index.js': `import { token } from "./assets/shared.js";\nexport default { async fetch() { const m = await import("./assets/route.js"); return new Response(String(m.token === token) + " " + m.count()); } };\n`,
      'assets/route.js': `${padding}import { token, count } from "./shared.js";\nexport { token, count };\n`,
      'assets/shared.js': 'export const token = {};\nlet n = 0;\nexport function count() { return ++n; }\n',
    });
    const { res } = await deployDir(dir);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect((await t.get('shared-chunk')).text).toBe('true 1');
    expect((await t.get('shared-chunk')).text).toBe('true 2');
  });

  it('says to build first when the redirect points at nothing', async () => {
    const dir = await workerDir({ 'wrangler.toml': 'name = "x"\nmain = "src/index.js"\n', '.wrangler/deploy/config.json': '{"configPath":"../../dist/x/wrangler.json"}' });
    const e = await rejection(collectWorker(dir));
    expect(e.code).toBe('E_MANIFEST_NOT_FOUND');
    expect(e.message).toContain('which does not exist: build the project first');
  });
});

describe('process.env.NODE_ENV', () => {
  it('is "production" in what edge deploy bundles, "development" for edge dev, and [define] wins', async () => {
    const src = 'export default { fetch: () => new Response(process.env.NODE_ENV) };\n';
    const dir = await workerDir({ 'wrangler.toml': manifestFor('node-env', 'index.ts'), 'index.ts': src });
    expect((await deployDir(dir)).res.status).toBe(201);
    expect((await t.get('node-env')).text).toBe('production');
    const dev = await collectWorker(dir, { mode: 'development' });
    expect((await t.admin('POST', '/v1/workers', dev.upload)).status).toBe(201);
    expect((await t.get('node-env')).text).toBe('development');
    const defined = await workerDir({ 'wrangler.toml': manifestFor('node-env-def', 'index.ts', '[define]\n"process.env.NODE_ENV" = "\\"staging\\""\n'), 'index.ts': src });
    expect((await deployDir(defined)).res.status).toBe(201);
    expect((await t.get('node-env-def')).text).toBe('staging');
  });
});
