// A deploy's static assets as the host checks them: the uploaded list (URL path → content hash and size, every
// hash already in the asset store), Workers' limits, the Content-Type of each file, and the `_redirects` and
// `_headers` files of the assets directory parsed into rules. The result is what the version stores and serves.
import mime from 'mime-types';
import { posix } from 'node:path';
import { EdgeError } from '../core/errors.ts';
import { ASSET_LIMITS } from '../core/limits.ts';
import type { AssetFile, AssetHeaderRule, AssetRedirectRule, VersionAssets } from '../core/assets.ts';
import { isAssetHash, type AssetStore } from './asset-store.ts';

/** The assets part of a deploy upload: what `edge deploy` found in `assets.directory` (the contents travel separately). */
export interface AssetsUpload {
  files: Array<{ path: string; hash: string; size: number }>;
  /** The text of `_redirects` / `_headers` in the assets directory, when there is one. */
  redirects?: string;
  headers?: string;
}

const REDIRECT_STATUSES = new Set([200, 301, 302, 303, 307, 308]);
const PLACEHOLDER_RE = /:[A-Za-z]\w*/;
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function invalid(message: string, details: Record<string, unknown> = {}): EdgeError {
  return new EdgeError('E_ASSETS_INVALID', message, { details });
}

/** The Content-Type an asset is served with: by its extension, text types in UTF-8; unknown ones as bytes. */
export function assetContentType(path: string): string {
  const type = mime.lookup(path);
  if (type === false) return 'application/octet-stream';
  return mime.contentType(type) || type;
}

function checkPath(p: string): void {
  const bad = !p.startsWith('/') || p.includes('\0') || p.includes('\\') || p.endsWith('/') || posix.normalize(p) !== p || p.split('/').some((s) => s === '.' || s === '..');
  if (bad) throw invalid(`Asset path ${JSON.stringify(p)} is not a file path inside the assets directory (it must start with "/", with no ".", ".." or empty segments).`, { path: p });
}

/** Checks the uploaded list against the limits and the store, and parses the rules files. */
export async function checkAssets(upload: AssetsUpload, store: AssetStore): Promise<VersionAssets> {
  if (upload.files.length > ASSET_LIMITS.files) {
    throw invalid(`The assets directory holds ${upload.files.length} files; a version may have at most ${ASSET_LIMITS.files}. List what need not be served in .assetsignore.`, { files: upload.files.length, limit: ASSET_LIMITS.files });
  }
  const files: Record<string, AssetFile> = {};
  for (const f of upload.files) {
    checkPath(f.path);
    if (Object.hasOwn(files, f.path)) throw invalid(`Asset ${f.path} is listed twice.`, { path: f.path });
    if (!isAssetHash(f.hash)) throw invalid(`Asset ${f.path}: "${f.hash}" is not a SHA-256 hash in hex.`, { path: f.path });
    if (!Number.isSafeInteger(f.size) || f.size < 0) throw invalid(`Asset ${f.path}: size ${f.size} is not a byte count.`, { path: f.path });
    if (f.size > ASSET_LIMITS.fileBytes) {
      throw invalid(`Asset ${f.path} is ${f.size} bytes; an asset may be at most ${ASSET_LIMITS.fileBytes} bytes (25 MiB).`, { path: f.path, size: f.size, limit: ASSET_LIMITS.fileBytes });
    }
    const stored = await store.size(f.hash);
    if (stored !== f.size) {
      throw new EdgeError('E_ASSET_MISSING', `Asset ${f.path} (${f.hash}) was not uploaded to this host; \`edge deploy\` uploads missing assets before deploying (PUT /v1/assets/<hash>).`, {
        details: { path: f.path, hash: f.hash },
      });
    }
    Object.defineProperty(files, f.path, { value: { hash: f.hash, size: f.size, contentType: assetContentType(f.path) }, enumerable: true, writable: true, configurable: true });
  }
  return {
    files,
    redirects: upload.redirects === undefined ? [] : parseRedirects(upload.redirects),
    headers: upload.headers === undefined ? [] : parseHeaders(upload.headers),
  };
}

/** `_redirects`: one rule a line, `<from> <to> [status]` (302 by default), `#` comments; the first matching rule wins. */
export function parseRedirects(text: string): AssetRedirectRule[] {
  const rules: AssetRedirectRule[] = [];
  let statics = 0;
  let dynamics = 0;
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    const n = i + 1;
    if (line === '' || line.startsWith('#')) continue;
    const at = `_redirects:${n}`;
    if (line.length > ASSET_LIMITS.redirectLineLength) throw invalid(`${at}: a rule may be at most ${ASSET_LIMITS.redirectLineLength} characters.`, { file: '_redirects', line: n });
    const tokens = line.split(/\s+/);
    if (tokens.length < 2 || tokens.length > 3) throw invalid(`${at}: expected \`<from> <to> [status]\`, found ${JSON.stringify(line)}.`, { file: '_redirects', line: n });
    const [from, to, statusText] = tokens as [string, string, string | undefined];
    const status = statusText === undefined ? 302 : Number(statusText);
    if (!REDIRECT_STATUSES.has(status)) throw invalid(`${at}: status ${statusText} is not one of 200, 301, 302, 303, 307, 308.`, { file: '_redirects', line: n });
    if (!from.startsWith('/') && !/^https:\/\/[^/]+\//.test(from)) throw invalid(`${at}: \`${from}\` must be a path starting with "/" (or an https:// URL with a path).`, { file: '_redirects', line: n });
    const absolute = /^[a-z][a-z0-9+.-]*:\/\//i.test(to);
    if (!to.startsWith('/') && !absolute) throw invalid(`${at}: \`${to}\` must be a path starting with "/" or an absolute URL.`, { file: '_redirects', line: n });
    if (status === 200 && absolute) throw invalid(`${at}: a 200 rule serves another asset of this worker, so its target must be a path, not ${to}.`, { file: '_redirects', line: n });
    if (from.includes('*') || PLACEHOLDER_RE.test(from)) dynamics++;
    else statics++;
    if (statics > ASSET_LIMITS.staticRedirects) throw invalid(`${at}: more than ${ASSET_LIMITS.staticRedirects} static rules.`, { file: '_redirects', line: n });
    if (dynamics > ASSET_LIMITS.dynamicRedirects) throw invalid(`${at}: more than ${ASSET_LIMITS.dynamicRedirects} rules with "*" or ":placeholder".`, { file: '_redirects', line: n });
    rules.push({ from, to, status, line: n });
  }
  return rules;
}

/**
 * `_headers`: a path pattern on a line of its own, then its headers indented below it (`  Name: value`, or
 * `  ! Name` to remove one); `#` comments.
 */
export function parseHeaders(text: string): AssetHeaderRule[] {
  const rules: AssetHeaderRule[] = [];
  let current: AssetHeaderRule | null = null;
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const n = i + 1;
    const at = `_headers:${n}`;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (raw.length > ASSET_LIMITS.headerLineLength) throw invalid(`${at}: a line may be at most ${ASSET_LIMITS.headerLineLength} characters.`, { file: '_headers', line: n });
    if (!/^\s/.test(raw)) {
      if (!line.startsWith('/') && !/^https:\/\/[^/]+\//.test(line)) throw invalid(`${at}: \`${line}\` must be a path pattern starting with "/" (headers go on the indented lines below it).`, { file: '_headers', line: n });
      current = { path: line, set: [], unset: [] };
      rules.push(current);
      if (rules.length > ASSET_LIMITS.headerRules) throw invalid(`${at}: more than ${ASSET_LIMITS.headerRules} rules.`, { file: '_headers', line: n });
      continue;
    }
    if (current === null) throw invalid(`${at}: a header before any path pattern; start the rule with its path on an unindented line.`, { file: '_headers', line: n });
    if (line.startsWith('!')) {
      const name = line.slice(1).trim();
      if (!HEADER_NAME_RE.test(name)) throw invalid(`${at}: \`${name}\` is not a header name.`, { file: '_headers', line: n });
      current.unset.push(name.toLowerCase());
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon).trim();
    if (!HEADER_NAME_RE.test(name)) throw invalid(`${at}: expected \`Name: value\` or \`! Name\`, found ${JSON.stringify(line)}.`, { file: '_headers', line: n });
    current.set.push([name.toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return rules;
}
