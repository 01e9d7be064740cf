// Subrequests (a worker's outbound fetch): to another worker on this host (`<name>.localhost`, or a service
// binding) in-process, with no network hop; to anywhere else over the network under the egress policy, which by
// default refuses private, loopback and link-local addresses (checked on the resolved address, so DNS cannot
// smuggle them in). Bodies stream both ways: the request body is read as the upstream accepts it, the response
// body is handed back unread, so host memory stays bounded whatever their size.
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { IncomingMessage, request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { EdgeError } from '../core/errors.ts';
import type { WorkerRuntime } from '../runtime/worker-runtime.ts';
import { MAX_REDIRECTS, MAX_SUBREQUEST_DEPTH } from '../core/limits.ts';
import type { SubrequestInit, SubrequestResult, WorkerResponse } from '../runtime/worker-types.ts';
import { assetsTargetWorker } from '../core/assets.ts';
import { WebSocket as WsClient } from 'ws';
import { MAX_MESSAGE_BYTES, type WsHolder } from '../runtime/websockets.ts';
import { bridgeSocket } from './websocket-bridge.ts';
import type { AssetServer } from './assets/asset-server.ts';

const MAX_DEPTH = MAX_SUBREQUEST_DEPTH;

export interface EgressOptions {
  /** Addresses or CIDR ranges a worker may reach although they are private (e.g. "127.0.0.1/32", "10.1.0.0/16"). */
  allow?: string[];
}

function privateRanges(): BlockList {
  const b = new BlockList();
  for (const [net, prefix] of [
    ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
    ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
  ] as const) b.addSubnet(net, prefix, 'ipv4');
  for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['::ffff:0:0', 96], ['64:ff9b::', 96]] as const) {
    b.addSubnet(net, prefix, 'ipv6');
  }
  return b;
}

function parseAllow(list: string[]): BlockList {
  const b = new BlockList();
  for (const entry of list) {
    const [addr, bits] = entry.split('/');
    const family = isIP(addr ?? '');
    if (!family) throw new EdgeError('E_CONFIG_INVALID', `egress allow entry "${entry}" is not an IP address or CIDR range.`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) b.addAddress(addr!, type);
    else b.addSubnet(addr!, Number(bits), type);
  }
  return b;
}

export class SubrequestDispatcher {
  private readonly runtime: WorkerRuntime;
  private readonly denied = privateRanges();
  private readonly allowed: BlockList;
  private readonly assets: AssetServer | null;

  constructor(deps: { runtime: WorkerRuntime; egress?: EgressOptions; assets?: AssetServer }) {
    this.runtime = deps.runtime;
    this.assets = deps.assets ?? null;
    this.allowed = parseAllow(deps.egress?.allow ?? []);
  }

  /** Whether a worker may connect to `ip`. */
  permits(ip: string): boolean {
    const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    return this.allowed.check(ip, type) || !this.denied.check(ip, type);
  }

  fetch(req: SubrequestInit, depth: number): Promise<SubrequestResult> {
    return this.dispatch(req, depth, 0);
  }

  private async dispatch(req: SubrequestInit, depth: number, redirects: number): Promise<SubrequestResult> {
    if (depth >= MAX_DEPTH) throw new TypeError(`fetch(): subrequests nested more than ${MAX_DEPTH} deep (a worker calling itself in a loop?).`);
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      throw new TypeError(`fetch(): invalid URL ${req.url}`);
    }
    if (req.service) {
      const assetsOf = assetsTargetWorker(req.service.worker);
      if (assetsOf !== null) return this.assetsFetch(assetsOf, req, url, depth, redirects);
      return this.inProcess(req.service.worker, req, url, depth, redirects);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`fetch(): unsupported scheme ${url.protocol} (only http: and https:).`);
    const host = url.hostname.toLowerCase();
    if (host.endsWith('.localhost')) return this.inProcess(host.slice(0, -'.localhost'.length), req, url, depth, redirects);
    return this.network(req, url, redirects);
  }

  /** Another worker of this host, called directly: its response body is pulled from its isolate as it is read. */
  private async inProcess(name: string, req: SubrequestInit, url: URL, depth: number, redirects: number): Promise<SubrequestResult> {
    // A worker with static assets: they answer first, as for a request from outside (not a Durable Object's own fetch).
    const version = this.assets ? this.runtime.activeVersion(name) : undefined;
    const toObject = (req.service as { object?: unknown } | undefined)?.object !== undefined;
    if (this.assets && version?.assets && !toObject) {
      const served = this.assets.route(version, req);
      if (served) return this.answered(served, req, url, depth, redirects);
    }
    const got = this.runtime.instance(name);
    if (got === null) {
      releaseBody(req.body);
      if (req.service) {
        throw new TypeError(
          `env.${req.service.binding}.fetch(): the service "${name}" that ${req.service.binding} is bound to is not deployed on this host (deploy it, or fix \`services\` in the manifest).`,
        );
      }
      const text = new TextEncoder().encode(`E_NO_ROUTE: no worker named "${name}" on this host\n`);
      return { status: 404, statusText: 'Not Found', headers: [['x-edge-error', 'E_NO_ROUTE']], url: req.url, redirected: redirects > 0, body: null, bytes: text };
    }
    const inst = got instanceof Promise ? await got : got;
    if (req.signal?.aborted) {
      releaseBody(req.body);
      throw new TypeError('fetch(): aborted');
    }
    const res = await inst.fetch({
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: req.body === null ? null : req.body instanceof Uint8Array ? Readable.from([Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength)]) : req.body,
      depth: depth + 1,
      ...(req.service?.object ? { object: req.service.object } : {}),
    });
    const location = res.headers.find(([k]) => k.toLowerCase() === 'location')?.[1];
    if (req.redirect !== 'manual' && REDIRECTS.has(res.status) && location !== undefined) {
      void res.stream?.return(undefined).catch(() => {});
      let next: SubrequestInit;
      try {
        next = this.redirect(req, url, res.status, location, redirects);
      } catch (err) {
        releaseBody(req.body);
        throw err;
      }
      // A service binding keeps calling its worker; a URL goes wherever it now points.
      return this.dispatch(next, depth, redirects + 1);
    }
    const head = { status: res.status, statusText: res.statusText, headers: res.headers, url: req.url, redirected: redirects > 0, ...(res.webSocket !== undefined ? { webSocket: res.webSocket } : {}) };
    if (req.method === 'HEAD' || NULL_BODY.has(res.status)) {
      void res.stream?.return(undefined).catch(() => {});
      return { ...head, body: null };
    }
    if (res.stream) return { ...head, body: res.stream };
    return res.body && res.body.byteLength > 0 ? { ...head, body: null, bytes: res.body } : { ...head, body: null };
  }

  /** `env.ASSETS.fetch()`: the worker's own assets answer, whatever the URL's host; nothing of the request body is read. */
  private async assetsFetch(worker: string, req: SubrequestInit, url: URL, depth: number, redirects: number): Promise<SubrequestResult> {
    const version = this.runtime.activeVersion(worker);
    if (!this.assets || !version?.assets) {
      releaseBody(req.body);
      throw new TypeError(`env.${req.service?.binding ?? 'ASSETS'}.fetch(): worker "${worker}" has no static assets deployed.`);
    }
    return this.answered(this.assets.fetch(version, req), req, url, depth, redirects);
  }

  /** A response the host made itself (static assets) as a subrequest's result, following its redirect as fetch() would. */
  private answered(res: WorkerResponse, req: SubrequestInit, url: URL, depth: number, redirects: number): Promise<SubrequestResult> | SubrequestResult {
    const location = res.headers.find(([k]) => k.toLowerCase() === 'location')?.[1];
    if (req.redirect !== 'manual' && REDIRECTS.has(res.status) && location !== undefined) {
      void res.stream?.return(undefined).catch(() => {});
      let next: SubrequestInit;
      try {
        next = this.redirect(req, url, res.status, location, redirects);
      } catch (err) {
        releaseBody(req.body);
        throw err;
      }
      return this.dispatch(next, depth, redirects + 1);
    }
    releaseBody(req.body);
    const head = { status: res.status, statusText: res.statusText, headers: res.headers, url: req.url, redirected: redirects > 0 };
    if (req.method === 'HEAD' || NULL_BODY.has(res.status)) {
      void res.stream?.return(undefined).catch(() => {});
      return { ...head, body: null };
    }
    if (res.stream) return { ...head, body: res.stream };
    return res.body && res.body.byteLength > 0 ? { ...head, body: null, bytes: res.body } : { ...head, body: null };
  }

  private network(req: SubrequestInit, url: URL, redirects: number): Promise<SubrequestResult> {
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal) && !this.permits(literal)) {
      releaseBody(req.body);
      return Promise.reject(new TypeError(`fetch(): ${url.host} is a private address, which workers may not reach (the host's egress policy).`));
    }
    const lookup = (hostname: string, options: object, cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void): void => {
      dnsLookup(hostname, { all: true }, (err, addresses) => {
        if (err) return cb(err, '', 0);
        const bad = addresses.find((a) => !this.permits(a.address));
        if (bad) return cb(new TypeError(`fetch(): ${hostname} resolves to ${bad.address}, a private address, which workers may not reach (the host's egress policy).`), '', 0);
        if ((options as { all?: boolean }).all) return cb(null, addresses);
        cb(null, addresses[0]!.address, addresses[0]!.family);
      });
    };
    if (req.headers.some(([k, v]) => k.toLowerCase() === 'upgrade' && v.trim().toLowerCase() === 'websocket')) return this.webSocket(req, url, lookup);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const streamed = req.body !== null && !(req.body instanceof Uint8Array);
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of req.headers) {
      const key = k.toLowerCase();
      if (key === 'host' || key === 'connection' || key === 'transfer-encoding' || key === 'keep-alive') continue;
      // A streamed body keeps a length the worker declared (origins may refuse chunked uploads); Node checks it.
      if (key === 'content-length' && !(streamed && /^\d+$/.test(v))) continue;
      const prev = headers[key];
      headers[key] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    return new Promise<SubrequestResult>((resolve, reject) => {
      let out: ClientRequest;
      let response: IncomingMessage | null = null;
      try {
        out = send(url, { method: req.method, headers, lookup, timeout: 30_000 }, (res: IncomingMessage) => {
          response = res;
          // Errors after this point reach the guest through the body's iterator; without a listener they would crash the host.
          res.on('error', () => {});
          // The origin answered: from here on a slow body is the wall-clock limit's business, not a socket timeout's.
          out.setTimeout(0);
          const status = res.statusCode ?? 502;
          const location = res.headers.location;
          if (req.redirect !== 'manual' && REDIRECTS.has(status) && location !== undefined) {
            res.destroy();
            try {
              const next = this.redirect(req, url, status, location, redirects);
              resolve(this.network(next, new URL(next.url), redirects + 1));
            } catch (err) {
              releaseBody(req.body);
              reject(err);
            }
            return;
          }
          const head = { status, statusText: res.statusMessage ?? '', headers: headerPairs(res.rawHeaders), url: url.href, redirected: redirects > 0 };
          if (req.method === 'HEAD' || NULL_BODY.has(status)) {
            res.resume();
            return resolve({ ...head, body: null });
          }
          // The parser goes on with the rest of the packet once this callback returns: a small body that came with
          // the head is complete by the next microtask, and goes to the guest with the head instead of in more entries.
          queueMicrotask(() => {
            if (!res.complete || res.readableLength > INLINE_BODY_MAX) return resolve({ ...head, body: res });
            const parts: Buffer[] = [];
            for (let c: Buffer | null = res.read(); c !== null; c = res.read()) parts.push(c);
            res.resume();
            resolve({ ...head, body: null, bytes: Buffer.concat(parts) });
          });
        });
      } catch (err) {
        releaseBody(req.body);
        reject(new TypeError(`fetch(): ${errorText(err)}`));
        return;
      }
      // Aborted (the fetch, or its request ended) while the exchange is under way. Not http.request's `signal`: that
      // destroys the request even once its response is complete, and between the response's end and the request's
      // 'close' (a request that ends in the same turn, as a synchronous entry's do) the socket it destroys is already
      // back in the agent's pool, with nobody to hear its error (an uncaught AbortError).
      const signal = req.signal;
      if (signal) {
        const abort = (): void => {
          if (!(response as IncomingMessage | null)?.complete) out.destroy(new TypeError('fetch(): aborted'));
        };
        if (signal.aborted) queueMicrotask(abort);
        else {
          signal.addEventListener('abort', abort, { once: true });
          out.once('close', () => signal.removeEventListener('abort', abort));
        }
      }
      out.on('timeout', () => out.destroy(new TypeError(`fetch(): ${url.host} did not answer within 30 s`)));
      out.on('error', (err) => {
        releaseBody(req.body);
        reject(err instanceof TypeError ? err : new TypeError(req.signal?.aborted ? 'fetch(): aborted' : `fetch(): ${err.message}`));
      });
      const body = req.body;
      if (body === null) out.end();
      else if (body instanceof Uint8Array) out.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
      else {
        body.on('error', (err) => out.destroy(new TypeError(`fetch(): the request body failed: ${err.message}`)));
        body.pipe(out);
        out.on('close', () => {
          if (!body.readableEnded) releaseBody(body);
        });
      }
    });
  }

  /**
   * A fetch() with `Upgrade: websocket` to the network: the host connects (the `ws` package, under the same egress
   * policy) and answers 101 with a WebSocket end for the worker (response.webSocket: accept() it, or return it to
   * proxy the connection). A server that refuses the upgrade answers as to any fetch.
   */
  private webSocket(req: SubrequestInit, url: URL, lookup: (hostname: string, options: object, cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => void): Promise<SubrequestResult> {
    releaseBody(req.body);
    const target = new URL(url.href);
    target.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const headers: Record<string, string> = {};
    let protocols: string[] = [];
    for (const [k, v] of req.headers) {
      const key = k.toLowerCase();
      if (key === 'sec-websocket-protocol') protocols = v.split(',').map((p) => p.trim()).filter((p) => p !== '');
      else if (!key.startsWith('sec-websocket-') && !['host', 'connection', 'upgrade', 'transfer-encoding', 'keep-alive', 'content-length'].includes(key)) headers[key] = v;
    }
    const sockets = this.runtime.sockets;
    return new Promise<SubrequestResult>((resolve, reject) => {
      const client = new WsClient(target, protocols, { headers, lookup: lookup as never, handshakeTimeout: 30_000, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false, followRedirects: false });
      let upgradeHeaders: Array<[string, string]> = [];
      client.on('upgrade', (res: IncomingMessage) => (upgradeHeaders = headerPairs(res.rawHeaders)));
      // Aborted (or its request ended) before the handshake completed; once open, the WebSocket outlives the request.
      const abort = (): void => client.terminate();
      req.signal?.addEventListener('abort', abort, { once: true });
      client.once('open', () => {
        req.signal?.removeEventListener('abort', abort);
        // One end for the server's connection, the other for the worker: it holds it once the answer reaches it.
        const placeholder: WsHolder = { worker: null, deliver() {} };
        const [network, guest] = sockets.pair(placeholder);
        bridgeSocket(client, network, sockets);
        resolve({ status: 101, statusText: 'Switching Protocols', headers: upgradeHeaders, url: url.href, redirected: false, body: null, webSocket: guest });
      });
      client.once('unexpected-response', (_r, res: IncomingMessage) => {
        res.on('error', () => {});
        resolve({ status: res.statusCode ?? 502, statusText: res.statusMessage ?? '', headers: headerPairs(res.rawHeaders), url: url.href, redirected: false, body: req.method === 'HEAD' ? null : res });
      });
      client.once('error', (err) => reject(err instanceof TypeError ? err : new TypeError(`fetch(): the WebSocket connection to ${url.host} failed: ${err.message}`)));
    });
  }

  /** The request to send after a redirect, as the Fetch standard's "HTTP-redirect fetch" builds it. */
  private redirect(req: SubrequestInit, url: URL, status: number, location: string, redirects: number): SubrequestInit {
    if (req.redirect === 'error') throw new TypeError(`fetch(): ${url.href} redirected (${status}) to ${location}, and redirect is "error".`);
    if (redirects >= MAX_REDIRECTS) throw new TypeError(`fetch(): more than ${MAX_REDIRECTS} redirects, starting from ${req.url}.`);
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new TypeError(`fetch(): ${url.href} redirected to an invalid URL: ${location}`);
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new TypeError(`fetch(): ${url.href} redirected to unsupported scheme ${next.protocol}`);
    const toGet = (status === 303 && req.method !== 'HEAD') || ((status === 301 || status === 302) && req.method === 'POST');
    if (!toGet && req.body !== null && !(req.body instanceof Uint8Array)) {
      throw new TypeError(
        `fetch(): cannot follow the ${status} redirect from ${url.href} to ${next.href}: the request body is a stream, which cannot be sent twice. Send the body as a string or ArrayBuffer, or use redirect: "manual".`,
      );
    }
    let headers = req.headers;
    if (toGet) {
      releaseBody(req.body);
      headers = headers.filter(([k]) => !BODY_HEADERS.has(k.toLowerCase()));
    }
    if (next.origin !== url.origin) headers = headers.filter(([k]) => k.toLowerCase() !== 'authorization');
    return { ...req, method: toGet ? 'GET' : req.method, body: toGet ? null : req.body, headers, url: next.href };
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Up to this much of a body that already arrived whole goes to the guest with the response head. */
const INLINE_BODY_MAX = 256 * 1024;
const NULL_BODY = new Set([101, 204, 205, 304]);
/** Request headers that describe the body, dropped when a redirect turns the request into a GET. */
const BODY_HEADERS = new Set(['content-encoding', 'content-language', 'content-location', 'content-type', 'content-length']);

/**
 * A request body that will not be sent (further): a stream from a guest is destroyed, which cancels it in the
 * isolate; a client's own request body passed straight through is only detached, its request still owns it.
 */
function releaseBody(body: SubrequestInit['body']): void {
  if (body === null || body instanceof Uint8Array || body.destroyed) return;
  if (body instanceof IncomingMessage) body.unpipe();
  else body.destroy();
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A response's raw headers as [lower-case name, value] pairs, in order (repeated headers kept apart). */
function headerPairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
}
