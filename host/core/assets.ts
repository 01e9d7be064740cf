// Static assets as Workers has them: the `assets` section of a manifest (how requests meet the files), and what a
// deployed version holds of them (URL path → content hash, size and type; the bytes live once per hash in the
// host's asset store, shared by every version and worker that uploads the same file).

/** `assets.html_handling`: how `.html` files and trailing slashes map to URL paths (Workers' default: auto-trailing-slash). */
export type HtmlHandling = 'auto-trailing-slash' | 'force-trailing-slash' | 'drop-trailing-slash' | 'none';
export const HTML_HANDLING: readonly HtmlHandling[] = ['auto-trailing-slash', 'force-trailing-slash', 'drop-trailing-slash', 'none'];

/** `assets.not_found_handling`: what a request that matches no file gets (Workers' default: none). */
export type NotFoundHandling = 'none' | 'single-page-application' | '404-page';
export const NOT_FOUND_HANDLING: readonly NotFoundHandling[] = ['none', 'single-page-application', '404-page'];

/** A manifest's `assets = { ... }`. */
export interface AssetsConfig {
  /** The folder uploaded, relative to the manifest's directory (read by the client that deploys, never by the host). */
  directory: string;
  /** `env.<binding>` (a Fetcher serving these assets) for the worker, if set. */
  binding?: string;
  htmlHandling: HtmlHandling;
  notFoundHandling: NotFoundHandling;
  /** true: the worker runs before any asset; a list: route patterns (`/api/*`) that run it first, `!/api/docs/*` ones that never do. */
  runWorkerFirst: boolean | string[];
}

/** One file of a version's assets. */
export interface AssetFile {
  /** Lower-case hex SHA-256 of the content: the store's key and the response's ETag. */
  hash: string;
  size: number;
  /** The Content-Type it is served with. */
  contentType: string;
}

/** A `_redirects` rule. */
export interface AssetRedirectRule {
  from: string;
  to: string;
  /** 301, 302, 303, 307, 308, or 200 (served as the asset at `to`, the URL unchanged). */
  status: number;
  line: number;
}

/** A `_headers` rule: headers set (repeated names are joined) and removed on responses whose path matches `path`. */
export interface AssetHeaderRule {
  path: string;
  set: Array<[string, string]>;
  unset: string[];
}

/** What a deployed version holds of its assets. */
export interface VersionAssets {
  /** By decoded URL path, `/` first (`/index.html`, `/img/a b.png`). */
  files: Record<string, AssetFile>;
  redirects: AssetRedirectRule[];
  headers: AssetHeaderRule[];
}

/**
 * The fetch target of an assets binding (`env.ASSETS`): the worker's own assets, not the worker. Worker names never
 * hold ':', so no worker can be mistaken for one.
 */
const ASSETS_TARGET = 'assets:';
export function assetsFetchTarget(worker: string): string {
  return `${ASSETS_TARGET}${worker}`;
}
/** The worker whose assets a fetch target names, or null when it names a worker. */
export function assetsTargetWorker(target: string): string | null {
  return target.startsWith(ASSETS_TARGET) ? target.slice(ASSETS_TARGET.length) : null;
}
