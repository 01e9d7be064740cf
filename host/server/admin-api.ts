// The control plane: deploy, versions, rollback, delete, tail, metrics and the stores (KV, R2, D1), as Fastify
// routes with JSON schemas, all behind a bearer token.
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { timingSafeEqual, createHash } from 'node:crypto';
import { EdgeError } from '../core/errors.ts';
import type { Deployer } from '../deploy/deployer.ts';
import type { VersionStore } from '../deploy/version-store.ts';
import type { DeployUpload } from '../deploy/upload.ts';
import type { LogHub } from '../runtime/log-hub.ts';
import type { HostMetrics } from './metrics.ts';
import type { ScheduledEventInit, ScheduledOutcome } from '../runtime/worker-types.ts';
import { cronProblem } from '../deploy/manifest.ts';
import { adminStorageRoutes } from './admin-storage.ts';
import { adminD1Routes } from './admin-d1.ts';
import { adminSecretRoutes } from './admin-secrets.ts';
import { adminAssetRoutes } from './admin-assets.ts';
import type { AssetStore } from '../deploy/asset-store.ts';
import { ASSET_LIMITS } from '../core/limits.ts';
import type { KvStore } from '../../storage/kv/kv-types.ts';
import type { SqlStore } from '../../storage/sql/sql-types.ts';
import type { BlobStore } from '../../storage/blob/blob-types.ts';

export interface AdminDeps {
  token: string;
  deployer: Deployer;
  store: VersionStore;
  logs: LogHub;
  metrics: HostMetrics;
  /** The URL a worker answers on, e.g. http://hello.localhost:8787/ */
  workerUrl(name: string): string;
  /** Runs a worker's scheduled handler now (POST /v1/workers/:name/scheduled). */
  runScheduled(name: string, event: ScheduledEventInit): Promise<ScheduledOutcome>;
  /** The host's stores, for the /v1/kv, /v1/r2 and /v1/d1 routes (`edge kv`, `edge r2`, `edge d1`); without them those routes are absent. */
  storage?: { kv: KvStore; blob: BlobStore; sql?: SqlStore };
  /** Static assets' contents (POST /v1/assets/missing, PUT /v1/assets/:hash); without it those routes are absent. */
  assets?: AssetStore;
}

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object', additionalProperties: true } }, required: ['code', 'message'] } },
};
const nameParams = { type: 'object', properties: { name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' } }, required: ['name'] };
const versionInfo = { type: 'object', properties: { id: { type: 'string' }, createdAt: { type: 'string' }, main: { type: 'string' } }, required: ['id', 'createdAt', 'main'] };

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export function createAdminApi(deps: AdminDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 32 * 1024 * 1024 });
  const expected = digest(deps.token);

  app.addHook('onRequest', async (req, reply) => {
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(auth);
    if (!m || !timingSafeEqual(digest(m[1]!.trim()), expected)) {
      reply.code(401).header('www-authenticate', 'Bearer').send({
        error: { code: 'E_UNAUTHORIZED', message: 'The admin API needs `Authorization: Bearer <token>` (EDGE_ADMIN_TOKEN, or the admin-token file in the data directory).' },
      });
      return reply;
    }
  });

  app.setErrorHandler((err: FastifyError | EdgeError, _req, reply) => {
    if (err instanceof EdgeError) return reply.code(err.status).send({ error: err.toJSON() });
    if ((err as FastifyError).validation) {
      return reply.code(400).send({ error: { code: 'E_DEPLOY_INVALID', message: `Invalid request: ${err.message}` } });
    }
    const status = (err as FastifyError).statusCode ?? 500;
    return reply.code(status).send({ error: { code: status >= 500 ? 'E_INTERNAL' : 'E_DEPLOY_INVALID', message: err.message } });
  });

  app.post<{ Body: DeployUpload }>(
    '/v1/workers',
    {
      schema: {
        body: {
          type: 'object',
          required: ['manifest', 'modules'],
          additionalProperties: false,
          properties: {
            manifest: {
              type: 'object',
              required: ['fileName', 'content'],
              additionalProperties: false,
              properties: { fileName: { type: 'string', enum: ['wrangler.toml', 'wrangler.json', 'wrangler.jsonc'] }, content: { type: 'string' }, env: { type: 'string', minLength: 1, maxLength: 64 } },
            },
            modules: {
              type: 'array',
              maxItems: 1000,
              items: { type: 'object', required: ['path', 'content'], additionalProperties: false, properties: { path: { type: 'string', minLength: 1, maxLength: 512 }, content: { type: 'string' }, encoding: { type: 'string', enum: ['base64'] }, type: { type: 'string', enum: ['CompiledWasm', 'Text', 'Data'] } } },
            },
            assets: {
              type: 'object',
              required: ['files'],
              additionalProperties: false,
              properties: {
                files: {
                  type: 'array',
                  maxItems: ASSET_LIMITS.files,
                  items: {
                    type: 'object',
                    required: ['path', 'hash', 'size'],
                    additionalProperties: false,
                    properties: { path: { type: 'string', minLength: 2, maxLength: 4096 }, hash: { type: 'string', pattern: '^[0-9a-f]{64}$' }, size: { type: 'integer', minimum: 0 } },
                  },
                },
                redirects: { type: 'string', maxLength: 1024 * 1024 },
                headers: { type: 'string', maxLength: 1024 * 1024 },
              },
            },
          },
        },
        response: {
          201: { type: 'object', properties: { name: { type: 'string' }, version: versionInfo, url: { type: 'string' }, routes: { type: 'array', items: { type: 'string' } }, warnings: { type: 'array', items: { type: 'string' } } } },
          '4xx': errorSchema,
        },
      },
    },
    async (req, reply) => {
      const out = await deps.deployer.deploy(req.body);
      return reply.code(201).send({ ...out, url: deps.workerUrl(out.name) });
    },
  );

  app.get('/v1/workers', async () => {
    const names = await deps.store.listWorkers();
    const workers = [];
    for (const name of names) {
      const st = await deps.store.state(name);
      const active = st?.active ?? null;
      const v = active ? await deps.store.load(name, active).catch(() => null) : null;
      workers.push({ name, activeVersion: active, routes: v?.manifest.routes.map((r) => r.pattern) ?? [], url: deps.workerUrl(name), updatedAt: st?.updatedAt ?? null });
    }
    return { workers };
  });

  app.get<{ Params: { name: string } }>('/v1/workers/:name/versions', { schema: { params: nameParams } }, async (req) => {
    const { name } = req.params;
    const st = await deps.store.state(name);
    if (!st?.active) throw new EdgeError('E_WORKER_NOT_FOUND', `No worker named "${name}" is deployed.`, { status: 404 });
    const versions = (await deps.store.versions(name)).map((v) => ({ ...v, active: v.id === st.active }));
    return { name, activeVersion: st.active, versions };
  });

  app.post<{ Params: { name: string }; Body: { version?: string } | undefined }>(
    '/v1/workers/:name/rollback',
    { schema: { params: nameParams, body: { type: ['object', 'null'], additionalProperties: false, properties: { version: { type: 'string', minLength: 1 } } } } },
    async (req) => deps.deployer.rollback(req.params.name, req.body?.version),
  );

  app.delete<{ Params: { name: string } }>('/v1/workers/:name', { schema: { params: nameParams } }, async (req) => {
    await deps.deployer.delete(req.params.name);
    return { name: req.params.name, deleted: true };
  });

  // Runs the scheduled handler by hand, as a cron trigger would: for testing a worker's cron work without waiting.
  app.post<{ Params: { name: string }; Body: { cron?: string; scheduledTime?: number } | undefined }>(
    '/v1/workers/:name/scheduled',
    {
      schema: {
        params: nameParams,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: { cron: { type: 'string', maxLength: 256 }, scheduledTime: { type: 'integer', minimum: 0, maximum: 8.64e15 } },
        },
      },
    },
    async (req) => {
      const { name } = req.params;
      const st = await deps.store.state(name);
      if (!st?.active) throw new EdgeError('E_WORKER_NOT_FOUND', `No worker named "${name}" is deployed.`, { status: 404 });
      let cron = req.body?.cron;
      if (cron !== undefined && cron !== '') {
        const problem = cronProblem(cron);
        if (problem) throw new EdgeError('E_CRON_INVALID', `"${cron}" is not a cron expression: ${problem}.`, { details: { cron } });
      }
      // Without one, the worker's first configured trigger (as wrangler's /__scheduled does with its default).
      cron ??= (await deps.store.load(name, st.active)).manifest.crons[0] ?? '';
      return deps.runScheduled(name, { cron, scheduledTime: req.body?.scheduledTime ?? Date.now() });
    },
  );

  app.get<{ Params: { name: string } }>('/v1/workers/:name/tail', { schema: { params: nameParams } }, async (req, reply) => {
    const { name } = req.params;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write(`${JSON.stringify({ ts: Date.now(), worker: name, version: '', level: 'info', kind: 'request', message: `tailing ${name}` })}\n`);
    const unsubscribe = deps.logs.subscribe(name, (ev) => {
      res.write(`${JSON.stringify(ev)}\n`);
    }, { requests: true });
    const heartbeat = setInterval(() => res.write('\n'), 15_000);
    req.raw.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  });

  void app.register(adminSecretRoutes({ deployer: deps.deployer }));
  if (deps.storage) void app.register(adminStorageRoutes({ ...deps.storage, store: deps.store }));
  if (deps.storage?.sql) void app.register(adminD1Routes({ sql: deps.storage.sql }));
  if (deps.assets) void app.register(adminAssetRoutes({ assets: deps.assets }));

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  return app;
}
