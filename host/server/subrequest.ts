// Subrequests (a worker's outbound fetch): to another worker on this host (`<name>.localhost`) in-process,
// with no network hop; to anywhere else over the network under the egress policy, which by default refuses
// private, loopback and link-local addresses (checked on the resolved address, so DNS cannot smuggle them in).
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { EdgeError } from '../errors.ts';
import type { WorkerRuntime } from '../runtime/worker-runtime.ts';
import type { SubrequestInit, SubrequestResult, WorkerResponse } from '../runtime/worker-instance.ts';

export const MAX_SUBREQUEST_BODY = 32 * 1024 * 1024;
const MAX_DEPTH = 16;
const MAX_REDIRECTS = 20;

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

  constructor(deps: { runtime: WorkerRuntime; egress?: EgressOptions }) {
    this.runtime = deps.runtime;
    this.allowed = parseAllow(deps.egress?.allow ?? []);
  }

  /** Whether a worker may connect to `ip`. */
  permits(ip: string): boolean {
    const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    return this.allowed.check(ip, type) || !this.denied.check(ip, type);
  }

  async fetch(req: SubrequestInit, depth: number): Promise<SubrequestResult> {
    if (depth >= MAX_DEPTH) throw new TypeError(`fetch(): subrequests nested more than ${MAX_DEPTH} deep (a worker calling itself in a loop?).`);
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      throw new TypeError(`fetch(): invalid URL ${req.url}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`fetch(): unsupported scheme ${url.protocol} (only http: and https:).`);
    const host = url.hostname.toLowerCase();
    if (host.endsWith('.localhost')) return this.inProcess(host.slice(0, -'.localhost'.length), req, depth);
    return this.network(req, url, 0);
  }

  private async inProcess(name: string, req: SubrequestInit, depth: number): Promise<SubrequestResult> {
    const got = this.runtime.instance(name);
    if (got === null) return { status: 404, statusText: 'Not Found', headers: [['x-edge-error', 'E_NO_ROUTE']], body: new TextEncoder().encode(`E_NO_ROUTE: no worker named "${name}" on this host\n`) };
    const inst = got instanceof Promise ? await got : got;
    const res = await inst.fetch({
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: req.body ? Readable.from([Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength)]) : null,
      depth: depth + 1,
    });
    return { status: res.status, statusText: res.statusText, headers: res.headers, body: await collect(res) };
  }

  private network(req: SubrequestInit, url: URL, redirects: number): Promise<SubrequestResult> {
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal) && !this.permits(literal)) {
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
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of req.headers) {
      const key = k.toLowerCase();
      if (key === 'host' || key === 'content-length' || key === 'connection' || key === 'transfer-encoding') continue;
      const prev = headers[key];
      headers[key] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    return new Promise<SubrequestResult>((resolve, reject) => {
      const out = send(url, { method: req.method, headers, lookup, timeout: 30_000 }, (res: IncomingMessage) => {
        const status = res.statusCode ?? 502;
        const location = res.headers.location;
        if (req.redirect !== 'manual' && [301, 302, 303, 307, 308].includes(status) && location) {
          res.resume();
          if (req.redirect === 'error') return reject(new TypeError(`fetch(): redirect to ${location} with redirect: "error"`));
          if (redirects >= MAX_REDIRECTS) return reject(new TypeError('fetch(): too many redirects'));
          const next = new URL(location, url);
          const method = status === 303 || ((status === 301 || status === 302) && req.method === 'POST') ? 'GET' : req.method;
          const body = method === req.method ? req.body : null;
          return this.network({ ...req, method, body, url: next.href }, next, redirects + 1).then(resolve, reject);
        }
        const headerPairs: Array<[string, string]> = [];
        const raw = res.rawHeaders;
        for (let i = 0; i < raw.length; i += 2) headerPairs.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
        readLimited(res).then((body) => resolve({ status, statusText: res.statusMessage ?? '', headers: headerPairs, body }), reject);
      });
      out.on('timeout', () => out.destroy(new TypeError(`fetch(): ${url.host} did not answer within 30 s`)));
      out.on('error', (err) => reject(err instanceof TypeError ? err : new TypeError(`fetch(): ${err.message}`)));
      out.end(req.body ? Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength) : undefined);
    });
  }
}

async function readLimited(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const c of stream) {
    size += c.byteLength;
    if (size > MAX_SUBREQUEST_BODY) throw new TypeError(`fetch(): response bodies over ${MAX_SUBREQUEST_BODY} bytes are not supported yet.`);
    parts.push(c);
  }
  return Buffer.concat(parts);
}

async function collect(res: WorkerResponse): Promise<Uint8Array | null> {
  if (res.stream) return readLimited(res.stream);
  return res.body;
}
