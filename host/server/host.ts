// Starts a whole host: the isolate pool, the runtime, stored deployments, the data plane and the admin API.
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { EdgeError } from '../core/errors.ts';
import { Deployer } from '../deploy/deployer.ts';
import { VersionStore } from '../deploy/version-store.ts';
import { SecretStore } from '../deploy/secret-store.ts';
import { IsolatePool } from '../runtime/isolate-pool.ts';
import { LogHub } from '../runtime/log-hub.ts';
import { WorkerRuntime } from '../runtime/worker-runtime.ts';
import { createAdminApi } from './admin-api.ts';
import { createDataPlane, type CfOptions } from './data-plane.ts';
import { HostMetrics } from './metrics.ts';
import { Router } from '../deploy/router.ts';
import { SubrequestDispatcher, type EgressOptions } from './subrequest.ts';
import { CapabilityRegistry } from '../bindings/registry.ts';
import { loadHostConfig } from '../core/host-config.ts';
import { HostOps, type HostOpHandler } from '../core/host-ops.ts';
import { KvEngine } from '../../storage/kv/kv-engine.ts';
import { SqlEngine } from '../../storage/sql/sql-store.ts';
import { DurableStore } from '../../storage/durable/durable-store.ts';
import { registerDurableOps } from '../bindings/durable/durable-ops.ts';
import { DURABLE_SQL_IDLE_MS, DURABLE_SQL_IDS, DURABLE_SQL_MAX_THREADS, registerDurableSqlOps } from '../bindings/durable/durable-sql.ts';
import { DurableAlarms, ALARM_URL } from '../bindings/durable/durable-alarms.ts';
import type { SqlLimits } from '../../storage/sql/sql-types.ts';
import { BUILTIN_FACADES } from '../bindings/builtins.ts';
import { CACHE_LIMITS } from '../core/limits.ts';
import { CronScheduler } from '../runtime/scheduler.ts';
import type { ScheduledEventInit, ScheduledOutcome } from '../runtime/worker-types.ts';
import { notDeployed } from '../runtime/worker-runtime.ts';
import { registerWebCryptoOps } from '../web/crypto/webcrypto-ops.ts';
import { registerZlibOps } from '../web/zlib/zlib-ops.ts';
import { CacheStore } from '../../storage/cache/cache-store.ts';
import { registerCacheOps } from '../web/cache/cache-ops.ts';
import { BlobEngine } from '../../storage/blob/blob-engine.ts';
import { createS3Server, resolveS3Credentials, type S3AccessKey, type S3Credentials } from './s3/index.ts';
import { AssetStore } from '../deploy/asset-store.ts';
import { AssetServer } from './assets/asset-server.ts';

/** The platform WIT this host implements. */
export const PLATFORM_WIT_DIR = resolve(import.meta.dirname, '../../wit');

export interface HostOptions {
  dataDir: string;
  /** Data plane port (8787; 0 picks a free one). */
  port?: number;
  /** Admin API port (8788; 0 picks a free one). */
  adminPort?: number;
  host?: string;
  adminHost?: string;
  /** Else EDGE_ADMIN_TOKEN, else generated into <dataDir>/admin-token (mode 0600). */
  adminToken?: string;
  /** Spare isolates kept ready. */
  poolSize?: number;
  maxIsolates?: number;
  memoryBudgetMb?: number;
  /** What workers' outbound fetch may reach beyond the public internet. */
  egress?: EgressOptions;
  /** The host config (edge.config.ts) naming user-defined capabilities; none when absent. */
  configPath?: string | null;
  /** Extra asynchronous host operations for the prelude, by name (for embedders and tests). */
  ops?: Record<string, HostOpHandler>;
  /** What `request.cf` says (colo) and whether a client-sent cf-ipcountry is trusted (only behind a proxy that sets it). */
  cf?: CfOptions;
  /** The cron scheduler's clock, in ms since the epoch (default Date.now): tests move it next to a due time. */
  clock?: () => number;
  /** Development conveniences on the data plane (`edge dev`): GET /__scheduled?cron=... runs the scheduled handler. */
  dev?: boolean;
  /** S3 endpoint port (8789; 0 picks a free one; when `port` is 0 the default is 0 too, so ephemeral hosts never contend for 8789). */
  s3Port?: number;
  /** Address the S3 endpoint binds (127.0.0.1). */
  s3Host?: string;
  /** Access keys of the S3 endpoint; else edge.config.ts's `s3.accessKeys`, else a pair generated into <dataDir>/s3-credentials.json. */
  s3AccessKeys?: S3AccessKey[];
  /** D1 databases' limits (SQL_LIMITS in storage/sql/sql-types.ts when not given). */
  sqlLimits?: Partial<SqlLimits>;
  /** A D1 database's thread stops after this long without a call (60 s). */
  sqlIdleMs?: number;
  /** The first retry of a failed Durable Object alarm comes after this long, each next one after twice as long (2 s). */
  alarmBackoffMs?: number;
}

export interface RunningHost {
  dataUrl: string;
  adminUrl: string;
  adminToken: string;
  adminTokenFile?: string;
  readonly runtime: WorkerRuntime;
  readonly deployer: Deployer;
  readonly logs: LogHub;
  readonly pool: IsolatePool;
  readonly scheduler: CronScheduler;
  /** The host's object store (R2 buckets), shared by the R2 binding and the S3 endpoint. */
  readonly blob: BlobEngine;
  /** The host's KV store (every kv_namespaces namespace), shared by the KV binding and the admin API. */
  readonly kv: KvEngine;
  /** The host's SQL store (every d1_databases database), shared by the D1 binding and the admin API. */
  readonly sql: SqlEngine;
  /** SQLite-backed Durable Objects' databases (`ctx.storage.sql`), one per object. */
  readonly durableSql: SqlEngine;
  /** The S3-compatible endpoint (path-style: <s3Url>/<bucket>/<key>). */
  s3Url: string;
  /** The access keys it accepts (`file` when they were generated). */
  s3Credentials: S3Credentials;
  /** Runs `name`'s scheduled handler now (what a cron trigger does), cold-starting it when needed. */
  runScheduled(name: string, event: ScheduledEventInit): Promise<ScheduledOutcome>;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

async function resolveToken(dataDir: string, options: HostOptions): Promise<{ token: string; file?: string; explicit: boolean }> {
  const explicit = options.adminToken ?? process.env.EDGE_ADMIN_TOKEN;
  if (explicit) return { token: explicit, explicit: true };
  const file = join(dataDir, 'admin-token');
  try {
    const t = (await readFile(file, 'utf8')).trim();
    if (t) return { token: t, file, explicit: false };
  } catch {
    // generated below
  }
  const token = randomBytes(32).toString('hex');
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { token, file, explicit: false };
}

function listenS3(server: HttpServer, port: number, host: string): Promise<void> {
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      done();
    });
  });
}

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export async function startHost(options: HostOptions): Promise<RunningHost> {
  const dataDir = resolve(options.dataDir);
  const host = options.host ?? '127.0.0.1';
  const adminHost = options.adminHost ?? '127.0.0.1';
  await mkdir(dataDir, { recursive: true });
  const tok = await resolveToken(dataDir, options);
  if (!isLoopback(adminHost) && !tok.explicit) {
    throw new EdgeError(
      'E_CONFIG_INVALID',
      `Refusing to expose the admin API on ${adminHost} without an explicit token: set EDGE_ADMIN_TOKEN (or bind the admin port to 127.0.0.1).`,
    );
  }

  const config = await loadHostConfig(options.configPath ?? null);
  // KV for every worker of this host, in one durable store (storage/kv) under the data directory.
  const kv = await KvEngine.open(join(dataDir, 'kv'), {
    onTornTail: (t) => process.emitWarning(`KV store: cut off a torn write at the end of ${t.file} (${t.droppedBytes} bytes: ${t.reason}); it had not been acknowledged`),
  });
  // R2 for every worker of this host (JS workers' env.MY_BUCKET, components' blob interface, the S3 endpoint).
  const blob = await BlobEngine.open(join(dataDir, 'r2'));
  // D1 for every worker of this host: a thread per database, durable through its own log.
  const sql = await SqlEngine.open(join(dataDir, 'd1'), {
    ...(options.sqlLimits ? { limits: options.sqlLimits } : {}),
    ...(options.sqlIdleMs !== undefined ? { idleMs: options.sqlIdleMs } : {}),
    onTornTail: (t) => process.emitWarning(`D1 database ${t.database}: cut off a torn write at the end of ${t.file} (${t.droppedBytes} bytes: ${t.reason}); it had not been acknowledged`),
  });
  // SQLite-backed Durable Objects' SQL: a database per object, on D1's engine (one compiled sql.js module).
  const durableSql = sql.sibling(join(dataDir, 'do-sql'), {
    ids: DURABLE_SQL_IDS,
    maxThreads: DURABLE_SQL_MAX_THREADS,
    idleMs: options.sqlIdleMs ?? DURABLE_SQL_IDLE_MS,
    ...(options.sqlLimits ? { limits: options.sqlLimits } : {}),
    onTornTail: (t) => process.emitWarning(`Durable Object SQL ${t.database}: cut off a torn write at the end of ${t.file} (${t.droppedBytes} bytes: ${t.reason}); it had not been acknowledged`),
  });
  // Durable Objects' storage, every object of this host in one durable store.
  const durable = await DurableStore.open(join(dataDir, 'do'), {
    onTornTail: (t) => process.emitWarning(`Durable Object store: cut off a torn write at the end of ${t.file} (${t.droppedBytes} bytes: ${t.reason}); it had not been acknowledged`),
  });
  const registry = await CapabilityRegistry.create({
    platformWitDir: PLATFORM_WIT_DIR,
    dataDir,
    user: config.capabilities,
    ...(config.path ? { configDir: dirname(config.path) } : {}),
    stores: { kv, blob, sql, durable },
  });
  const logs = new LogHub();
  // Asynchronous host operations the prelude's Web APIs use: each feature registers its handlers here.
  const ops = new HostOps();
  for (const [name, handler] of Object.entries(options.ops ?? {})) ops.register(name, handler);
  registerWebCryptoOps(ops);
  registerZlibOps(ops);
  const alarms = new DurableAlarms(durable);
  if (options.alarmBackoffMs !== undefined) alarms.firstBackoffMs = options.alarmBackoffMs;
  registerDurableOps(ops, durable, alarms);
  registerDurableSqlOps(ops, durableSql);
  const cacheStore = new CacheStore({ dir: join(dataDir, 'cache'), maxEntryBytes: CACHE_LIMITS.entryBytes, maxWorkerBytes: CACHE_LIMITS.workerBytes });
  const s3Credentials = await resolveS3Credentials(dataDir, options.s3AccessKeys ?? config.s3?.accessKeys);
  const s3Server = createS3Server({ store: blob, keys: s3Credentials.keys });
  const s3Host = options.s3Host ?? '127.0.0.1';
  registerCacheOps(ops, cacheStore);
  // The capabilities' JS facades are compiled into the prelude snapshot of every isolate.
  const pool = await IsolatePool.create({ size: options.poolSize ?? 4, facades: BUILTIN_FACADES });
  let metrics: HostMetrics | undefined;
  let dispatcher: SubrequestDispatcher | undefined;
  const runtime = new WorkerRuntime({
    pool,
    registry,
    ops,
    maxIsolates: options.maxIsolates,
    memoryBudgetMb: options.memoryBudgetMb,
    observer: {
      tail: (e) => logs.publish(e),
      requestDone: (i) => {
        const w = metrics?.worker(i.worker);
        w?.cpuSeconds.inc(i.cpuNs / 1e9);
        w?.entries.inc(i.entries);
        if (i.code) metrics?.errors.inc({ worker: i.worker, code: i.code });
        if (i.fuel !== undefined) metrics?.fuel.inc({ worker: i.worker }, i.fuel);
      },
      subrequest: (req, depth) => dispatcher!.fetch(req, depth),
      coldStart: (i) => {
        metrics?.coldStarts.inc({ worker: i.worker });
        metrics?.coldStartSeconds.observe(i.ms / 1000);
      },
    },
  });
  // Static assets of every worker, stored once per content, served without entering an isolate.
  const assetStore = new AssetStore(dataDir);
  await assetStore.cleanup();
  const assets = new AssetServer(assetStore);
  dispatcher = new SubrequestDispatcher({ runtime, assets, ...(options.egress ? { egress: options.egress } : {}) });
  metrics = new HostMetrics({
    isolatesAlive: () => runtime.isolatesAlive,
    isolateHeapBytes: () => runtime.heapBytes,
    spareIsolates: () => pool.spareCount,
    workersDeployed: () => runtime.activeNames().length,
    storage: () => [
      { store: 'kv', appends: kv.stats.appends, fsyncs: kv.stats.fsyncs },
      { store: 'r2', appends: blob.stats.appends, fsyncs: blob.stats.fsyncs },
      { store: 'durable', appends: durable.stats.appends, fsyncs: durable.stats.fsyncs },
      { store: 'd1', ...sql.stats() },
    ],
  });
  const router = new Router();
  const store = new VersionStore(dataDir);
  const runScheduled = async (name: string, event: ScheduledEventInit): Promise<ScheduledOutcome> => {
    if (runtime.activeVersion(name)?.manifest.main === '') {
      throw new EdgeError('E_NO_SCHEDULED_HANDLER', `Worker "${name}" serves only static assets (its manifest has no \`main\`), so it has no scheduled handler to run.`);
    }
    const got = runtime.instance(name);
    if (got === null) throw notDeployed(name);
    const instance = got instanceof Promise ? await got : got;
    return instance.scheduled(event);
  };
  const scheduler = new CronScheduler({
    run: runScheduled,
    log: (worker, version, level, message) => logs.publish({ ts: Date.now(), worker, version, level, kind: 'request', message }),
    ...(options.clock ? { now: options.clock } : {}),
  });
  const deployer = new Deployer({ store, runtime, pool, router, registry, scheduler, caches: cacheStore, assets: assetStore, secrets: new SecretStore(dataDir) });
  await deployer.restore();
  // Durable Object alarms: delivered to the object through its worker, as any event.
  alarms.start(async (object, info) => {
    const got = runtime.instance(object.worker);
    if (got === null) return false;
    const inst = got instanceof Promise ? await got : got;
    const res = await inst.fetch({ method: 'POST', url: ALARM_URL, headers: [['x-edge-alarm', JSON.stringify(info)]], body: null, object: { className: object.className, id: object.id } });
    if (res.stream) for await (const _ of res.stream) void _;
    return res.status === 204;
  });

  const data = createDataPlane({ router, runtime, metrics, tail: logs, assets, ...(options.cf ? { cf: options.cf } : {}), ...(options.dev ? { runScheduled } : {}) });
  let dataPort = 0;
  const admin = createAdminApi({
    token: tok.token,
    deployer,
    store,
    logs,
    metrics,
    workerUrl: (name) => `http://${name}.localhost:${dataPort}/`,
    runScheduled,
    storage: { kv, blob, sql },
    assets: assetStore,
  });
  try {
    await data.listen({ port: options.port ?? 8787, host });
    dataPort = (data.server.address() as { port: number }).port;
    await admin.listen({ port: options.adminPort ?? 8788, host: adminHost });
    await listenS3(s3Server, options.s3Port ?? (options.port === 0 ? 0 : 8789), s3Host);
  } catch (err) {
    await data.close().catch(() => {});
    await admin.close().catch(() => {});
    await blob.close().catch(() => {});
    await scheduler.close();
    runtime.close();
    pool.close();
    cacheStore.close();
    await kv.close();
    await sql.close();
    await durableSql.close();
    await durable.close();
    throw err;
  }
  const adminPort = (admin.server.address() as { port: number }).port;
  const s3Port = (s3Server.address() as { port: number }).port;

  let closed = false;
  return {
    dataUrl: `http://${urlHost(host)}:${dataPort}`,
    adminUrl: `http://${urlHost(adminHost)}:${adminPort}`,
    adminToken: tok.token,
    ...(tok.file ? { adminTokenFile: tok.file } : {}),
    runtime,
    deployer,
    logs,
    pool,
    scheduler,
    blob,
    kv,
    sql,
    durableSql,
    s3Url: `http://${urlHost(s3Host)}:${s3Port}`,
    s3Credentials,
    runScheduled,
    async close() {
      if (closed) return;
      closed = true;
      // No trigger fires into a closing host; runs in progress end with their isolates below.
      const runs = scheduler.close();
      admin.server.closeAllConnections?.();
      data.server.closeAllConnections?.();
      s3Server.closeAllConnections();
      await Promise.all([admin.close(), data.close(), new Promise<void>((done) => s3Server.close(() => done()))]);
      runtime.close();
      await runs;
      pool.close();
      cacheStore.close();
      await kv.close();
      // After the runtime: workers' R2 and D1 calls in flight end before the stores do.
      alarms.close();
      await blob.close();
      await sql.close();
      await durableSql.close();
      await durable.close();
    },
  };
}
