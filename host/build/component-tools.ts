// In-process component tooling from @bytecodealliance/jco-transpile (wasm-tools and jco's JS bindgen compiled
// to WebAssembly): embed WIT into a core module, wrap it as a component, print it, transpile it to JS glue.

import { mkdtempSync, rmSync } from 'node:fs';
import { rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { componentEmbed, componentNew, print } from '@bytecodealliance/jco-transpile/wasm-tools';
import { transpileBytes } from '@bytecodealliance/jco-transpile';
import { webAssembly } from '../core/webassembly-api.ts';

interface PreopenControl {
  _setPreopens(preopens: Record<string, string>): void;
  _clearPreopens(): void;
}

// wasm-tools reads `witPath` through the WASI preview2 shim, which has no preopens by default ("os error 44").
// The shim must be the very copy jco-transpile imports, so it is resolved from jco-transpile's own location.
const requireFromJco = createRequire(createRequire(import.meta.url).resolve('@bytecodealliance/jco-transpile'));
let preopenControl: Promise<PreopenControl> | undefined;
function loadPreopenControl(): Promise<PreopenControl> {
  preopenControl ??= import(pathToFileURL(requireFromJco.resolve('@bytecodealliance/preview2-shim/filesystem')).href) as Promise<PreopenControl>;
  return preopenControl;
}

// Preopens are process-wide, so WIT reads are serialized and each one sees only its own directory (and its deps/,
// which wasm-tools reads below it). wasm-tools keeps the preopened directory it saw first for the life of the
// process (its libc reads the preopens once), so the preopen is always the same host path, a symlink that each read
// points at its own directory; without it every read after the first saw the first directory.
let witQueue: Promise<unknown> = Promise.resolve();
let witLink: string | undefined;
function witLinkPath(): string {
  if (witLink === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'edge-wit-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    witLink = join(dir, 'current');
  }
  return witLink;
}
/** Runs `use` with `witDir` readable by jco's in-process tools at the path it is given; every WIT read in the process goes through here. */
export async function withWitDir<T>(witDir: string, use: (virtualPath: string) => Promise<T>): Promise<T> {
  const run = witQueue.then(async () => {
    const control = await loadPreopenControl();
    const link = witLinkPath();
    await rm(link, { force: true });
    await symlink(resolve(witDir), link, 'dir');
    control._setPreopens({ '/wit': link });
    try {
      return await use('/wit');
    } finally {
      control._clearPreopens();
    }
  });
  witQueue = run.catch(() => undefined);
  return run;
}

export type StringEncoding = 'utf8' | 'utf16';

/** Attaches the world's type information (a `component-type` custom section) to a core module. */
export function embedWit(core: Uint8Array, witDir: string, world: string, stringEncoding: StringEncoding): Promise<Uint8Array> {
  return withWitDir(witDir, (witPath) => componentEmbed({ binary: core, witPath, world, stringEncoding }));
}

/**
 * The core export names a world expects (`iface@v#func`, `cabi_post_...`, `memory`, ...), read from the dummy
 * module wasm-tools generates for it: the names come from wit-component itself, not from our own WIT parser.
 */
export async function worldCoreExports(witDir: string, world: string): Promise<string[]> {
  const dummy = await withWitDir(witDir, (witPath) => componentEmbed({ dummy: true, witPath, world }));
  return coreExportNames(dummy);
}

/**
 * The core imports a world's guest must declare (`{ module: 'test:glue/host-api@0.1.0', name: 'log' }`, ...),
 * read from wit-component's dummy module for the world, like `worldCoreExports`.
 */
export async function worldCoreImports(witDir: string, world: string): Promise<{ module: string; name: string }[]> {
  const dummy = await withWitDir(witDir, (witPath) => componentEmbed({ dummy: true, witPath, world }));
  return webAssembly.Module.imports(new webAssembly.Module(dummy)).map((i) => ({ module: i.module, name: i.name }));
}

/** Wraps an embedded core module as a component (no WASI adapter: the guests import no WASI). */
export function newComponent(embedded: Uint8Array): Promise<Uint8Array> {
  return componentNew(embedded);
}

/** The component's WAT; parsing fails on anything that is not a valid component. */
export function printComponent(component: Uint8Array): Promise<string> {
  return print(component);
}

export interface TranspiledComponent {
  /** `<name>.js` (ESM glue exporting `instantiate(getCoreModule, imports)`) and `<name>.core*.wasm`. */
  files: Record<string, Uint8Array>;
  imports: string[];
  exports: string[];
}

/** Component → JS glue with `--instantiation async`: the host passes imports when instantiating. */
export async function transpileComponent(component: Uint8Array, name: string): Promise<TranspiledComponent> {
  const out = await transpileBytes(component, { name, instantiation: 'async', emitTypescriptDeclarations: false, nodejsCompat: false, wasiShim: false });
  return { files: out.files, imports: out.imports, exports: out.exports.map(([exportName]) => exportName) };
}

/** Export names of a core module. */
export function coreExportNames(core: Uint8Array): string[] {
  return webAssembly.Module.exports(new webAssembly.Module(core)).map((e) => e.name);
}
