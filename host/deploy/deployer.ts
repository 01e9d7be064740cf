// Deploy, rollback and delete. A deploy validates everything first (manifest, module paths, every module
// compiles and links, the global scope runs, the worker has a fetch or scheduled handler), produces the V8 code cache,
// stores the version durably, and only then switches traffic to it; any failure leaves the old version serving.
import { posix } from 'node:path';
import { EdgeError } from '../core/errors.ts';
import { parseManifest } from './manifest.ts';
import type { DeployUpload } from './upload.ts';
import { MAX_COMPONENT_BYTES, MAX_UPLOAD_BYTES } from '../core/limits.ts';
import { newVersionId, type VersionInfo, type VersionStore } from './version-store.ts';
import type { IsolatePool } from '../runtime/isolate-pool.ts';
import { WorkerInstance } from '../runtime/worker-instance.ts';
import type { LoadedVersion, ValueModule } from '../runtime/worker-types.ts';
import type { DeployManifest } from '../core/manifest.ts';
import { valueModuleOf } from './value-modules.ts';
import type { WorkerRuntime } from '../runtime/worker-runtime.ts';
import type { Router } from './router.ts';
import type { CapabilityRegistry } from '../bindings/registry.ts';
import { componentPathOf, prepareComponent } from './component.ts';
import { checkAssets } from './asset-manifest.ts';
import type { AssetStore } from './asset-store.ts';
import type { VersionAssets } from '../core/assets.ts';
import { checkSecret, type SecretInfo, type SecretStore } from './secret-store.ts';

/** What the deployer tells about cron triggers (host/runtime/scheduler.ts): the active version's crons, or none. */
export interface TriggerSchedule {
  set(worker: string, version: string, crons: readonly string[]): void;
  remove(worker: string): void;
}
import { bundledEntryPath } from './bundle.ts';
import { mapStack, parseSourceMap, type ModuleSourceMap } from '../runtime/source-map.ts';

export interface DeployOutcome {
  name: string;
  version: VersionInfo;
  routes: string[];
  /** What the deploy accepted without effect here (wrangler keys this host ignores), for the CLI to print. */
  warnings: string[];
}

export class Deployer {
  private readonly store: VersionStore;
  private readonly runtime: WorkerRuntime;
  private readonly pool: IsolatePool;
  private readonly router: Router;
  private readonly registry: CapabilityRegistry;
  private readonly scheduler: TriggerSchedule | null;
  /** One deploy/rollback/delete at a time per worker. */
  private readonly locks = new Map<string, Promise<unknown>>();

  /** What a deleted worker leaves behind elsewhere (its Cache API entries), dropped with it. */
  private readonly caches: { dropWorker(name: string): void } | null;
  /** Where static assets' contents are (uploaded before the deploy that lists them). */
  private readonly assets: AssetStore | null;
  /** Workers' secrets, given to `env` like vars (never stored with a version). */
  private readonly secrets: SecretStore | null;

  constructor(deps: { store: VersionStore; runtime: WorkerRuntime; pool: IsolatePool; router: Router; registry: CapabilityRegistry; scheduler?: TriggerSchedule; caches?: { dropWorker(name: string): void }; assets?: AssetStore; secrets?: SecretStore }) {
    this.caches = deps.caches ?? null;
    this.assets = deps.assets ?? null;
    this.secrets = deps.secrets ?? null;
    this.registry = deps.registry;
    this.scheduler = deps.scheduler ?? null;
    this.store = deps.store;
    this.runtime = deps.runtime;
    this.pool = deps.pool;
    this.router = deps.router;
  }

  private serialize<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.locks.set(name, tail);
    tail.then(() => {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    });
    return next;
  }

  /** Loads every stored active version at host start (their isolates start on first request). */
  async restore(): Promise<number> {
    await this.store.cleanup();
    const names = await this.store.listWorkers();
    for (const name of names) {
      const st = await this.store.state(name);
      if (!st?.active) continue;
      const version = await this.store.load(name, st.active);
      this.runtime.activate((await this.withSecrets(version)).version);
      this.router.set(name, version.manifest.routes);
      this.scheduler?.set(name, version.versionId, version.manifest.crons);
    }
    return names.length;
  }

  async deploy(upload: DeployUpload): Promise<DeployOutcome> {
    const { manifest, warnings } = parseManifest(upload.manifest.content, upload.manifest.fileName, upload.manifest.env === undefined ? {} : { env: upload.manifest.env });
    this.registry.checkGrants(manifest);
    const componentPath = componentPathOf(manifest);
    let modules: LoadedVersion['modules'];
    let component: LoadedVersion['component'];
    let sourceMaps: ModuleSourceMap[] = [];
    let valueModules: ValueModule[] = [];
    const assets = await this.checkAssets(upload, manifest);
    if (manifest.main === '') {
      // An assets-only worker: nothing runs, the host serves its files.
      if (upload.modules.length > 0) throw new EdgeError('E_DEPLOY_INVALID', `The manifest has no \`main\` (an assets-only worker), but the upload holds modules (${upload.modules.map((m) => m.path).join(', ')}); set \`main\` to run them.`);
      if (manifest.crons.length > 0) throw new EdgeError('E_MANIFEST_INVALID', `${upload.manifest.fileName}: \`triggers.crons\` needs a worker to run, but the manifest has no \`main\` (an assets-only worker).`, { details: { file: upload.manifest.fileName, key: 'triggers.crons' } });
      modules = [];
    } else if (componentPath !== null) {
      const file = upload.modules.find((m) => m.path === componentPath);
      if (!file) {
        const hint = manifest.build.language === 'assemblyscript' ? ` (\`edge deploy\` builds it from ${manifest.main}; with the API, upload the output of \`edge build\` there)` : '';
        throw new EdgeError('E_MODULE_NOT_FOUND', `The component ${componentPath} was not uploaded${hint}.`, { details: { module: componentPath } });
      }
      if (upload.modules.length !== 1) {
        throw new EdgeError('E_DEPLOY_INVALID', `A component worker is one .wasm file; the upload also holds ${upload.modules.filter((m) => m !== file).map((m) => m.path).join(', ')}.`);
      }
      const bytes = file.encoding === 'base64' ? Buffer.from(file.content, 'base64') : Buffer.from(file.content, 'latin1');
      if (bytes.byteLength > MAX_COMPONENT_BYTES) throw new EdgeError('E_DEPLOY_INVALID', `The component is ${bytes.byteLength} bytes, more than the ${MAX_COMPONENT_BYTES} allowed.`);
      const prepared = await prepareComponent(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), componentPath, manifest, this.registry);
      modules = prepared.modules;
      component = prepared.component;
    } else {
      // A .ts/.tsx/.jsx main runs as the bundle `edge deploy` made of it (src/index.ts → src/index.js); the
      // version's manifest names the module that runs.
      const entry = bundledEntryPath(manifest.main);
      if (entry !== manifest.main) manifest.main = entry;
      ({ modules, sourceMaps, valueModules } = checkModules(upload, manifest));
    }
    for (const r of manifest.routes) {
      const owner = this.router.owner(r.pattern, manifest.name);
      if (owner) {
        throw new EdgeError('E_DEPLOY_INVALID', `Route "${r.pattern}" is already served by worker "${owner}"; remove it there first.`, {
          details: { route: r.pattern, worker: owner },
        });
      }
    }
    return this.serialize(manifest.name, async () => {
      const version: LoadedVersion = {
        worker: manifest.name,
        versionId: newVersionId(),
        manifest,
        modules,
        ...(valueModules.length ? { valueModules } : {}),
        ...(component ? { component } : {}),
        ...(sourceMaps.length ? { sourceMaps } : {}),
        ...(assets ? { assets } : {}),
      };
      // It runs with the worker's secrets in env; the version stored is without them.
      const withSecrets = await this.withSecrets(version);
      const running = withSecrets.version;
      for (const name of withSecrets.hidden) warnings.push(`the secret ${name} is not in env: binding ${name} has its name`);
      // Validation runs the worker for real; the isolate it leaves behind serves the first requests.
      const instance = manifest.main === ''
        ? null
        : await WorkerInstance.load(running, await this.pool.take(manifest.limits.memoryMb), this.runtime.hookSet, { produceCache: true }).catch((err: unknown) => {
          throw withSourceStack(err, version);
        });
      try {
        const info = await this.store.save(version, upload.manifest.fileName);
        await this.store.activate(manifest.name, version.versionId);
        this.runtime.activate(running, instance ?? undefined);
        this.router.set(manifest.name, manifest.routes);
        this.scheduler?.set(manifest.name, version.versionId, manifest.crons);
        return { name: manifest.name, version: info, routes: manifest.routes.map((r) => r.pattern), warnings };
      } catch (err) {
        instance?.dispose(null);
        throw err;
      }
    });
  }

  /** The version's assets, checked: every listed content is in the asset store, the rules files parse. */
  private async checkAssets(upload: DeployUpload, manifest: LoadedVersion['manifest']): Promise<VersionAssets | null> {
    if (!manifest.assets) {
      if (upload.assets) throw new EdgeError('E_DEPLOY_INVALID', `The upload holds static assets, but ${upload.manifest.fileName} has no \`assets\` section to serve them.`, { details: { file: upload.manifest.fileName, key: 'assets' } });
      return null;
    }
    if (!upload.assets) {
      throw new EdgeError('E_DEPLOY_INVALID', `${upload.manifest.fileName} has \`assets\`, but the upload lists no assets (\`edge deploy\` collects \`assets.directory\`).`, { details: { file: upload.manifest.fileName, key: 'assets' } });
    }
    if (!this.assets) throw new EdgeError('E_INTERNAL', 'This host has no asset store.', { status: 500 });
    return checkAssets(upload.assets, this.assets);
  }

  async rollback(name: string, versionId?: string): Promise<{ name: string; activeVersion: string; previousVersion: string | null }> {
    return this.serialize(name, async () => {
      const st = await this.store.state(name);
      if (!st?.active) throw new EdgeError('E_WORKER_NOT_FOUND', `No worker named "${name}" is deployed.`, { status: 404 });
      const target = versionId ?? (await this.store.previousOf(name));
      if (!target) {
        throw new EdgeError('E_VERSION_NOT_FOUND', `Worker "${name}" has no earlier version to roll back to; name one with \`edge versions ${name}\`.`, {
          status: 404,
        });
      }
      const version = await this.store.load(name, target);
      const previous = await this.store.activate(name, target, { rollback: versionId === undefined });
      this.runtime.activate((await this.withSecrets(version)).version);
      this.router.set(name, version.manifest.routes);
      this.scheduler?.set(name, version.versionId, version.manifest.crons);
      return { name, activeVersion: target, previousVersion: previous };
    });
  }

  async delete(name: string): Promise<void> {
    return this.serialize(name, async () => {
      await this.store.delete(name);
      this.runtime.remove(name);
      this.router.remove(name);
      this.scheduler?.remove(name);
      this.caches?.dropWorker(name);
      await this.secrets?.deleteAll(name);
    });
  }

  /**
   * `version` as it runs: its vars with the worker's secrets over them (a secret replaces a var of its name, as
   * `.dev.vars` does under wrangler dev). A secret with a binding's name stays out of env (`hidden`).
   */
  private async withSecrets(version: LoadedVersion): Promise<{ version: LoadedVersion; hidden: string[] }> {
    const values = this.secrets ? await this.secrets.values(version.worker) : {};
    const names = Object.keys(values);
    if (names.length === 0) return { version, hidden: [] };
    const bound = new Set(version.manifest.bindings.map((b) => b.binding));
    const vars: Record<string, unknown> = { ...version.manifest.vars };
    const hidden: string[] = [];
    for (const name of names) {
      if (bound.has(name)) hidden.push(name);
      else Object.defineProperty(vars, name, { value: values[name], enumerable: true, writable: true, configurable: true });
    }
    // The modules array is shared: the code cache a deploy produces lands in the version that is stored.
    return { version: { ...version, manifest: { ...version.manifest, vars } }, hidden };
  }

  /** The names of `name`'s secrets (never their values). */
  async listSecrets(name: string): Promise<SecretInfo[]> {
    return this.requireSecrets().list(name);
  }

  /**
   * Sets secrets of worker `name` (deployed or not yet): the active version, if any, serves the next request with
   * them in env (in-flight requests finish with the old values), as Workers makes a new deployment of them.
   */
  async putSecrets(name: string, values: Record<string, string>): Promise<{ name: string; secrets: string[]; applied: boolean }> {
    const store = this.requireSecrets();
    for (const [key, value] of Object.entries(values)) checkSecret(key, value);
    return this.serialize(name, async () => {
      const active = await this.activeStored(name);
      const clash = active ? Object.keys(values).find((k) => active.manifest.bindings.some((b) => b.binding === k)) : undefined;
      if (clash !== undefined) {
        throw new EdgeError('E_SECRET_INVALID', `Worker "${name}" has a binding named ${clash}; env.${clash} can only be one of them: name the secret differently.`, { details: { secret: clash } });
      }
      await store.put(name, values);
      if (active) this.runtime.activate((await this.withSecrets(active)).version);
      return { name, secrets: Object.keys(values).sort(), applied: active !== null };
    });
  }

  /** Deletes a secret of worker `name`; the active version serves the next request without it. */
  async deleteSecret(name: string, key: string): Promise<{ name: string; secret: string; deleted: true }> {
    const store = this.requireSecrets();
    return this.serialize(name, async () => {
      if (!(await store.delete(name, key))) {
        throw new EdgeError('E_SECRET_NOT_FOUND', `Worker "${name}" has no secret ${key}; \`edge secret list ${name}\` shows its secrets.`, { status: 404, details: { secret: key } });
      }
      const active = await this.activeStored(name);
      if (active) this.runtime.activate((await this.withSecrets(active)).version);
      return { name, secret: key, deleted: true };
    });
  }

  private requireSecrets(): SecretStore {
    if (!this.secrets) throw new EdgeError('E_INTERNAL', 'This host keeps no secrets (no secret store was configured).', { status: 500 });
    return this.secrets;
  }

  /** The active version of `name` as stored (without secrets), or null when it is not deployed. */
  private async activeStored(name: string): Promise<LoadedVersion | null> {
    const st = await this.store.state(name);
    return st?.active ? this.store.load(name, st.active) : null;
  }
}

/** The JS modules of an upload, its WebAssembly, text and data modules, and the source maps (`<module>.map`) uploaded beside them. */
function checkModules(upload: DeployUpload, manifest: DeployManifest): { modules: LoadedVersion['modules']; sourceMaps: ModuleSourceMap[]; valueModules: ValueModule[] } {
  const main = manifest.main;
  const seen = new Set<string>();
  let total = 0;
  const modules: LoadedVersion['modules'] = [];
  const valueModules: ValueModule[] = [];
  const maps: Array<{ path: string; content: string }> = [];
  for (const m of upload.modules) {
    const p = m.path;
    if (p.length === 0 || p.startsWith('/') || p.includes('\\') || p.includes('\0') || posix.normalize(p) !== p || p.startsWith('../')) {
      throw new EdgeError('E_DEPLOY_INVALID', `Module path "${p}" is not a relative path inside the worker directory.`, { details: { module: p } });
    }
    const value = valueModuleOf(m, manifest);
    if (value) {
      if (seen.has(p)) throw new EdgeError('E_DEPLOY_INVALID', `Module "${p}" was uploaded twice.`, { details: { module: p } });
      seen.add(p);
      total += value.bytes.byteLength;
      valueModules.push(value);
      continue;
    }
    if (m.encoding === 'base64') throw new EdgeError('E_DEPLOY_INVALID', `Module "${p}" is binary; only a component worker (main = "*.wasm") uploads a binary file.`, { details: { module: p } });
    if (p.endsWith('.map')) {
      if (maps.some((x) => x.path === p)) throw new EdgeError('E_DEPLOY_INVALID', `Source map "${p}" was uploaded twice.`, { details: { module: p } });
      total += Buffer.byteLength(m.content);
      maps.push({ path: p, content: m.content });
      continue;
    }
    if (!/\.(m?js|cjs)$/.test(p)) {
      throw new EdgeError('E_DEPLOY_INVALID', `Module "${p}" is not a JavaScript module (.js or .mjs), a source map (<module>.map), or a WebAssembly, text or data module by the manifest's rules.`, { details: { module: p } });
    }
    if (seen.has(p)) throw new EdgeError('E_DEPLOY_INVALID', `Module "${p}" was uploaded twice.`, { details: { module: p } });
    seen.add(p);
    total += Buffer.byteLength(m.content);
    modules.push({ path: p, source: m.content });
  }
  if (total > MAX_UPLOAD_BYTES) {
    throw new EdgeError('E_DEPLOY_INVALID', `The worker's modules total ${total} bytes, more than the ${MAX_UPLOAD_BYTES} allowed.`);
  }
  if (!modules.some((m) => m.path === main)) {
    throw new EdgeError('E_MODULE_NOT_FOUND', `The manifest's main "${main}" is not among the uploaded modules (${[...seen].join(', ') || 'none'}).`, {
      details: { module: main },
    });
  }
  const sourceMaps = maps.map(({ path, content }) => {
    const module = path.slice(0, -'.map'.length);
    if (!seen.has(module)) {
      throw new EdgeError('E_DEPLOY_INVALID', `Source map "${path}" maps no uploaded module: a source map is uploaded beside its module, as "<module>.map".`, { details: { module: path } });
    }
    parseSourceMap(module, content);
    return { module, map: content };
  });
  return { modules, sourceMaps, valueModules };
}

/** A deploy-time error whose stack (a throw in the global scope) names the user's source through the source maps. */
function withSourceStack(err: unknown, version: LoadedVersion): unknown {
  const stack = err instanceof EdgeError ? err.details?.['stack'] : undefined;
  if (!(err instanceof EdgeError) || typeof stack !== 'string' || !version.sourceMaps) return err;
  return new EdgeError(err.code, err.message, { status: err.status, details: { ...err.details, stack: mapStack(stack, version.worker, version.sourceMaps) }, cause: err.cause });
}
