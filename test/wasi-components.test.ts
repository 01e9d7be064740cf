// Components from a foreign toolchain on a real host: componentize-js (StarlingMonkey) builds wasi:http/proxy
// components from the JS handlers in test/fixtures/wasi-components (cached in node_modules/.cache, see
// test/helpers/wasi-fixtures.ts); they are deployed through the admin API and called over HTTP. WASI 0.2 imports
// (stdout/stderr to the worker's log), wasi:http bodies streamed both ways, outgoing requests under the egress
// policy, a platform capability (KV) imported next to WASI, and the refusal of a WASI interface the host lacks.
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { componentizeFixture } from './helpers/wasi-fixtures.ts';
import { compileAssemblyScript } from '../host/build/assemblyscript.ts';
import { worldCoreImports } from '../host/build/component-tools.ts';
import { generateExportGlue } from '../guest-sdk/bindgen/assemblyscript/generate.ts';
import { loadWitDir } from '../guest-sdk/bindgen/wit/index.ts';
import { PROVIDED_WASI_INTERFACES } from '../host/deploy/component.ts';
import { startTestHost, type TestHost } from './helpers/test-host.ts';
import type { TailEvent } from '../host/runtime/worker-types.ts';

let t: TestHost;
let upstream: Server;
let privateUpstream: Server;
let upstreamPort: number;
let privatePort: number;
let upstreamHits = 0;
const fixtures = new Map<string, Uint8Array>();
let scratch: string | undefined;

/**
 * An AssemblyScript component of our own world (edge:platform/worker) that also imports wasi:cli/environment,
 * built with the project's binding generator: WASI is offered to components of either world.
 */
async function buildEnvComponent(): Promise<Uint8Array> {
  scratch = await mkdtemp(join(tmpdir(), 'edge-wasi-test-'));
  const witDir = join(scratch, 'wit');
  await mkdir(join(witDir, 'deps', 'wasi-cli'), { recursive: true });
  await cp(resolve(import.meta.dirname, '../wit'), join(witDir, 'deps', 'edge-platform'), { recursive: true });
  await writeFile(
    join(witDir, 'deps', 'wasi-cli', 'environment.wit'),
    'package wasi:cli@0.2.10;\ninterface environment {\n  get-environment: func() -> list<tuple<string, string>>;\n  get-arguments: func() -> list<string>;\n  initial-cwd: func() -> option<string>;\n}\n',
  );
  await writeFile(
    join(witDir, 'world.wit'),
    'package test:env@0.1.0;\nworld env-worker {\n  import edge:platform/http-types@0.1.0;\n  import wasi:cli/environment@0.2.10;\n  export edge:platform/incoming-handler@0.1.0;\n}\n',
  );
  const dir = join(scratch, 'guest');
  await mkdir(dir, { recursive: true });
  const { files } = generateExportGlue(await loadWitDir(witDir), 'env-worker', { coreImports: await worldCoreImports(witDir, 'env-worker') });
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
  await writeFile(
    join(dir, 'handler.ts'),
    `import { Request, Response, ResponseBody, TupleStringString } from "./glue-types";
import { getEnvironment, getArguments } from "./glue-imports";
export function handle(request: Request): Response {
  const body = request.body;
  if (body != null) body.drop();
  const env = getEnvironment();
  let out = "args=" + getArguments().length.toString() + "\\n";
  for (let i = 0; i < env.length; i++) out += env[i].f0 + "=" + env[i].f1 + "\\n";
  return new Response(200, new Array<TupleStringString>(), ResponseBody.bytes(Uint8Array.wrap(String.UTF8.encode(out))));
}
`,
  );
  return (await compileAssemblyScript({ entry: join(dir, 'glue.ts'), witDir, world: 'env-worker' })).component;
}

function toml(name: string, extra = '', limits = ''): string {
  return `name = "${name}"\nmain = "component.wasm"\ncompatibility_date = "2026-11-01"\n${extra}\n[limits]\ncpu_ms = 2000\n${limits}\n`;
}

async function deployComponent(name: string, component: Uint8Array, manifest = toml(name)) {
  return t.admin('POST', '/v1/workers', {
    manifest: { fileName: 'wrangler.toml', content: manifest },
    modules: [{ path: 'component.wasm', content: Buffer.from(component).toString('base64'), encoding: 'base64' }],
  });
}

async function deployOk(name: string, component: Uint8Array, manifest = toml(name)): Promise<void> {
  const d = await deployComponent(name, component, manifest);
  expect(d.status, JSON.stringify(d.body)).toBe(201);
}

beforeAll(async () => {
  // Built once per source and toolchain version (~15 s each the first time), then read from the cache.
  const [proxy, kv, config, env] = await Promise.all([
    componentizeFixture('proxy.js', 'proxy'),
    componentizeFixture('kv.js', 'proxy-kv'),
    componentizeFixture('config.js', 'proxy-config'),
    buildEnvComponent(),
  ]);
  fixtures.set('proxy', proxy).set('kv', kv).set('config', config).set('env', env);

  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    upstreamHits++;
    res.setHeader('x-upstream', `saw ${req.headers['x-from'] ?? 'nothing'}`);
    res.end(`upstream body for ${req.url}`);
  };
  // The egress policy refuses private addresses; 127.0.0.2 is allowed here (the upstream the component may reach),
  // 127.0.0.1 is not (the one it must not).
  upstream = createServer(answer);
  privateUpstream = createServer(answer);
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.2', resolve));
  await new Promise<void>((resolve) => privateUpstream.listen(0, '127.0.0.1', resolve));
  upstreamPort = (upstream.address() as AddressInfo).port;
  privatePort = (privateUpstream.address() as AddressInfo).port;
  t = await startTestHost({ egress: { allow: ['127.0.0.2/32'] } });
  if (process.env.EDGE_TEST_TAIL) t.host.logs.subscribeAll((e) => console.log('[tail]', e.worker, e.level, e.kind, e.message, e.stack ?? ''));
  await deployOk('wasi-proxy', proxy);
}, 240_000);

afterAll(async () => {
  await t?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
  await new Promise<void>((resolve) => upstream?.close(() => resolve()));
  await new Promise<void>((resolve) => privateUpstream?.close(() => resolve()));
});

describe('a wasi:http/proxy component built by componentize-js', () => {
  it('is a ~13 MB StarlingMonkey component that deploys as a worker', () => {
    expect(fixtures.get('proxy')!.byteLength).toBeGreaterThan(10 * 1024 * 1024);
  });

  it('routes on the path and sets response headers', async () => {
    const res = await t.get('wasi-proxy', '/');
    expect(res.status).toBe(200);
    expect(res.text).toBe('hello from componentize-js');
    expect(res.headers['x-fixture']).toBe('proxy');
    expect(res.headers['content-type']).toBe('text/plain');
    const missing = await t.get('wasi-proxy', '/nowhere');
    expect(missing.status).toBe(404);
    expect(missing.text).toBe('no route /nowhere');
  });

  it('sees the method, URL and request headers', async () => {
    const res = await t.get('wasi-proxy', '/headers?q=1', { method: 'POST', headers: { 'x-test': 'abc' }, body: '' });
    expect(res.status).toBe(201);
    expect(res.headers['x-reply']).toBe('re:abc');
    expect(JSON.parse(res.text)).toEqual({ method: 'POST', url: `http://wasi-proxy.localhost:${t.port}/headers?q=1`, test: 'abc' });
  });

  it('streams a response body in chunks', async () => {
    const res = await t.get('wasi-proxy', '/stream?n=50');
    expect(res.status).toBe(200);
    expect(res.text).toBe(Array.from({ length: 50 }, (_, i) => `chunk ${i}\n`).join(''));
    expect(res.headers['content-length']).toBeUndefined();
  });

  it('streams both ways: answers the first chunk of a request body before the client sends the rest', async () => {
    const got = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${t.host.dataUrl}/upper`, { method: 'POST', headers: { host: `wasi-proxy.localhost:${t.port}`, 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        let sentRest = false;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          // The first chunk came back while the request body is still open: now the client sends the rest.
          if (!sentRest && text.includes('HELLO ')) {
            sentRest = true;
            req.end('world');
          }
        });
        res.on('end', () => resolve(text));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.write('hello ');
      setTimeout(() => reject(new Error(`no streamed answer in time`)), 20_000).unref();
    });
    expect(got).toBe('HELLO WORLD\n11 bytes');
  });

  it('reads a large request body chunk by chunk', async () => {
    const body = 'abcdefghij'.repeat(100_000);
    const res = await t.get('wasi-proxy', '/upper', { method: 'POST', body });
    expect(res.status).toBe(200);
    expect(res.text).toBe(`${body.toUpperCase()}\n${body.length} bytes`);
  });

  it('waits for a timer (wasi:io/poll on a monotonic-clock pollable)', async () => {
    const started = performance.now();
    const res = await t.get('wasi-proxy', '/sleep?ms=60');
    expect(res.text).toBe('slept long enough');
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it("sends stdout and stderr to the worker's log (edge tail)", async () => {
    const events: TailEvent[] = [];
    const off = t.host.logs.subscribe('wasi-proxy', (e) => events.push(e));
    try {
      const res = await t.get('wasi-proxy', '/log?m=ping');
      expect(res.text).toBe('logged');
      for (let i = 0; i < 50 && events.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    } finally {
      off();
    }
    const lines = events.map((e) => `${e.level} ${e.message}`);
    // One log line per line printed: StarlingMonkey flushes between the text and its newline, which cuts no line.
    expect(lines).toEqual(['log stdout says ping', 'error stderr says ping']);
  });

  it('fetches through wasi:http/outgoing-handler where the egress policy allows it', async () => {
    const before = upstreamHits;
    const res = await t.get('wasi-proxy', `/fetch?url=${encodeURIComponent(`http://127.0.0.2:${upstreamPort}/x?y=1`)}`);
    expect(res.text).toBe('upstream 200 saw component: upstream body for /x?y=1');
    expect(upstreamHits).toBe(before + 1);
  });

  it('has an outgoing request refused by the egress policy (a private address)', async () => {
    const before = upstreamHits;
    const events: TailEvent[] = [];
    const off = t.host.logs.subscribe('wasi-proxy', (e) => events.push(e));
    let res;
    try {
      res = await t.get('wasi-proxy', `/fetch?url=${encodeURIComponent(`http://127.0.0.1:${privatePort}/secret`)}`);
    } finally {
      off();
    }
    expect(res.status).toBe(502);
    expect(res.text).toMatch(/^fetch failed/);
    expect(upstreamHits).toBe(before);
    expect(events.some((e) => e.message.includes('egress policy') && e.message.includes('127.0.0.1'))).toBe(true);
  });

  it('counts outgoing requests against the subrequest limit', async () => {
    await deployOk('wasi-proxy-limited', fixtures.get('proxy')!, toml('wasi-proxy-limited', '', 'subrequests = 1'));
    const url = encodeURIComponent(`http://127.0.0.2:${upstreamPort}/one`);
    expect((await t.get('wasi-proxy-limited', `/fetch?url=${url}`)).status).toBe(200);
    const before = upstreamHits;
    const twice = await t.get('wasi-proxy-limited', `/fetch-twice?url=${url}`);
    expect(twice.status).toBe(503);
    expect(twice.headers['x-edge-error']).toBe('E_SUBREQUEST_LIMIT');
    expect(upstreamHits).toBe(before + 1);
  });

  it('gets a new instance per request whose memory does not add up against memory_mb', async () => {
    // StarlingMonkey's memory starts at 9 MiB: without forgetting the memories of dropped instances, a few requests
    // would exceed a 32 MB budget before the garbage collector ran.
    await deployOk('wasi-proxy-small', fixtures.get('proxy')!, toml('wasi-proxy-small', '', 'memory_mb = 32'));
    for (let i = 0; i < 12; i++) {
      const res = await t.get('wasi-proxy-small', '/');
      expect(res.status, res.text).toBe(200);
    }
  });

  it('cold-starts again after its isolate is evicted', async () => {
    expect(t.host.runtime.evict('wasi-proxy')).toBe(true);
    const res = await t.get('wasi-proxy', '/');
    expect(res.text).toBe('hello from componentize-js');
  });
});

describe('WASI components and the platform', () => {
  it('provides in the isolate exactly the WASI interfaces the deploy accepts', async () => {
    const prelude = resolve(import.meta.dirname, '../host/runtime/js/prelude');
    const source = (await readFile(join(prelude, 'wasi.js'), 'utf8')) + (await readFile(join(prelude, 'wasi-http.js'), 'utf8'));
    const keys = new Set([...source.matchAll(/^\s*'(wasi:[a-z-]+\/[a-z-]+)': /gm)].map((m) => m[1]));
    expect([...keys].sort()).toEqual([...PROVIDED_WASI_INTERFACES].sort());
  });

  it("gives a component of the platform's own world wasi:cli/environment, made of [vars]", async () => {
    await deployOk('wasi-env', fixtures.get('env')!, toml('wasi-env', '[vars]\nGREETING = "hello"\nLIMIT = 3\n'));
    const res = await t.get('wasi-env', '/');
    expect(res.status, res.text).toBe(200);
    expect(res.text).toBe('args=0\nGREETING=hello\nLIMIT=3\n');
  });

  it('a wasi:http/proxy component imports the KV capability it is granted', async () => {
    await deployOk('wasi-kv', fixtures.get('kv')!, toml('wasi-kv', '[[kv_namespaces]]\nbinding = "STORE"\nid = "wasi-kv-store"\n'));
    expect((await t.get('wasi-kv', '/greeting')).status).toBe(404);
    const put = await t.get('wasi-kv', '/greeting', { method: 'PUT', body: 'hello kv' });
    expect(put.status, put.text).toBe(201);
    const got = await t.get('wasi-kv', '/greeting');
    expect(got.status).toBe(200);
    expect(got.text).toBe('hello kv');
    expect(got.headers['x-metadata']).toBe('from-component');
  });

  it('refuses the KV import when the manifest grants no KV', async () => {
    const d = await deployComponent('wasi-kv-ungranted', fixtures.get('kv')!);
    expect(d.status).toBe(400);
    expect(d.body.error.code).toBe('E_IMPORT_NOT_GRANTED');
    expect(d.body.error.message).toContain('edge:platform/kv');
  });

  it('refuses at deploy a component importing a WASI interface the host does not provide, naming it', async () => {
    const d = await deployComponent('wasi-config', fixtures.get('config')!);
    expect(d.status).toBe(400);
    expect(d.body.error.code).toBe('E_IMPORT_NOT_GRANTED');
    expect(d.body.error.message).toContain('wasi:config/store');
    expect(d.body.error.message).toContain('Provided WASI 0.2 interfaces');
    expect((await t.get('wasi-config', '/')).status).toBe(404);
  });

  it('keeps serving a wasi:http/proxy component across a host restart (its world is stored with it)', async () => {
    await t.restart();
    const res = await t.get('wasi-proxy', '/');
    expect(res.status, res.text).toBe(200);
    expect(res.text).toBe('hello from componentize-js');
  });
});
