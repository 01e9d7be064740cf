// buildWorker on the AssemblyScript examples (built, transpiled with jco, run in Node with JS platform imports),
// determinism, errors pointed at the worker's own files, and the temporary build directory.

import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyText, instantiateWorker, request, type TestWorker } from '../../guest-sdk/assemblyscript/test-worker.ts';
import { BuildError } from './errors.ts';
import { buildWorker } from './worker-build.ts';

const EXAMPLES = resolve(import.meta.dirname, '../../examples');

const tempDirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A worker directory with the given files, outside the repo. */
async function workerDir(files: Record<string, string>): Promise<string> {
  const dir = await tempDir('edge-worker-build-');
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

async function buildFailure(options: Parameters<typeof buildWorker>[0]): Promise<BuildError> {
  const e = await buildWorker(options).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BuildError);
  return e as BuildError;
}

describe('hello-as', () => {
  let worker: TestWorker;
  let component: Uint8Array;
  beforeAll(async () => {
    const built = await buildWorker({ dir: join(EXAMPLES, 'hello-as'), main: 'assembly/index.ts' });
    expect(built.warnings).toEqual([]);
    component = built.component;
    worker = await instantiateWorker(component);
  }, 60_000);
  afterAll(() => worker?.dispose());

  it('answers hello and logs the request line', () => {
    const res = worker.handle(request('GET', 'http://hello-as.localhost:8787/path?x=1'));
    expect(res.status).toBe(200);
    expect(res.headers).toEqual([['content-type', 'text/plain;charset=UTF-8']]);
    expect(bodyText(res)).toBe('hello from http://hello-as.localhost:8787/path?x=1\n');
    expect(worker.recorder.logs).toEqual([{ level: 'info', message: 'GET /path' }]);
  });

  it('is deterministic: the same worker gives the same bytes, also from another directory', async () => {
    const again = await buildWorker({ dir: join(EXAMPLES, 'hello-as'), main: 'assembly/index.ts' });
    expect(Buffer.from(again.component).equals(Buffer.from(component))).toBe(true);
    const copy = join(await tempDir('edge-hello-copy-'), 'somewhere', 'else');
    await cp(join(EXAMPLES, 'hello-as'), copy, { recursive: true });
    const moved = await buildWorker({ dir: copy, main: './assembly/index.ts' });
    expect(Buffer.from(moved.component).equals(Buffer.from(component))).toBe(true);
  }, 60_000);
});

describe('echo-as', () => {
  let worker: TestWorker;
  beforeAll(async () => {
    const built = await buildWorker({ dir: join(EXAMPLES, 'echo-as'), main: 'assembly/index.ts' });
    expect(built.warnings).toEqual([]);
    worker = await instantiateWorker(built.component);
  }, 60_000);
  afterAll(() => worker?.dispose());

  interface Echo { method: string; path: string; query: [string, string][]; headers: [string, string][]; body: string }
  const echo = (...args: Parameters<typeof request>): Echo => {
    const res = worker.handle(request(...args));
    expect(res.status).toBe(200);
    expect(res.headers).toEqual([['content-type', 'application/json']]);
    return JSON.parse(bodyText(res)) as Echo;
  };

  it('echoes method, path, decoded query, repeated headers in order, and non-ASCII text', () => {
    const text = 'grüße 世界 "quoted" \\ ✓ 🎉\nline two';
    const got = echo('PUT', 'http://echo-as.localhost/a/b%20c?name=J%C3%BCrgen+M&x=1&x=2&empty=&flag', [['accept', 'a'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-ü', 'ö']], text);
    expect(got).toEqual({
      method: 'PUT',
      path: '/a/b%20c',
      query: [['name', 'Jürgen M'], ['x', '1'], ['x', '2'], ['empty', ''], ['flag', '']],
      headers: [['accept', 'a'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-ü', 'ö']],
      body: text,
    });
  });

  it('echoes requests without a body and with an empty one', () => {
    expect(echo('GET', 'http://echo-as.localhost/')).toEqual({ method: 'GET', path: '/', query: [], headers: [], body: '' });
    const req = request('POST', 'http://echo-as.localhost/', [], '');
    expect(JSON.parse(bodyText(worker.handle(req))).body).toBe('');
    expect(req.body!.dropped).toBe(1);
  });

  it('reads a 1 MB body in chunks', () => {
    const big = 'abcdefghij'.repeat(100_000) + 'é';
    const req = request('POST', 'http://echo-as.localhost/big', [], big);
    const res = worker.handle(req);
    expect((JSON.parse(bodyText(res)) as Echo).body).toBe(big);
    // The test body hands out at most 16 KiB + 7 per read, so the guest had to ask again and again until none.
    expect(req.body!.reads.length).toBeGreaterThan(60);
    expect(req.body!.dropped).toBe(1);
  });

  it('/stream streams the raw body back through begin-response', () => {
    const bytes = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7) % 256);
    const res = worker.handle(request('POST', 'http://echo-as.localhost/stream', [['content-type', 'application/x-test']], bytes));
    expect(res.body).toEqual({ tag: 'streamed' });
    const begun = worker.recorder.begun.at(-1)!;
    expect(begun.status).toBe(200);
    expect(begun.headers).toEqual([['content-type', 'application/x-test']]);
    expect(begun.body.chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(begun.body.chunks).equals(Buffer.from(bytes))).toBe(true);
    expect(begun.body.dropped).toBe(1);
  });

  it('keeps its memory flat over 1,000 calls', () => {
    const body = 'ü'.repeat(4000);
    const loop = () => {
      for (let i = 0; i < 1000; i++) {
        const res = worker.handle(request('POST', `http://echo-as.localhost/p?i=${i}`, [['x-n', String(i)]], body));
        if (res.status !== 200) throw new Error(`status ${res.status}`);
      }
      worker.recorder.begun.length = 0;
    };
    loop();
    const before = worker.memory()!.buffer.byteLength;
    loop();
    expect(worker.memory()!.buffer.byteLength).toBe(before);
  });
});

describe('fib-as', () => {
  it('computes fib(n) (built with -O3 as its manifest says)', async () => {
    const built = await buildWorker({ dir: join(EXAMPLES, 'fib-as'), main: 'assembly/index.ts', optimize: true });
    const worker = await instantiateWorker(built.component);
    try {
      expect(bodyText(worker.handle(request('GET', 'http://fib-as.localhost/?n=20')))).toBe('fib(20) = 6765\n');
      expect(bodyText(worker.handle(request('GET', 'http://fib-as.localhost/?n=0')))).toBe('fib(0) = 0\n');
      expect(worker.handle(request('GET', 'http://fib-as.localhost/')).status).toBe(400);
      expect(worker.handle(request('GET', 'http://fib-as.localhost/?n=abc')).status).toBe(400);
      expect(worker.handle(request('GET', 'http://fib-as.localhost/?n=93')).status).toBe(400);
    } finally {
      await worker.dispose();
    }
  }, 120_000);
});

describe('workers anywhere on disk', () => {
  it('resolves relative imports and the worker’s own node_modules packages', async () => {
    const dir = await workerDir({
      'src/index.ts': `import { Request, Response } from "@edge/guest";\nimport { shout } from "./util/shout";\nimport { greet } from "as-greet";\nexport function fetch(request: Request): Response {\n  return Response.text(shout(greet(request.path)));\n}\n`,
      'src/util/shout.ts': 'export function shout(s: string): string { return s.toUpperCase() + "!"; }\n',
      'node_modules/as-greet/index.ts': 'export function greet(who: string): string { return "hi " + who; }\n',
    });
    const worker = await instantiateWorker((await buildWorker({ dir, main: 'src/index.ts' })).component);
    try {
      expect(bodyText(worker.handle(request('GET', 'http://x.localhost/bob')))).toBe('HI /BOB!');
    } finally {
      await worker.dispose();
    }
  }, 60_000);
});

describe('build errors', () => {
  it('point at the worker’s own file, line and column, without temporary paths', async () => {
    const dir = await workerDir({
      'assembly/index.ts': `import { Request, Response } from "@edge/guest";\nimport { count } from "./count";\nexport function fetch(request: Request): Response {\n  return Response.text(count(request.url).toString());\n}\n`,
      'assembly/count.ts': `export function count(s: string): i32 {\n  const n: i32 = s;\n  return n;\n}\n`,
    });
    const e = await buildFailure({ dir, main: 'assembly/index.ts' });
    expect(e.code).toBe('E_BUILD_FAILED');
    expect(e.diagnostics).toHaveLength(1);
    expect(e.diagnostics[0]).toMatchObject({ file: 'assembly/count.ts', line: 2, column: 18, code: 2322 });
    expect(e.message).toContain("assembly/count.ts:2:18: Type '~lib/string/String' is not assignable to type 'i32'.");
    expect(e.message).not.toMatch(/edge-as-build|\/tmp\/|glue|handler\.ts/);
  }, 60_000);

  it('a main without fetch names the signature to write', async () => {
    const dir = await workerDir({ 'main.ts': 'import { Response } from "@edge/guest";\nexport function handler(): Response { return new Response("x"); }\n' });
    const e = await buildFailure({ dir, main: 'main.ts' });
    expect(e.diagnostics[0]!.file).toBe('main.ts');
    expect(e.message).toContain('main.ts must `export function fetch(request: Request): Response`');
  }, 60_000);

  it('a fetch of the wrong type names the signature to write', async () => {
    const dir = await workerDir({ 'main.ts': 'export function fetch(n: i32): i32 { return n; }\n' });
    const e = await buildFailure({ dir, main: 'main.ts' });
    expect(e.diagnostics.every((d) => d.file === 'main.ts')).toBe(true);
    expect(e.message).toContain('must `export function fetch(request: Request): Response`');
  }, 60_000);

  it('AssemblyScript\'s global console (an env import) is explained', async () => {
    const dir = await workerDir({ 'main.ts': 'import { Request, Response } from "@edge/guest";\nexport function fetch(request: Request): Response {\n  console.log("hi");\n  return new Response("x");\n}\n' });
    const e = await buildFailure({ dir, main: 'main.ts' });
    expect(e.message).toContain('failed to resolve import `env::console.log`');
    expect(e.message).toContain('main.ts uses AssemblyScript\'s global console, which imports from a JS host (env): import { console } from "@edge/guest" instead');
  }, 60_000);

  it('a missing or escaping main', async () => {
    const dir = await workerDir({ 'other.ts': '' });
    expect((await buildFailure({ dir, main: 'assembly/index.ts' })).message).toBe(`main assembly/index.ts not found in ${dir}`);
    expect((await buildFailure({ dir, main: '../x.ts' })).message).toContain('must be a path inside the worker directory');
    expect((await buildFailure({ dir, main: 'index.js' })).message).toContain('must be an AssemblyScript file (.ts)');
  });

  it('the temporary build directory is removed after a build and after a failure', async () => {
    const scratch = await tempDir('edge-build-scratch-');
    await buildWorker({ dir: join(EXAMPLES, 'hello-as'), main: 'assembly/index.ts', tempDir: scratch });
    expect(await readdir(scratch)).toEqual([]);
    const broken = await workerDir({ 'main.ts': 'export function fetch(: i32 {}\n' });
    await buildFailure({ dir: broken, main: 'main.ts', tempDir: scratch });
    expect(await readdir(scratch)).toEqual([]);
  }, 60_000);
});
