// Client side of a deploy's static assets, as wrangler does it: every file under `assets.directory` (relative to the
// manifest) but what its `.assetsignore` (.gitignore syntax) leaves out, each with its SHA-256 and size; `_headers`
// and `_redirects` are read as rules, not served. Only the list goes with the deploy: the contents are uploaded
// beforehand, and only those the host does not have yet.
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import ignore from 'ignore';
import { EdgeError } from '../core/errors.ts';
import { ASSET_LIMITS } from '../core/limits.ts';
import type { AssetsConfig } from '../core/assets.ts';
import type { AssetsUpload } from './asset-manifest.ts';

/** The assets of a worker directory: what goes with the deploy, and where each content is read from. */
export interface CollectedAssets {
  upload: AssetsUpload;
  /** Absolute path of the assets directory. */
  dir: string;
  /** For each hash, the file (relative to `dir`, '/'-separated) to upload it from. */
  sources: Map<string, string>;
}

const IGNORE_FILE = '.assetsignore';
/** Read as rules (or as the ignore list), never served, as on Workers. */
const RULE_FILES = new Set([IGNORE_FILE, '_headers', '_redirects']);
/** `edge dev` keeps its data here when the assets directory is the worker's own. */
const SKIPPED_DIRS = new Set(['.edge']);

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Collects `config.directory` of the worker whose manifest is in `root` (`manifestFile` names it in errors). */
export async function collectAssets(root: string, config: AssetsConfig, manifestFile: string): Promise<CollectedAssets> {
  const dir = resolve(root, config.directory);
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) {
    throw new EdgeError('E_ASSETS_INVALID', `${manifestFile}: \`assets.directory\` = ${JSON.stringify(config.directory)} is not a directory (looked for ${dir}).`, {
      details: { file: manifestFile, key: 'assets.directory', dir },
    });
  }
  const ignoreText = await readOptional(join(dir, IGNORE_FILE));
  const ig = ignore().add(ignoreText ?? '');
  const found: string[] = [];

  async function walk(rel: string): Promise<void> {
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    for (const entry of entries) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (SKIPPED_DIRS.has(entry.name) || ig.ignores(`${path}/`)) continue;
        await walk(path);
        continue;
      }
      if (rel === '' && RULE_FILES.has(entry.name)) continue;
      if (ig.ignores(path)) continue;
      // Symlinked files are followed; symlinked directories are not, so that cycles cannot occur.
      if (entry.isFile() || (entry.isSymbolicLink() && (await stat(join(dir, path)).then((s) => s.isFile(), () => false)))) {
        found.push(path);
        if (found.length > ASSET_LIMITS.files) {
          throw new EdgeError('E_ASSETS_INVALID', `${dir} holds more than ${ASSET_LIMITS.files} files, the most a version's assets may have; list what need not be served in ${IGNORE_FILE}.`, {
            details: { dir, limit: ASSET_LIMITS.files },
          });
        }
      }
    }
  }
  await walk('');
  found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  if (found.includes('_worker.js')) {
    throw new EdgeError('E_ASSETS_INVALID', `${dir}/_worker.js would be uploaded as a public asset (it is Pages' worker file, not this worker's code); add _worker.js to ${join(dir, IGNORE_FILE)}, or point \`main\` at it.`, {
      details: { dir, path: '_worker.js' },
    });
  }
  const files: AssetsUpload['files'] = [];
  const sources = new Map<string, string>();
  for (const path of found) {
    const abs = join(dir, path);
    const size = (await stat(abs)).size;
    if (size > ASSET_LIMITS.fileBytes) {
      throw new EdgeError('E_ASSETS_INVALID', `${abs} is ${(size / (1024 * 1024)).toFixed(1)} MiB; an asset may be at most 25 MiB (list it in ${IGNORE_FILE} to leave it out).`, {
        details: { path: abs, size, limit: ASSET_LIMITS.fileBytes },
      });
    }
    const hash = await hashFile(abs);
    files.push({ path: `/${path}`, hash, size });
    if (!sources.has(hash)) sources.set(hash, path);
  }
  const upload: AssetsUpload = { files };
  const redirects = await readOptional(join(dir, '_redirects'));
  if (redirects !== undefined) upload.redirects = redirects;
  const headers = await readOptional(join(dir, '_headers'));
  if (headers !== undefined) upload.headers = headers;
  return { upload, dir, sources };
}
