// Starts a whole host: the isolate pool, the runtime, stored deployments, the data plane and the admin API.
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { EdgeError } from '../errors.ts';
import { Deployer } from '../deploy/deployer.ts';
import { VersionStore } from '../deploy/version-store.ts';
import { IsolatePool } from '../runtime/isolate-pool.ts';
import { LogHub } from '../runtime/log-hub.ts';
import { WorkerRuntime } from '../runtime/worker-runtime.ts';
import { createAdminApi } from './admin-api.ts';
import { createDataPlane, type CfOptions } from './data-plane.ts';
import { HostMetrics } from './metrics.ts';
import { Router } from './router.ts';
import { SubrequestDispatcher, type EgressOptions } from './subrequest.ts';
import { CapabilityRegistry } from '../bindings/registry.ts';
import { loadHostConfig } from '../config.ts';
import { HostOps, type HostOpHandler } from '../runtime/host-ops.ts';
import { CronScheduler } from '../runtime/scheduler.ts';
import type { ScheduledEventInit, ScheduledOutcome } from '../runtime/worker-instance.ts';
import { notDeployed } from '../runtime/worker-runtime.ts';
import { registerWebCryptoOps } from '../runtime/webcrypto-ops.ts';
import { CacheStore } from '../runtime/cache-store.ts';
import { registerCacheOps } from '../runtime/cache-ops.ts';

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
  const registry = await CapabilityRegistry.create({
    platformWitDir: PLATFORM_WIT_DIR,
    dataDir,
    user: config.capabilities,
    ...(config.path ? { configDir: dirname(config.path) } : {}),
  });
  const logs = new LogHub();
  // Asynchronous host operations the prelude's Web APIs use: each feature registers its handlers here.
  const ops = new HostOps();
  for (const [name, handler] of Object.entries(options.ops ?? {})) ops.register(name, handler);
  registerWebCryptoOps(ops);
  const cacheStore = new CacheStore({ dir: join(dataDir, 'cache') });
  registerCacheOps(ops, cacheStore);
  const pool = await IsolatePool.create({ size: options.poolSize ?? 4 });
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
        metrics?.worker(i.worker).cpuSeconds.inc(i.cpuNs / 1e9);
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
  dispatcher = new SubrequestDispatcher({ runtime, ...(options.egress ? { egress: options.egress } : {}) });
  metrics = new HostMetrics({
    isolatesAlive: () => runtime.isolatesAlive,
    isolateHeapBytes: () => runtime.heapBytes,
    spareIsolates: () => pool.spareCount,
    workersDeployed: () => runtime.activeNames().length,
  });
  const router = new Router();
  const store = new VersionStore(dataDir);
  const runScheduled = async (name: string, event: ScheduledEventInit): Promise<ScheduledOutcome> => {
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
  const deployer = new Deployer({ store, runtime, pool, router, registry, scheduler });
  await deployer.restore();

  const data = createDataPlane({ router, runtime, metrics, ...(options.cf ? { cf: options.cf } : {}), ...(options.dev ? { runScheduled } : {}) });
  let dataPort = 0;
  const admin = createAdminApi({
    token: tok.token,
    deployer,
    store,
    logs,
    metrics,
    workerUrl: (name) => `http://${name}.localhost:${dataPort}/`,
    runScheduled,
  });
  try {
    await data.listen({ port: options.port ?? 8787, host });
    dataPort = (data.server.address() as { port: number }).port;
    await admin.listen({ port: options.adminPort ?? 8788, host: adminHost });
  } catch (err) {
    await data.close().catch(() => {});
    await scheduler.close();
    runtime.close();
    pool.close();
    cacheStore.close();
    throw err;
  }
  const adminPort = (admin.server.address() as { port: number }).port;

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
    runScheduled,
    async close() {
      if (closed) return;
      closed = true;
      // No trigger fires into a closing host; runs in progress end with their isolates below.
      const runs = scheduler.close();
      admin.server.closeAllConnections?.();
      data.server.closeAllConnections?.();
      await Promise.all([admin.close(), data.close()]);
      runtime.close();
      await runs;
      pool.close();
      cacheStore.close();
    },
  };
}
