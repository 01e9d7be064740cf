// Builds an AssemblyScript worker (a directory with `main`, written against @edge/guest) into a component of the
// platform world: glue generated for the world, the SDK and an adapter are laid out with the worker in a temporary
// directory, compiled by compileAssemblyScript, and compile errors are pointed back at the worker's own files.

import { copyFile, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { generateExportGlue } from '../../guest-sdk/bindgen/assemblyscript/generate.ts';
import { loadWitDir, WitError } from '../../guest-sdk/bindgen/wit/index.ts';
import { synthesizeGuestWorld } from '../../guest-sdk/bindgen/world.ts';
import { camelCase } from '../../guest-sdk/bindgen/names.ts';
import { compileAssemblyScript } from './assemblyscript.ts';
import { worldCoreImports } from './component-tools.ts';
import { BuildError, formatDiagnostic, type BuildDiagnostic } from './errors.ts';

const REPO = resolve(import.meta.dirname, '../..');
/** The platform's WIT package (`edge:platform`). */
export const PLATFORM_WIT_DIR = join(REPO, 'wit');
/** The SDK's AssemblyScript sources (`@edge/guest`) and the adapter between them and the glue. */
const SDK_DIR = join(REPO, 'guest-sdk/assemblyscript');
/** What workers import the SDK as. */
export const SDK_PACKAGE = '@edge/guest';
/** Where the worker directory appears inside the build directory (a symlink): part of the names asc compiles in. */
const WORKER_LINK = 'worker';

export interface BuildWorkerOptions {
  /** The worker directory. */
  dir: string;
  /** The AssemblyScript entry, relative to `dir` (e.g. `assembly/index.ts`); it exports `fetch(request: Request): Response`. */
  main: string;
  /** asc -O3 (slow: seconds). Default false. */
  optimize?: boolean;
  /** Default: the platform's `wit/`. */
  witDir?: string;
  /** Default `worker`; the world must import log, vars and http-types and export incoming-handler. */
  world?: string;
  /**
   * User-defined capabilities' WIT files (or directories): the worker is built against a world that adds their
   * interfaces to the platform's, and their generated classes are importable from "@edge/guest/bindings".
   */
  capabilityWit?: string[];
  /** Where the temporary build directory is made (and removed again). Default: the OS temp directory. */
  tempDir?: string;
}

export interface BuiltWorker {
  component: Uint8Array;
  warnings: string[];
}

/** The glue's import functions the adapter uses, under fixed names: `[iface, func, name in platform.ts]`. */
const PLATFORM_IMPORTS: [string, string, string][] = [
  ['log', 'write', 'logWrite'],
  ['vars', 'get', 'varsGet'],
  ['vars', 'names', 'varsNames'],
  ['http-types', 'begin-response', 'beginResponse'],
];

/** What a Durable Object class (world `durable-object`) adds: its storage's functions (adapter-durable.ts). */
const DURABLE_STORAGE_IMPORTS: [string, string, string][] = [
  ['durable-storage', 'get', 'storageGet'],
  ['durable-storage', 'put', 'storagePut'],
  ['durable-storage', 'delete', 'storageDelete'],
  ['durable-storage', 'list', 'storageList'],
  ['durable-storage', 'delete-all', 'storageDeleteAll'],
];

/** The world an AssemblyScript worker is built for: a manifest that declares Durable Object classes makes it their class. */
export function worldOf(manifest: { durableClasses?: string[] }): string {
  return (manifest.durableClasses ?? []).length > 0 ? 'durable-object' : 'worker';
}

/**
 * `platform.ts`: re-exports the glue's import functions under the names the adapter uses. The glue names a function
 * `func`, or `iface_func` when two imported interfaces share the name (vars.get and durable-storage.get), so the
 * name is looked up in what was generated rather than assumed.
 */
function platformModule(glueImports: string, world: string, durable = false): string {
  const lines = [...PLATFORM_IMPORTS, ...(durable ? DURABLE_STORAGE_IMPORTS : [])].map(([iface, func, as]) => {
    const candidates = [`${camelCase(iface)}_${camelCase(func)}`, camelCase(func)];
    const found = candidates.find((name) => glueImports.includes(`export function ${name}(`));
    if (found === undefined) throw new BuildError(`world '${world}' does not import ${iface}.${func}, which ${SDK_PACKAGE} needs (the world must import log, vars and http-types)`);
    return `export { ${found} as ${as} } from "./glue-imports";`;
  });
  return `// Written by host/build/worker-build.ts for world '${world}'.\n${lines.join('\n')}\n`;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/**
 * Makes the worker's own AssemblyScript packages resolvable: asc looks for packages in the node_modules of the
 * build directory (and above), not of the worker's directory, so each of the worker's packages is linked there.
 * `@edge/guest` stays ours.
 */
async function linkWorkerPackages(dir: string, nodeModules: string): Promise<void> {
  const source = join(dir, 'node_modules');
  const entries = await readdir(source, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    if (entry.name.startsWith('@')) {
      const members = await readdir(join(source, entry.name)).catch(() => [] as string[]);
      await mkdir(join(nodeModules, entry.name), { recursive: true });
      for (const member of members) {
        if (`${entry.name}/${member}` === SDK_PACKAGE) continue;
        await symlink(join(source, entry.name, member), join(nodeModules, entry.name, member)).catch(() => undefined);
      }
    } else {
      await symlink(join(source, entry.name), join(nodeModules, entry.name)).catch(() => undefined);
    }
  }
}

/** Writes the build directory: glue, adapter, SDK, the entry re-export, and a link to the worker. */
async function layOut(buildDir: string, dir: string, mainModule: string, witDir: string, world: string): Promise<void> {
  const coreImports = await worldCoreImports(witDir, world).catch((cause: unknown) => {
    throw new BuildError(`cannot read world '${world}' from ${witDir}: ${cause instanceof Error ? cause.message : String(cause)}`, [], { cause });
  });
  let files: Record<string, string>;
  try {
    files = generateExportGlue(await loadWitDir(witDir), world, { coreImports }).files;
  } catch (cause) {
    throw new BuildError(`generating the glue for world '${world}' failed: ${cause instanceof Error ? cause.message : String(cause)}`, [], { cause });
  }
  for (const [name, text] of Object.entries(files)) await writeFile(join(buildDir, name), text);
  // A Durable Object class's glue also calls durableHandler_handle: adapter-durable.ts is the handler, over adapter.ts.
  const durable = (files['glue.ts'] ?? '').includes('__user_durableHandler_handle');
  await writeFile(join(buildDir, 'platform.ts'), platformModule(files['glue-imports.ts'] ?? '', world, durable));
  await copyFile(join(SDK_DIR, 'adapter.ts'), join(buildDir, durable ? 'worker-handler.ts' : 'handler.ts'));
  if (durable) await copyFile(join(SDK_DIR, 'adapter-durable.ts'), join(buildDir, 'handler.ts'));
  await writeFile(join(buildDir, 'user-entry.ts'), `export { fetch${durable ? ', objectFetch' : ''} } from "./${WORKER_LINK}/${mainModule}";\n`);
  await symlink(dir, join(buildDir, WORKER_LINK), 'dir');
  const nodeModules = join(buildDir, 'node_modules');
  const sdkTarget = join(nodeModules, ...SDK_PACKAGE.split('/'));
  await mkdir(sdkTarget, { recursive: true });
  for (const name of (await readdir(join(SDK_DIR, 'assembly'))).sort()) {
    if (name.endsWith('.ts')) await copyFile(join(SDK_DIR, 'assembly', name), join(sdkTarget, name));
  }
  // The generated classes and types of every interface of the world (capabilities included), for workers that use
  // an interface the SDK does not wrap: `import { Table } from "@edge/guest/bindings"`.
  await writeFile(join(sdkTarget, 'bindings.ts'), 'export * from "../../../glue-imports";\nexport * from "../../../glue-types";\n');
  await linkWorkerPackages(dir, nodeModules);
}

const SIGNATURE = 'export function fetch(request: Request): Response';
const OBJECT_SIGNATURE = 'export function objectFetch(id: string, request: Request): Response';

/**
 * A diagnostic as the worker's author should see it: in their file (relative to the worker directory), or in
 * `@edge/guest/...`; errors the adapter or the entry re-export report mean `main` does not export a usable `fetch`.
 */
function mapDiagnostic(original: BuildDiagnostic, main: string): BuildDiagnostic {
  // asc names SDK types by their internal path (`~lib/@edge/guest/request/Request`); the user wrote `Request`.
  const d = { ...original, message: original.message.replace(/~lib\/@edge\/guest\/[\w-]+\//g, '') };
  const file = d.file;
  if (file === null) return d;
  if (file.startsWith(`${WORKER_LINK}/`)) return { ...d, file: file.slice(WORKER_LINK.length + 1) };
  if (file.startsWith(`~lib/${SDK_PACKAGE}/`)) return { ...d, file: file.slice('~lib/'.length) };
  if (file === 'user-entry.ts' || file === 'handler.ts' || file === 'worker-handler.ts') {
    const objects = /objectFetch/.test(d.message) ? `, and as a Durable Object class (its manifest declares one in [[migrations]]) \`${OBJECT_SIGNATURE}\`` : '';
    return { ...d, file: main, line: 1, column: 1, message: `${main} must \`${SIGNATURE}\`${objects} (Request and Response from "${SDK_PACKAGE}"): ${d.message}` };
  }
  if (file.startsWith('~lib/')) return d;
  return { ...d, file: `<generated ${file}>` };
}

function mapWarning(w: string): string {
  if (w.startsWith(`${WORKER_LINK}/`)) return w.slice(WORKER_LINK.length + 1);
  if (w.startsWith(`~lib/${SDK_PACKAGE}/`)) return w.slice('~lib/'.length);
  return w;
}

/** Builds the worker in `options.dir` into a component (same input, same bytes). Failures are `BuildError`s. */
export async function buildWorker(options: BuildWorkerOptions): Promise<BuiltWorker> {
  const dir = resolve(options.dir);
  const world = options.world ?? 'worker';
  const witDir = resolve(options.witDir ?? PLATFORM_WIT_DIR);
  const main = normalize(options.main).split(sep).join('/');
  if (isAbsolute(main) || main.startsWith('../') || main === '..') {
    throw new BuildError(`main ${options.main} must be a path inside the worker directory ${dir}`);
  }
  if (!main.endsWith('.ts')) throw new BuildError(`main ${options.main} must be an AssemblyScript file (.ts)`);
  if (!(await exists(join(dir, main)))) {
    throw new BuildError(`main ${main} not found in ${dir}`, [{ file: main, line: 0, column: 0, code: 0, message: 'file not found' }]);
  }

  const buildDir = await mkdtemp(join(options.tempDir ?? tmpdir(), 'edge-as-build-'));
  try {
    let buildWit = witDir;
    let buildWorld = world;
    if (options.capabilityWit && options.capabilityWit.length > 0) {
      // A world of its own: the platform's plus every capability interface (a component keeps only the imports it uses).
      try {
        const guest = await synthesizeGuestWorld({ platformWitDir: witDir, platformWorld: world, capabilityWit: options.capabilityWit.map((p) => resolve(p)), into: join(buildDir, 'wit') });
        buildWit = guest.witDir;
        buildWorld = guest.world;
      } catch (e) {
        throw new BuildError(`capability WIT: ${e instanceof WitError || e instanceof Error ? e.message : String(e)}`, [], { cause: e });
      }
    }
    await layOut(buildDir, dir, main.slice(0, -'.ts'.length), buildWit, buildWorld);
    let built;
    try {
      built = await compileAssemblyScript({ entry: join(buildDir, 'glue.ts'), witDir: buildWit, world: buildWorld, optimize: options.optimize ?? false });
    } catch (e) {
      if (!(e instanceof BuildError)) throw e;
      const diagnostics = e.diagnostics.map((d) => mapDiagnostic(d, main));
      let message =
        diagnostics.length > 0
          ? `AssemblyScript compilation of ${main} failed:\n${diagnostics.map(formatDiagnostic).join('\n')}`
          : e.message.split(buildDir + sep).join('').split(buildDir).join('<build>').replace('making a component of glue.ts', `making a component of ${main}`);
      const envImport = /import `env::([\w.$]+)`/.exec(message);
      if (envImport) {
        message += envImport[1]!.startsWith('console.')
          ? `\n${main} uses AssemblyScript's global console, which imports from a JS host (env): import { console } from "${SDK_PACKAGE}" instead`
          : `\n${main} uses ${envImport[1]}, which imports from a JS host (env); a worker can only use what ${SDK_PACKAGE} and the platform world provide`;
      }
      throw new BuildError(message, diagnostics, { cause: e });
    }
    return { component: built.component, warnings: built.warnings.map(mapWarning) };
  } finally {
    await rm(buildDir, { recursive: true, force: true });
  }
}
