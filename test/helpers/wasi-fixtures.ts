// Components built by a foreign toolchain for the WASI tests: componentize-js (StarlingMonkey) turns the JS handlers
// of test/fixtures/wasi-components into wasi:http/proxy components. A build takes ~15 s and makes ~13 MB, so the
// result is cached in node_modules/.cache/edge-wasi-fixtures, keyed by the sources, the WIT and the toolchain's
// versions; nothing built is committed.
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(import.meta.dirname, '../..');
const FIXTURES = join(ROOT, 'test/fixtures/wasi-components');
// Its real path: componentize-js reads the WIT through the preview2 shim, which fails on a path through a symlink
// ("reading file .../wit"), as node_modules is in a git worktree that links the main checkout's.
const CACHE = join(realpathSync(join(ROOT, 'node_modules')), '.cache/edge-wasi-fixtures');
/** jco's copy of the WASI 0.2 WIT (0.2.12); componentize-js 0.23's StarlingMonkey is built against 0.2.10. */
const WASI_WIT = join(ROOT, 'node_modules/@bytecodealliance/jco/lib/wit/builtin/0.2.12');
const WASI_VERSION = '0.2.10';
const PLATFORM_WIT = join(ROOT, 'wit');

const run = promisify(execFile);

async function versionOf(pkg: string): Promise<string> {
  const require = createRequire(join(ROOT, 'package.json'));
  const text = await readFile(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8').catch(() => readFile(require.resolve(`${pkg}/package.json`), 'utf8'));
  return (JSON.parse(text) as { version: string }).version;
}

/** The fixtures' WIT: worlds.wit, WASI 0.2.12 renamed to 0.2.10 (the interfaces are the same), edge:platform. */
async function witDir(dir: string): Promise<void> {
  await mkdir(join(dir, 'deps'), { recursive: true });
  await cp(join(FIXTURES, 'worlds.wit'), join(dir, 'worlds.wit'));
  for (const pkg of await readdir(WASI_WIT)) {
    const text = await readFile(join(WASI_WIT, pkg, 'package.wit'), 'utf8');
    await mkdir(join(dir, 'deps', pkg), { recursive: true });
    await writeFile(join(dir, 'deps', pkg, 'package.wit'), text.replaceAll('@0.2.12', `@${WASI_VERSION}`));
  }
  await mkdir(join(dir, 'deps', 'wasi-config'), { recursive: true });
  await cp(join(FIXTURES, 'wasi-config.wit'), join(dir, 'deps', 'wasi-config', 'package.wit'));
  await mkdir(join(dir, 'deps', 'edge-platform'), { recursive: true });
  for (const f of await readdir(PLATFORM_WIT)) if (f.endsWith('.wit')) await cp(join(PLATFORM_WIT, f), join(dir, 'deps', 'edge-platform', f));
}

async function cacheKey(source: string, world: string): Promise<string> {
  const h = createHash('sha256');
  h.update(`componentize-js ${await versionOf('@bytecodealliance/componentize-js')}\njco ${await versionOf('@bytecodealliance/jco')}\n${world}\n`);
  h.update(await readFile(join(FIXTURES, source)));
  h.update(await readFile(join(FIXTURES, 'worlds.wit')));
  h.update(await readFile(join(FIXTURES, 'wasi-config.wit')));
  h.update(await readFile(join(FIXTURES, 'build.mjs')));
  for (const f of (await readdir(PLATFORM_WIT)).sort()) if (f.endsWith('.wit')) h.update(await readFile(join(PLATFORM_WIT, f)));
  return h.digest('hex').slice(0, 16);
}

/** The component componentize-js makes of test/fixtures/wasi-components/<source> for <world>, from the cache when it is there. */
export async function componentizeFixture(source: string, world: string): Promise<Uint8Array> {
  const key = await cacheKey(source, world);
  const out = join(CACHE, `${source.replace(/\.js$/, '')}-${world}-${key}.wasm`);
  const cached = await readFile(out).catch(() => null);
  if (cached) return new Uint8Array(cached);
  const work = join(CACHE, `build-${key}-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await witDir(join(work, 'wit'));
  await run(process.execPath, [join(FIXTURES, 'build.mjs'), join(FIXTURES, source), join(work, 'wit'), world, join(work, 'out.wasm')], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  await rename(join(work, 'out.wasm'), out);
  await rm(work, { recursive: true, force: true });
  return new Uint8Array(await readFile(out));
}
