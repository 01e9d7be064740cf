// Serves a version's static assets without entering its isolate: the data plane asks first (`route`), and only what
// the assets do not answer goes to the worker; `env.ASSETS.fetch()` and an assets-only worker always get an answer
// (`fetch`). Responses carry a strong ETag (the content hash) with If-None-Match → 304, one byte range → 206 (416
// when unsatisfiable), HEAD, the file's Content-Type, Workers' Cache-Control, and the `_headers` rules; file bodies
// stream from the asset store.
import type { ReadStream } from 'node:fs';
import type { AssetsConfig, NotFoundHandling, VersionAssets } from '../../core/assets.ts';
import type { AssetStore } from '../../deploy/asset-store.ts';
import type { LoadedVersion, WorkerResponse } from '../../runtime/worker-types.ts';
import { applyHeaderRules, decodePath, encodePath, matchRedirect, resolveIntent, staticRouting } from './asset-routing.ts';

/** What the host knows of a request when it decides about assets: nothing of the body is read. */
export interface AssetRequest {
  method: string;
  /** Absolute URL. */
  url: string;
  headers: ReadonlyArray<readonly [string, string]>;
}

/** Workers' browser caching of assets: always revalidate (the ETag makes that cheap). */
const CACHE_CONTROL = 'public, max-age=0, must-revalidate';
/** Navigation requests prefer assets (the SPA's index.html) over the worker from this compatibility date on, as on Workers. */
const NAVIGATION_FLAG = { enable: 'assets_navigation_prefers_asset_serving', disable: 'assets_navigation_has_no_effect', date: '2025-04-01' };

type Decision =
  /** No file: the worker's, if there is one. */
  | { kind: 'none' }
  /** A `_redirects` 200 rule pointed at no file: a 404 of the assets. */
  | { kind: 'missing' }
  | { kind: 'method' }
  | { kind: 'redirect'; status: number; location: string }
  | { kind: 'asset'; path: string; hash: string; status: 200 | 404 };

function header(req: AssetRequest, name: string): string | undefined {
  for (const [k, v] of req.headers) if (k.toLowerCase() === name) return v;
  return undefined;
}

function navigationPrefersAssets(version: LoadedVersion): boolean {
  const flags = version.manifest.compatibilityFlags;
  if (flags.includes(NAVIGATION_FLAG.enable)) return true;
  if (flags.includes(NAVIGATION_FLAG.disable)) return false;
  return (version.manifest.compatibilityDate ?? '2021-11-02') >= NAVIGATION_FLAG.date;
}

const REDIRECT_TEXT: Record<number, string> = { 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 307: 'Temporary Redirect', 308: 'Permanent Redirect' };

export class AssetServer {
  private readonly store: AssetStore;

  constructor(store: AssetStore) {
    this.store = store;
  }

  /**
   * A request to a worker with assets, as it arrives: the assets' response, or null when the worker should run
   * (run_worker_first, or nothing of the assets answers the path). A worker without code is always answered.
   */
  route(version: LoadedVersion, req: AssetRequest): WorkerResponse | null {
    const config = version.manifest.assets;
    const assets = version.assets;
    if (!config || !assets) return null;
    if (version.manifest.main !== '') {
      const url = URL.parse(req.url);
      // Not a URL a file could answer (`OPTIONS *`): the worker's.
      if (url === null) return null;
      const routing = staticRouting(config.runWorkerFirst, url.pathname);
      if (routing === 'worker') return null;
      if (routing === null) {
        // The SPA page and 404 page stand in for the worker only for a browser's navigation; other requests
        // that match no file are the worker's.
        const navigate = header(req, 'sec-fetch-mode') === 'navigate' && navigationPrefersAssets(version);
        const probe = decide(config, assets, navigate ? config.notFoundHandling : 'none', req.method, url);
        if (probe.kind === 'none') return null;
      }
    }
    return this.fetch(version, req);
  }

  /** `env.ASSETS.fetch(request)`, or a request to an assets-only worker: always answered, 404 when nothing matches. */
  fetch(version: LoadedVersion, req: AssetRequest): WorkerResponse {
    const config = version.manifest.assets;
    const assets = version.assets;
    const url = URL.parse(req.url);
    if (!config || !assets || url === null) return respond(404, 'Not Found', [], null);
    const d = decide(config, assets, config.notFoundHandling, req.method, url);
    const withRules = (headers: Array<[string, string]>): Array<[string, string]> => applyHeaderRules(assets.headers, url.hostname, url.pathname, headers);
    switch (d.kind) {
      case 'none':
      case 'missing':
        return respond(404, 'Not Found', withRules([]), null);
      case 'method':
        return respond(405, 'Method Not Allowed', withRules([['allow', 'GET, HEAD']]), null);
      case 'redirect':
        return respond(d.status, REDIRECT_TEXT[d.status] ?? '', withRules([['location', d.location]]), null);
      case 'asset':
        return this.serveFile(req, assets, d, withRules);
    }
  }

  private serveFile(req: AssetRequest, assets: VersionAssets, d: Extract<Decision, { kind: 'asset' }>, withRules: (h: Array<[string, string]>) => Array<[string, string]>): WorkerResponse {
    const file = assets.files[d.path]!;
    const etag = `"${d.hash}"`;
    const range = header(req, 'range');
    const headers: Array<[string, string]> = [['content-type', file.contentType], ['etag', etag]];
    if (header(req, 'authorization') === undefined && range === undefined) headers.push(['cache-control', CACHE_CONTROL]);
    if (d.status === 200) headers.push(['accept-ranges', 'bytes']);
    if (etagMatches(header(req, 'if-none-match'), d.hash)) return respond(304, 'Not Modified', withRules(headers), null);
    const head = req.method.toUpperCase() === 'HEAD';
    // A range is served when it is one range of a 200 answer whose content is still the one the client has (If-Range).
    const ifRange = header(req, 'if-range');
    if (range !== undefined && d.status === 200 && (ifRange === undefined || ifRange === etag)) {
      const r = parseRange(range, file.size);
      if (r === 'unsatisfiable') {
        return respond(416, 'Range Not Satisfiable', withRules([...headers, ['content-range', `bytes */${file.size}`]]), null);
      }
      if (r !== null) {
        const h = withRules([...headers, ['content-range', `bytes ${r.start}-${r.end}/${file.size}`], ['content-length', String(r.end - r.start + 1)]]);
        return respond(206, 'Partial Content', h, head ? emptyBody() : fileBody(() => this.store.read(d.hash, r)));
      }
    }
    const h = withRules([...headers, ['content-length', String(file.size)]]);
    // HEAD: an empty stream keeps the Content-Length of the file on the response (a whole body would replace it).
    const body = head ? emptyBody() : file.size === 0 ? emptyBody() : fileBody(() => this.store.read(d.hash));
    return respond(d.status, d.status === 200 ? 'OK' : 'Not Found', h, body);
  }
}

function respond(status: number, statusText: string, headers: Array<[string, string]>, stream: AsyncGenerator<Uint8Array> | null): WorkerResponse {
  return { status, statusText, headers, body: stream ? null : new Uint8Array(0), stream };
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {
  // nothing: HEAD, or an empty file
}

/** The file opened only once the body is read, so that a response nobody reads holds no file open. */
async function* fileBody(open: () => ReadStream): AsyncGenerator<Uint8Array> {
  const stream = open();
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } finally {
    // The client went away before the end: close the file.
    stream.destroy();
  }
}

/** What the assets make of a request: `_redirects` first, then the file its path means (html_handling, not-found handling). */
function decide(config: AssetsConfig, assets: VersionAssets, notFound: NotFoundHandling, method: string, url: URL): Decision {
  let pathname = url.pathname;
  let proxied = false;
  const rule = matchRedirect(assets.redirects, url.hostname, pathname);
  if (rule) {
    if (rule.status === 200) {
      // Served as another asset, the URL unchanged.
      pathname = new URL(rule.to, url).pathname;
      proxied = true;
    } else {
      const to = new URL(rule.to, url);
      const query = to.search || url.search;
      const location = to.origin === url.origin ? `${to.pathname}${query}${to.hash}` : `${to.href.slice(0, to.href.length - to.search.length - to.hash.length)}${query}${to.hash}`;
      return { kind: 'redirect', status: rule.status, location };
    }
  }
  const decoded = decodePath(pathname);
  const lookup = (p: string): string | undefined => (Object.hasOwn(assets.files, p) ? assets.files[p]!.hash : undefined);
  const intent = resolveIntent(decoded, lookup, { htmlHandling: config.htmlHandling, notFoundHandling: notFound });
  if (intent === null) return proxied ? { kind: 'missing' } : { kind: 'none' };
  const m = method.toUpperCase();
  if (m !== 'GET' && m !== 'HEAD') return { kind: 'method' };
  const destination = 'redirect' in intent ? intent.redirect : decoded;
  const encoded = encodePath(destination);
  // One canonical URL per file: a differently spelt or html_handling-redirected path gets a 307 to it.
  if ('redirect' in intent || encoded !== pathname) return { kind: 'redirect', status: 307, location: `${encoded}${url.search}` };
  return { kind: 'asset', ...intent.asset };
}

/** If-None-Match against an asset's hash: `*`, or a list of strong or weak tags one of which is it. */
function etagMatches(value: string | undefined, hash: string): boolean {
  if (value === undefined) return false;
  if (value.trim() === '*') return true;
  return value.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === `"${hash}"`;
  });
}

/** One `bytes=` range of a body of `size` bytes: inclusive offsets, 'unsatisfiable', or null to serve it whole. */
export function parseRange(value: string, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(value);
  if (!m) return null;
  const specs = m[1]!.split(',');
  // Several ranges would be a multipart answer; the whole body is a correct answer too.
  if (specs.length !== 1) return null;
  const spec = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(specs[0]!);
  if (!spec || (spec[1] === '' && spec[2] === '')) return null;
  if (spec[1] === '') {
    const suffix = Number(spec[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(spec[1]);
  const end = spec[2] === '' ? size - 1 : Math.min(Number(spec[2]), size - 1);
  if (spec[2] !== '' && Number(spec[2]) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}
