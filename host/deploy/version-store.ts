// Durable storage of deployed versions under the data directory. A version is written to a temporary
// directory, fsync'd, then renamed into place; the active pointer is replaced by an fsync'd rename too, so a
// crash at any moment leaves either the old or the new deployment, never a mix.
//
//   <dataDir>/workers/<name>/state.json                      { active, history: [versionId...] }
//   <dataDir>/workers/<name>/versions/<id>/version.json      { id, createdAt, manifest, manifestFile, modules: [path...] }
//   <dataDir>/workers/<name>/versions/<id>/modules/<path>    module sources
//   <dataDir>/workers/<name>/versions/<id>/cache/<n>.v8      V8 code cache per module (by index)
//   <dataDir>/workers/<name>/versions/<id>/values/<path>     WebAssembly, text and data modules of a JS worker, as uploaded
//   <dataDir>/workers/<name>/versions/<id>/maps/<path>.map   source maps of bundled modules (stack traces in tail)
//   <dataDir>/workers/<name>/versions/<id>/assets.json        static assets: path → hash, size, type; rules (contents in asset-store.ts)
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { EdgeError } from '../core/errors.ts';
import type { DeployManifest, ValueModuleType } from '../core/manifest.ts';
import type { VersionAssets } from '../core/assets.ts';
import type { LoadedVersion, VersionModule } from '../runtime/worker-types.ts';
import type { ComponentWorld } from '../core/isolate-protocol.ts';

export interface VersionInfo {
  id: string;
  createdAt: string;
  main: string;
}

interface VersionFile extends VersionInfo {
  manifest: DeployManifest;
  manifestFile: string;
  modules: string[];
  /** A component worker: its core modules are files under wasm/. */
  component?: { glue: string; imports: string[]; fuelExport: string | null; wasm: string[]; world?: ComponentWorld };
  /** WebAssembly, text and data modules: files under values/. */
  valueModules?: Array<{ path: string; type: ValueModuleType }>;
  /** Modules with a source map under maps/. */
  sourceMaps?: string[];
  /** The version has static assets (assets.json). */
  assets?: boolean;
}

interface WorkerState {
  active: string | null;
  /** Activation history, oldest first; rollback without a version goes to the entry before the active one. */
  history: string[];
  updatedAt: string;
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeFileDurable(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Replaces `path` atomically and durably (write temp, fsync, rename, fsync directory). */
async function replaceFileDurable(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  await writeFileDurable(tmp, data);
  await rename(tmp, path);
  await fsyncPath(dirname(path));
}

export function newVersionId(now = Date.now()): string {
  // Sortable by time, unique without coordination.
  return `${now.toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}`;
}

export class VersionStore {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'workers');
  }

  private workerDir(name: string): string {
    return join(this.root, name);
  }

  async listWorkers(): Promise<string[]> {
    try {
      const entries = await readdir(this.root, { withFileTypes: true });
      const names: string[] = [];
      for (const e of entries) {
        if (!e.isDirectory() || e.name.startsWith('.')) continue;
        const st = await this.state(e.name);
        if (st?.active) names.push(e.name);
      }
      return names.sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async state(name: string): Promise<WorkerState | null> {
    try {
      return JSON.parse(await readFile(join(this.workerDir(name), 'state.json'), 'utf8')) as WorkerState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Stores a version durably (not yet active). */
  async save(version: LoadedVersion, manifestFile: string): Promise<VersionInfo> {
    const vdir = join(this.workerDir(version.worker), 'versions');
    await mkdir(vdir, { recursive: true });
    const tmp = join(vdir, `.tmp-${version.versionId}`);
    await rm(tmp, { recursive: true, force: true });
    const info: VersionFile = {
      id: version.versionId,
      createdAt: new Date().toISOString(),
      main: version.manifest.main,
      manifest: version.manifest,
      manifestFile,
      modules: version.modules.map((m) => m.path),
    };
    if (version.component) {
      const c = version.component;
      info.component = { glue: c.glue, imports: c.imports, fuelExport: c.fuelExport, wasm: c.wasm.map((w) => w.name), ...(c.world ? { world: c.world } : {}) };
      for (const w of c.wasm) await writeFileDurable(join(tmp, 'wasm', w.name), w.bytes);
    }
    if (version.valueModules?.length) {
      info.valueModules = version.valueModules.map((m) => ({ path: m.path, type: m.type }));
      for (const m of version.valueModules) await writeFileDurable(join(tmp, 'values', m.path), m.bytes);
    }
    if (version.sourceMaps?.length) {
      info.sourceMaps = version.sourceMaps.map((m) => m.module);
      for (const m of version.sourceMaps) await writeFileDurable(join(tmp, 'maps', `${m.module}.map`), m.map);
    }
    if (version.assets) {
      info.assets = true;
      await writeFileDurable(join(tmp, 'assets.json'), JSON.stringify(version.assets));
    }
    for (const [i, m] of version.modules.entries()) {
      await writeFileDurable(join(tmp, 'modules', m.path), m.source);
      if (m.cache) await writeFileDurable(join(tmp, 'cache', `${i}.v8`), m.cache);
    }
    await writeFileDurable(join(tmp, 'version.json'), JSON.stringify(info, null, 2));
    await rename(tmp, join(vdir, version.versionId));
    await fsyncPath(vdir);
    return { id: info.id, createdAt: info.createdAt, main: info.main };
  }

  async load(name: string, id: string): Promise<LoadedVersion> {
    const dir = join(this.workerDir(name), 'versions', id);
    let info: VersionFile;
    try {
      info = JSON.parse(await readFile(join(dir, 'version.json'), 'utf8')) as VersionFile;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new EdgeError('E_VERSION_NOT_FOUND', `Worker "${name}" has no version "${id}".`, { status: 404 });
      }
      throw err;
    }
    const modules: VersionModule[] = [];
    for (const [i, path] of info.modules.entries()) {
      const source = await readFile(join(dir, 'modules', path), 'utf8');
      let cache: Buffer | undefined;
      try {
        cache = await readFile(join(dir, 'cache', `${i}.v8`));
      } catch {
        cache = undefined;
      }
      modules.push(cache ? { path, source, cache } : { path, source });
    }
    // Versions stored before these manifest fields existed.
    info.manifest.build ??= { language: 'js', optimize: false };
    upgradeStoredManifest(info.manifest as DeployManifest & StoredBeforeGrants);
    const loaded: LoadedVersion = { worker: name, versionId: id, manifest: info.manifest, modules };
    if (info.component) {
      const c = info.component;
      const wasm = await Promise.all(c.wasm.map(async (n) => ({ name: n, bytes: new Uint8Array(await readFile(join(dir, 'wasm', n))) })));
      loaded.component = { glue: c.glue, imports: c.imports, fuelExport: c.fuelExport, wasm, ...(c.world ? { world: c.world } : {}) };
    }
    if (info.valueModules?.length) {
      loaded.valueModules = await Promise.all(info.valueModules.map(async (m) => ({ ...m, bytes: new Uint8Array(await readFile(join(dir, 'values', m.path))) })));
    }
    if (info.assets) loaded.assets = JSON.parse(await readFile(join(dir, 'assets.json'), 'utf8')) as VersionAssets;
    if (info.sourceMaps?.length) {
      loaded.sourceMaps = await Promise.all(info.sourceMaps.map(async (module) => ({ module, map: await readFile(join(dir, 'maps', `${module}.map`), 'utf8') })));
    }
    return loaded;
  }

  async versions(name: string): Promise<VersionInfo[]> {
    const dir = join(this.workerDir(name), 'versions');
    let ids: string[];
    try {
      ids = (await readdir(dir)).filter((d) => !d.startsWith('.'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: VersionInfo[] = [];
    for (const id of ids) {
      try {
        const info = JSON.parse(await readFile(join(dir, id, 'version.json'), 'utf8')) as VersionFile;
        out.push({ id: info.id, createdAt: info.createdAt, main: info.main });
      } catch {
        // A version directory without its version.json was never completed; skip it.
      }
    }
    return out.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  /** Makes `id` the active version (durably). Returns the previously active one. */
  async activate(name: string, id: string, options: { rollback?: boolean } = {}): Promise<string | null> {
    const prev = await this.state(name);
    let history = prev?.history ?? [];
    if (options.rollback && prev?.active) {
      // Rolling back pops the current version off the history so that repeated rollbacks walk further back.
      history = history.slice(0, history.lastIndexOf(prev.active));
      const at = history.lastIndexOf(id);
      history = at >= 0 ? history.slice(0, at + 1) : [...history, id];
    } else {
      history = [...history.filter((h) => h !== id), id].slice(-100);
    }
    const state: WorkerState = { active: id, history, updatedAt: new Date().toISOString() };
    await mkdir(this.workerDir(name), { recursive: true });
    await replaceFileDurable(join(this.workerDir(name), 'state.json'), JSON.stringify(state, null, 2));
    return prev?.active ?? null;
  }

  /** The version a rollback without an explicit version returns to. */
  async previousOf(name: string): Promise<string | null> {
    const st = await this.state(name);
    if (!st?.active) return null;
    const before = st.history.slice(0, st.history.lastIndexOf(st.active));
    return before.length ? before[before.length - 1]! : null;
  }

  /** Deletes the worker and all its versions; the rename makes it disappear atomically before the removal. */
  async delete(name: string): Promise<void> {
    const dir = this.workerDir(name);
    const graveyard = join(this.root, `.deleted-${name}-${randomBytes(4).toString('hex')}`);
    try {
      await rename(dir, graveyard);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new EdgeError('E_WORKER_NOT_FOUND', `No worker named "${name}" is deployed.`, { status: 404 });
      }
      throw err;
    }
    await fsyncPath(this.root);
    await rm(graveyard, { recursive: true, force: true });
  }

  /** Removes leftovers of interrupted deploys and deletions. */
  async cleanup(): Promise<void> {
    let entries: string[];
    try {
      entries = await readdir(this.root);
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.startsWith('.deleted-')) await rm(join(this.root, e), { recursive: true, force: true });
      else {
        const vdir = join(this.root, e, 'versions');
        try {
          for (const v of await readdir(vdir)) if (v.startsWith('.tmp-')) await rm(join(vdir, v), { recursive: true, force: true });
        } catch {
          // no versions dir
        }
      }
    }
  }
}


/** How versions stored before every binding became a grant wrote their KV, R2 and service bindings. */
interface StoredBeforeGrants {
  kvNamespaces?: Array<{ binding: string; id: string }>;
  r2Buckets?: Array<{ binding: string; bucketName: string }>;
  services?: Array<{ binding: string; service: string; entrypoint?: string }>;
}

/** A stored manifest in today's model: older versions' binding sections become grants, so they restore unchanged. */
function upgradeStoredManifest(m: DeployManifest & StoredBeforeGrants): void {
  m.bindings ??= [];
  for (const g of m.bindings) (g as { section?: string }).section ??= 'bindings';
  const add = (type: string, section: string, list: Array<{ binding: string } & Record<string, unknown>> | undefined): void => {
    list?.forEach(({ binding, ...settings }, i) => m.bindings.push({ type, binding, settings, section, key: `${section}[${i}]` }));
  };
  add('kv', 'kv_namespaces', m.kvNamespaces);
  add('r2', 'r2_buckets', m.r2Buckets);
  add('service', 'services', m.services);
  delete m.kvNamespaces;
  delete m.r2Buckets;
  delete m.services;
}
