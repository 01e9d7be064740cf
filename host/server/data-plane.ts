// The data plane: guest traffic. Every method and path goes to the worker picked by the router; bodies
// stream in both directions without being buffered whole.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ServerResponse, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { EdgeError } from '../core/errors.ts';
import type { Router } from '../deploy/router.ts';
import type { WorkerRuntime } from '../runtime/worker-runtime.ts';
import { PASS_THROUGH_HEADER } from '../runtime/egress.ts';
import { errorResponse } from '../runtime/error-response.ts';
import { release } from '../../storage/owned-bytes.ts';
import type { WorkerInstance } from '../runtime/worker-instance.ts';
import type { ScheduledEventInit, ScheduledOutcome, TailEvent, WorkerResponse } from '../runtime/worker-types.ts';

/** Runs a worker's scheduled handler (the host's runScheduled). */
type RunScheduled = (name: string, event: ScheduledEventInit) => Promise<ScheduledOutcome>;
import type { HostMetrics } from './metrics.ts';
import { WebSocketBridge, type UpgradeRequest } from './websocket-bridge.ts';
import type { AssetServer } from './assets/asset-server.ts';

/** Headers that describe one hop of the connection, not the message; Node sets its own. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

/** What the host says about the client in `request.cf`, and which client-sent headers it may take it from. */
export interface CfOptions {
  /** The location code in `request.cf.colo` (Workers: the data center's IATA code). Default "LOCAL". */
  colo?: string;
  /**
   * Take the client's country from the `cf-ipcountry` header it arrives with. Only for a host behind a proxy that
   * sets that header itself: otherwise any client could claim any country. Default false: the header is dropped and
   * the country is "XX" (Cloudflare's code for unknown).
   */
  trustCountryHeader?: boolean;
}

const COUNTRY = /^[A-Z0-9]{2}$/;

/**
 * The `request.cf` object a worker sees: the fields Workers code commonly reads, with what this host knows (client
 * address, HTTP version, TLS) and placeholders for what only Cloudflare's network knows (geolocation, ASN).
 */
export function requestCf(req: FastifyRequest, country: string, options: CfOptions): Record<string, unknown> {
  const socket = req.raw.socket as { encrypted?: boolean; getProtocol?: () => string | null; getCipher?: () => { name: string } };
  const tls = socket.encrypted === true;
  const encoding = req.headers['accept-encoding'];
  return {
    clientIp: req.ip,
    colo: options.colo ?? 'LOCAL',
    country,
    httpProtocol: `HTTP/${req.raw.httpVersion}`,
    tlsVersion: tls ? (socket.getProtocol?.() ?? '') : '',
    tlsCipher: tls ? (socket.getCipher?.().name ?? '') : '',
    clientAcceptEncoding: typeof encoding === 'string' ? encoding : '',
    requestPriority: '',
    edgeRequestKeepAliveStatus: 1,
    clientTcpRtt: 0,
    asn: 0,
    asOrganization: '',
  };
}

/** Where each request is told to `edge tail`, like `wrangler tail` shows it (only while someone listens). */
export interface RequestTail {
  listeningToRequests(worker: string): boolean;
  publishRequest(event: TailEvent): void;
}

export function createDataPlane(deps: { router: Router; runtime: WorkerRuntime; metrics: HostMetrics; assets?: AssetServer; cf?: CfOptions; runScheduled?: RunScheduled; tail?: RequestTail }): FastifyInstance {
  const { router, runtime, metrics } = deps;
  const assets = deps.assets ?? null;
  // Only under `edge dev`: GET /__scheduled?cron=... on a worker's URL runs its scheduled handler (wrangler's --test-scheduled).
  const runScheduled = deps.runScheduled;
  const cfOptions = deps.cf ?? {};
  const app = Fastify({ logger: false, requestIdHeader: false, return503OnClosing: false, keepAliveTimeout: 65_000 });
  // Leave every body unread: the worker pulls it, chunk by chunk, only if it wants it.
  app.removeAllContentTypeParsers();
  // Requests of workers someone tails: method, URL, status and outcome (ok, or the error code) once the response is sent.
  const tail = deps.tail ?? null;
  const tailed = new WeakMap<FastifyRequest, { worker: string; started: number }>();
  if (tail) {
    app.addHook('onResponse', (req, reply, done) => {
      const t = tailed.get(req);
      done();
      if (!t) return;
      const code = reply.getHeader('x-edge-error');
      const outcome = typeof code === 'string' ? code : 'ok';
      const ms = Math.round(performance.now() - t.started);
      tail.publishRequest({
        ts: Date.now(),
        worker: t.worker,
        version: runtime.activeVersion(t.worker)?.versionId ?? '',
        level: outcome === 'ok' ? 'log' : 'error',
        kind: 'request',
        message: `${req.method} http://${req.headers.host ?? 'localhost'}${req.raw.url ?? '/'} ${reply.statusCode} ${outcome} (${ms} ms)`,
        ...(outcome === 'ok' ? {} : { code: outcome }),
      });
    });
  }
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  // A WebSocket upgrade is routed like any request (the worker decides: a 101 with a WebSocket, or any response);
  // the bridge completes the handshake and carries frames between the client and the end the worker handed over.
  const bridge = new WebSocketBridge(runtime.sockets);
  app.addHook('preClose', (done) => {
    bridge.closeAll();
    done();
  });
  app.server.on('upgrade', (raw: IncomingMessage, socket: Duplex, head: Buffer) => {
    (raw as UpgradeRequest)[WebSocketBridge.UPGRADE] = { socket, head };
    const res = new ServerResponse(raw);
    // An answer other than the upgrade ends the connection: the socket left HTTP's parser when the upgrade was asked.
    res.shouldKeepAlive = false;
    res.assignSocket(socket as import('node:net').Socket);
    res.on('finish', () => socket.end());
    socket.on('error', () => socket.destroy());
    app.routing(raw, res);
  });

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
        { status: 404, stack: false },
      );
      return send(reply, errorResponse(err));
    }
    if (req.headers[PASS_THROUGH_HEADER] === name) {
      // A passThroughOnException() request whose origin is this host, on a route back into the same worker.
      const err = new EdgeError('E_NO_ORIGIN', `Worker "${name}" failed after passThroughOnException(), and its origin ${host ?? ''} routes back into the worker itself, so there is no origin to pass the request on to.`, { status: 502 });
      return send(reply, errorResponse(err));
    }
    if (tail?.listeningToRequests(name)) tailed.set(req, { worker: name, started: performance.now() });
    if (runScheduled && path === '/__scheduled' && req.method === 'GET') return send(reply, await testScheduled(name, rawUrl, runScheduled));
    metrics.worker(name).requests.inc();
    // Static assets answer before (or, for an assets-only worker, instead of) the worker, without entering its isolate.
    const version = assets ? runtime.activeVersion(name) : undefined;
    if (assets && version?.assets) {
      const served = assets.route(version, { method: req.method, url: `http://${host ?? 'localhost'}${rawUrl}`, headers: rawPairs(req.raw.rawHeaders) });
      if (served) return send(reply, served);
    }
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
    // So is its cf-ipcountry, unless the host is configured to trust a proxy in front of it to set that header.
    let country = 'XX';
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      if (name === 'cf-connecting-ip') continue;
      if (name === 'cf-ipcountry') {
        const claimed = raw[i + 1]!.trim().toUpperCase();
        if (cfOptions.trustCountryHeader === true && COUNTRY.test(claimed)) country = claimed;
        continue;
      }
      headers.push([raw[i]!, raw[i + 1]!]);
    }
    headers.push(['cf-connecting-ip', req.ip]);
    headers.push(['cf-ipcountry', country]);
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0);
    const cf = requestCf(req, country, cfOptions);
    const res = await instance.fetch({ method: req.method, url: `http://${host ?? 'localhost'}${rawUrl}`, headers, body: hasBody ? req.raw : null, cf });
    if (res.webSocket !== undefined) {
      const refused = bridge.accept(req.raw as UpgradeRequest, res, res.webSocket);
      if (refused !== null) return send(reply, errorResponse(refused));
      reply.hijack();
      return reply;
    }
    return send(reply, res);
  }

  app.all('/', handle);
  app.all('/*', handle);
  return app;
}

function rawPairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

/**
 * A streamed body, written to the client as the worker makes it: each chunk goes straight to the response with a
 * callback that gives it back (storage/owned-bytes.ts, release) once the socket has taken it, so that a chunk pulled
 * out of the isolate or read from the blob store is freed then and there (Readable.from and pipe() would say nothing
 * of when a chunk is written). Backpressure is the response's: a write over its high-water mark waits for 'drain'
 * before the next chunk is pulled. A stream that fails part way resets the connection (never a clean-looking short
 * body); a client that goes away stops the pulling.
 */
function sendStream(reply: FastifyReply, stream: AsyncGenerator<Uint8Array>): FastifyReply {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
  void pump(raw, stream);
  return reply;
}

async function pump(raw: ServerResponse, stream: AsyncGenerator<Uint8Array>): Promise<void> {
  let gone = false;
  let wake: (() => void) | null = null;
  const onDrain = (): void => wake?.();
  const onClose = (): void => {
    gone = true;
    wake?.();
  };
  raw.on('drain', onDrain);
  raw.on('close', onClose);
  try {
    for await (const chunk of stream) {
      if (gone) break;
      if (!raw.write(chunk, () => release(chunk))) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        if (gone) break;
      }
    }
    if (!gone) raw.end();
  } catch {
    raw.destroy();
  } finally {
    raw.off('drain', onDrain);
    raw.off('close', onClose);
  }
}

/** `edge dev`'s /__scheduled?cron=<expr>&time=<ms>: runs the scheduled handler, answers with its outcome. */
async function testScheduled(name: string, rawUrl: string, run: RunScheduled): Promise<WorkerResponse> {
  const query = new URL(rawUrl, 'http://localhost').searchParams;
  const time = query.get('time');
  const scheduledTime = time === null ? Date.now() : Number(time);
  if (!Number.isFinite(scheduledTime)) {
    return errorResponse(new EdgeError('E_CRON_INVALID', `/__scheduled: time=${time} is not a number of milliseconds since the epoch.`, { status: 400 }));
  }
  let outcome: ScheduledOutcome;
  try {
    outcome = await run(name, { cron: query.get('cron') ?? '', scheduledTime });
  } catch (err) {
    return errorResponse(err instanceof EdgeError ? err : new EdgeError('E_INTERNAL', String(err), { status: 500 }));
  }
  const ok = outcome.outcome === 'ok';
  const text = ok ? 'Ran scheduled event\n' : `Scheduled event failed: ${outcome.code ?? outcome.outcome}: ${outcome.message ?? ''}\n`;
  const headers: Array<[string, string]> = [['content-type', 'text/plain; charset=utf-8']];
  if (!ok) headers.push(['x-edge-error', outcome.code ?? outcome.outcome]);
  return { status: ok ? 200 : 500, statusText: '', headers, body: new TextEncoder().encode(text), stream: null };
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
  if (res.stream) return sendStream(reply, res.stream);
  const b = res.body;
  return reply.send(b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : '');
}
