// The data plane: guest traffic. Every method and path goes to the worker picked by the router; bodies
// stream in both directions without being buffered whole.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { EdgeError } from '../errors.ts';
import type { Router } from './router.ts';
import type { WorkerRuntime } from '../runtime/worker-runtime.ts';
import { errorResponse, type WorkerInstance, type WorkerResponse } from '../runtime/worker-instance.ts';
import type { HostMetrics } from './metrics.ts';

/** Headers that describe one hop of the connection, not the message; Node sets its own. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

export function createDataPlane(deps: { router: Router; runtime: WorkerRuntime; metrics: HostMetrics }): FastifyInstance {
  const { router, runtime, metrics } = deps;
  const app = Fastify({ logger: false, requestIdHeader: false, return503OnClosing: false, keepAliveTimeout: 65_000 });
  // Leave every body unread: the worker pulls it, chunk by chunk, only if it wants it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  async function handle(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const rawUrl = req.raw.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const host = req.headers.host;
    const name = router.match(host, path);
    if (name === null) {
      metrics.noRoute.inc();
      const err = new EdgeError(
        'E_NO_ROUTE',
        `No worker serves ${host ?? '(no Host header)'}${path}. A deployed worker answers at <name>.localhost (any port) and on the routes in its manifest; \`edge list\` shows what is deployed.`,
        { status: 404 },
      );
      return send(reply, errorResponse(err));
    }
    metrics.worker(name).requests.inc();
    let instance: WorkerInstance;
    try {
      const got = runtime.instance(name);
      if (got === null) throw new EdgeError('E_NO_ROUTE', `Worker "${name}" is not deployed.`, { status: 404 });
      instance = got instanceof Promise ? await got : got;
    } catch (err) {
      const e = err instanceof EdgeError ? err : new EdgeError('E_INTERNAL', `Starting worker "${name}" failed: ${(err as Error).message}`, { status: 500 });
      metrics.errors.inc({ worker: name, code: e.code });
      return send(reply, errorResponse(e));
    }
    const raw = req.raw.rawHeaders;
    const headers: Array<[string, string]> = [];
    // The client's address is the host's to say: a cf-connecting-ip the client sent itself is dropped, not trusted.
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() !== 'cf-connecting-ip') headers.push([raw[i]!, raw[i + 1]!]);
    headers.push(['cf-connecting-ip', req.ip]);
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0);
    const res = await instance.fetch({ method: req.method, url: `http://${host ?? 'localhost'}${rawUrl}`, headers, body: hasBody ? req.raw : null });
    return send(reply, res);
  }

  app.all('/', handle);
  app.all('/*', handle);
  return app;
}

function send(reply: FastifyReply, res: WorkerResponse): FastifyReply {
  reply.code(res.status);
  const setCookies: string[] = [];
  for (const [k, v] of res.headers) {
    const name = k.toLowerCase();
    if (HOP_BY_HOP.has(name) || (name === 'content-length' && res.stream === null)) continue;
    if (name === 'set-cookie') setCookies.push(v);
    else reply.header(name, v);
  }
  if (setCookies.length) reply.header('set-cookie', setCookies);
  if (res.stream) return reply.send(Readable.from(res.stream, { objectMode: false }));
  const b = res.body;
  return reply.send(b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : '');
}
