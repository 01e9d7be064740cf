// Client-side collection of a deploy: the manifest text plus the worker's code — by default `main` bundled with
// esbuild (bundle.ts) into one ES module and its source map, with `no_bundle = true` every JS module under the
// worker's directory as it is. The host re-validates all of it; this only gathers files and fails early on what is
// obviously wrong.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import { EdgeError } from '../core/errors.ts';
import { findManifest, parseManifestText } from './manifest.ts';
import { userGrants, type DeployManifest, type ValueModuleType } from '../core/manifest.ts';
import { parseRules, valueTypeOfPath } from './module-rules.ts';
import { MAX_COMPONENT_BYTES, MAX_UPLOAD_BYTES } from '../core/limits.ts';
import { findHostConfig, loadHostConfig } from '../core/host-config.ts';
import { BUNDLED_ENTRY, bundleWorker } from './bundle.ts';
import { collectAssets, type CollectedAssets } from './asset-collect.ts';
import type { AssetsUpload } from './asset-manifest.ts';

export interface UploadedFile {
  path: string;
  content: string;
  /** Binary files (a component, a WebAssembly or data module) travel base64-encoded. */
  encoding?: 'base64';
  /** A value module (wrangler's module rules): a WebAssembly.Module, a string or an ArrayBuffer to what imports it; none for JS. */
  type?: ValueModuleType;
}
export interface DeployUpload {
  /** `env`: the wrangler environment (`--env`) the manifest is deployed in. */
  manifest: { fileName: string; content: string; env?: string };
  modules: UploadedFile[];
  /** `assets.directory`'s files by path and hash (their contents are uploaded before the deploy, only those the host lacks). */
  assets?: AssetsUpload;
}
/** An upload and what went into it. */
export interface CollectedWorker {
  upload: DeployUpload;
  /** Absolute paths of the files the upload was made from beyond the worker directory's own modules (bundle inputs). */
  inputs: string[];
  /** Bundler warnings, `file:line:col: text`. */
  warnings: string[];
  /** The manifest deployed, and the entry module as written in it (absolute paths), for what `edge deploy` prints. */
  manifestPath?: string;
  main?: string;
  /** The `.wrangler/deploy/config.json` that redirected to a generated manifest. */
  redirectedBy?: string;
  /** The static assets, with where their contents are read from for uploading. */
  assets?: CollectedAssets;
}

/** Total bytes of manifest plus modules one upload may carry (host/core/limits.ts). */
export { MAX_UPLOAD_BYTES };

const MODULE_EXTENSIONS = ['.js', '.mjs'];
const SKIPPED_DIRS = new Set(['node_modules', '.edge', '.git']);

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(2)} MiB`;
}

/**
 * Posix-relative paths of the files under `root` that `wanted` accepts (default: JS modules); symlinked directories
 * are not followed, so cycles cannot occur.
 */
async function listModules(root: string, rel: string, out: string[], wanted: (path: string) => boolean = (p) => MODULE_EXTENSIONS.some((ext) => p.endsWith(ext))): Promise<void> {
  const entries = await readdir(join(root, rel), { withFileTypes: true });
  for (const entry of entries) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (SKIPPED_DIRS.has(entry.name) || entry.name.startsWith('.')) continue;
      await listModules(root, path, out, wanted);
      continue;
    }
    if (!wanted(path)) continue;
    if (entry.isFile() || (entry.isSymbolicLink() && (await stat(join(root, path)).then((s) => s.isFile(), () => false)))) out.push(path);
  }
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The WIT of the user-defined capabilities an AssemblyScript worker is built against: those of the host config
 * (`config`, else the nearest edge.config.ts above the worker), when its manifest grants any `[[bindings]]`.
 */
export async function capabilityWitFor(dir: string, manifest: DeployManifest, config?: string): Promise<string[]> {
  const user = userGrants(manifest);
  if (user.length === 0) return [];
  const path = config ?? (await findHostConfig(dir));
  if (path === null) {
    throw new EdgeError('E_CONFIG_INVALID', `${manifest.name} grants [[bindings]] (${user.map((b) => b.type).join(', ')}) but no edge.config.ts names their capabilities: pass --config <edge.config.ts>.`);
  }
  return (await loadHostConfig(path)).capabilities.map((c) => c.wit);
}

/** An AssemblyScript worker travels as the component `edge build` makes of it, at `main` with `.wasm`. */
async function collectAssemblyScript(root: string, found: { fileName: string; text: string }, manifest: DeployManifest, config?: string): Promise<DeployUpload> {
  const { buildWorker, worldOf } = await import('../build/worker-build.ts');
  const capabilityWit = await capabilityWitFor(root, manifest, config);
  const { component } = await buildWorker({ dir: root, main: manifest.main, optimize: manifest.build.optimize, capabilityWit, world: worldOf(manifest) });
  if (component.byteLength > MAX_COMPONENT_BYTES) {
    throw new EdgeError('E_DEPLOY_INVALID', `the component built from ${manifest.main} is ${formatBytes(component.byteLength)}, over the ${formatBytes(MAX_COMPONENT_BYTES)} limit`);
  }
  return {
    manifest: { fileName: found.fileName, content: found.text },
    modules: [{ path: manifest.main.replace(/\.ts$/, '.wasm'), content: Buffer.from(component).toString('base64'), encoding: 'base64' }],
  };
}

function checkTotal(root: string, files: Array<{ path: string; bytes: number }>, manifestBytes: number): void {
  const total = files.reduce((sum, s) => sum + s.bytes, manifestBytes);
  if (total > MAX_UPLOAD_BYTES) {
    const largest = [...files].sort((a, b) => b.bytes - a.bytes).slice(0, 3).map((s) => `${s.path} (${formatBytes(s.bytes)})`);
    throw new EdgeError(
      'E_DEPLOY_INVALID',
      `upload of ${root} is ${formatBytes(total)} (${total} bytes), over the 10 MiB (${MAX_UPLOAD_BYTES} bytes) limit; largest files: ${largest.join(', ')}`,
      { details: { dir: root, bytes: total, limit: MAX_UPLOAD_BYTES } },
    );
  }
}

export interface CollectOptions {
  /** Host config naming user capabilities (AssemblyScript builds). */
  config?: string;
  /** `--env <name>`: the wrangler environment to deploy. */
  env?: string;
  /** `process.env.NODE_ENV` in the bundle, as wrangler sets it: "production" for deploy (default), "development" for dev. */
  mode?: 'production' | 'development';
}

/** What `edge deploy` uploads for the worker in `dir`. */
export async function collectUpload(dir: string, options: CollectOptions = {}): Promise<DeployUpload> {
  return (await collectWorker(dir, options)).upload;
}

/**
 * The upload of the worker in `dir`, with the files it was made from (for `edge dev`'s watcher). When a build tool left
 * a `.wrangler/deploy/config.json` redirect, the generated manifest it names is deployed, with the code beside it.
 */
export async function collectWorker(dir: string, options: CollectOptions = {}): Promise<CollectedWorker> {
  const found = await findManifest(resolve(dir));
  const root = found.dir;
  const manifest = parseManifestText(found.text, found.fileName, options.env === undefined ? {} : { env: options.env });
  const collected = await collectCode(root, found, manifest, options);
  if (options.env !== undefined) collected.upload.manifest.env = options.env;
  collected.manifestPath = found.path;
  if (found.redirectedBy !== undefined) collected.redirectedBy = found.redirectedBy;
  if (manifest.main !== '') collected.main = join(root, manifest.main);
  if (manifest.assets) {
    const assets = await collectAssets(root, manifest.assets, found.fileName);
    collected.assets = assets;
    collected.upload.assets = assets.upload;
  }
  return collected;
}

async function collectCode(root: string, found: { fileName: string; text: string }, manifest: DeployManifest, options: CollectOptions): Promise<CollectedWorker> {
  // An assets-only worker (no `main`) has no code to upload.
  if (manifest.main === '') return { upload: { manifest: { fileName: found.fileName, content: found.text }, modules: [] }, inputs: [], warnings: [] };
  if (manifest.build.language === 'assemblyscript') return { upload: await collectAssemblyScript(root, found, manifest, options.config), inputs: [], warnings: [] };
  if (manifest.bundle.enabled && BUNDLED_ENTRY.test(manifest.main)) {
    if (!(await stat(join(root, manifest.main)).then((s) => s.isFile(), () => false))) {
      throw new EdgeError('E_MODULE_NOT_FOUND', `${found.fileName}: main module \`${manifest.main}\` not found in ${root}`, {
        details: { file: found.fileName, key: 'main', main: manifest.main, dir: root },
      });
    }
    const bundled = await bundleWorker(root, manifest, { mode: options.mode ?? 'production' });
    checkTotal(root, bundled.modules.map((m) => ({ path: m.path, bytes: Buffer.byteLength(m.content, m.encoding === 'base64' ? 'base64' : 'utf8') })), Buffer.byteLength(found.text));
    return { upload: { manifest: { fileName: found.fileName, content: found.text }, modules: bundled.modules }, inputs: bundled.inputs, warnings: bundled.warnings };
  }
  return { upload: await collectUnbundled(root, found, manifest), inputs: [], warnings: [] };
}

/** `no_bundle = true` (or a `.wasm` main): every .js/.mjs module under the worker directory, as it is, and the value modules the rules match. */
async function collectUnbundled(root: string, found: { fileName: string; text: string }, manifest: DeployManifest): Promise<DeployUpload> {
  const paths: string[] = [];
  await listModules(root, '', paths);
  paths.sort(byCodeUnits);

  if (!paths.includes(manifest.main)) {
    const isModule = MODULE_EXTENSIONS.some((ext) => manifest.main.endsWith(ext));
    const why = isModule
      ? `it is not in ${root}${paths.length ? ` (modules found: ${paths.slice(0, 10).join(', ')}${paths.length > 10 ? ', …' : ''})` : ' (no .js or .mjs files found)'}`
      : manifest.bundle.enabled
        ? 'only .js/.mjs modules are uploaded and .ts/.tsx/.jsx entries bundled; build the worker to JavaScript first and point `main` at the output'
        : 'with `no_bundle = true` modules are uploaded as they are, so `main` must be a .js or .mjs module: remove `no_bundle` to have it bundled, or build it to JavaScript first';
    throw new EdgeError('E_MODULE_NOT_FOUND', `${found.fileName}: main module \`${manifest.main}\` not found: ${why}`, {
      details: { file: found.fileName, key: 'main', main: manifest.main, dir: root },
    });
  }

  const values = await listValueModules(root, manifest);
  // Sizes come from stat so that an oversized tree is rejected before it is read into memory.
  const sizes = await Promise.all([...paths, ...values.map((v) => v.path)].map(async (path) => ({ path, bytes: (await stat(join(root, path))).size })));
  checkTotal(root, sizes, Buffer.byteLength(found.text));
  const modules: UploadedFile[] = await Promise.all(paths.map(async (path) => ({ path, content: await readFile(join(root, path), 'utf8') })));
  for (const { path, type } of values) {
    const bytes = await readFile(join(root, path));
    modules.push(type === 'Text' ? { path, content: bytes.toString('utf8'), type } : { path, content: bytes.toString('base64'), encoding: 'base64', type });
  }
  return { manifest: { fileName: found.fileName, content: found.text }, modules };
}

/**
 * The WebAssembly, text and data modules of an unbundled worker, as wrangler finds additional modules: the files
 * under `main`'s directory (the module root) that a CompiledWasm, Text or Data rule matches (by default `*.wasm`,
 * `*.txt`/`*.html`/`*.sql`, `*.bin`), less the static assets directory.
 */
async function listValueModules(root: string, manifest: DeployManifest): Promise<Array<{ path: string; type: ValueModuleType }>> {
  // A component (a `.wasm` main) is one file; only a JS worker imports value modules.
  if (!MODULE_EXTENSIONS.some((ext) => manifest.main.endsWith(ext))) return [];
  const parsed = parseRules(manifest.bundle.rules);
  const moduleRoot = posix.dirname(manifest.main) === '.' ? '' : posix.dirname(manifest.main);
  const assetsDir = manifest.assets?.directory !== undefined ? posix.normalize(manifest.assets.directory).replace(/^\.\/|\/$/g, '') : null;
  const under = (path: string) => (moduleRoot === '' ? path : path.slice(moduleRoot.length + 1));
  const found: string[] = [];
  const exists = await stat(join(root, moduleRoot)).then((s) => s.isDirectory(), () => false);
  if (!exists) return [];
  await listModules(root, moduleRoot, found, (path) => {
    if (assetsDir !== null && (path === assetsDir || path.startsWith(`${assetsDir}/`))) return false;
    return valueTypeOfPath(parsed, under(path)) !== null;
  });
  return found.sort(byCodeUnits).map((path) => ({ path, type: valueTypeOfPath(parsed, under(path))! }));
}
