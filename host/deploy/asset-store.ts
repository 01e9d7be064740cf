// The host's static asset contents, stored once per content: `<dataDir>/assets/<aa>/<sha256>`, whatever worker and
// version uploads them. A deploy first asks which hashes are missing and uploads only those, so a redeploy with one
// file changed stores one file. An upload is hashed as it is written and kept only when its bytes have the hash it
// claims (written to a temporary file, fsync'd, renamed into place), so a stored file is always whole and correct.
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { EdgeError } from '../core/errors.ts';
import { ASSET_LIMITS } from '../core/limits.ts';

const HASH_RE = /^[0-9a-f]{64}$/;

export function isAssetHash(s: string): boolean {
  return HASH_RE.test(s);
}

export class AssetStore {
  readonly dir: string;
  /** Files written since the host started (a content already stored is not written again). */
  readonly stats = { written: 0 };

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'assets');
  }

  /** Where the content of `hash` is stored. */
  path(hash: string): string {
    if (!HASH_RE.test(hash)) throw new EdgeError('E_ASSETS_INVALID', `"${hash}" is not an asset hash (64 lower-case hex digits of SHA-256).`);
    return join(this.dir, hash.slice(0, 2), hash);
  }

  /** The stored size of `hash`, or null when it is not stored. */
  async size(hash: string): Promise<number | null> {
    try {
      return (await stat(this.path(hash))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** The hashes of `hashes` that are not stored yet, in their order, each once. */
  async missing(hashes: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    const seen = new Set<string>();
    for (const h of hashes) {
      if (seen.has(h)) continue;
      seen.add(h);
      if ((await this.size(h)) === null) out.push(h);
    }
    return out;
  }

  /**
   * Stores `body` as the content of `hash`, refusing it when its SHA-256 differs or it is larger than an asset may
   * be. Returns whether it was written (false: that content was already stored).
   */
  async put(hash: string, body: AsyncIterable<Uint8Array>): Promise<{ written: boolean; size: number }> {
    const final = this.path(hash);
    const existing = await this.size(hash);
    if (existing !== null) {
      for await (const _ of body) {
        // drained: the client sent it anyway
      }
      return { written: false, size: existing };
    }
    await mkdir(join(this.dir, hash.slice(0, 2)), { recursive: true });
    const tmp = join(this.dir, `.tmp-${hash}-${randomBytes(4).toString('hex')}`);
    const fh = await open(tmp, 'w');
    const sha = createHash('sha256');
    let size = 0;
    let ok = false;
    try {
      for await (const chunk of body) {
        size += chunk.byteLength;
        if (size > ASSET_LIMITS.fileBytes) {
          throw new EdgeError('E_ASSETS_INVALID', `Asset ${hash} is larger than ${ASSET_LIMITS.fileBytes} bytes (25 MiB), the most one asset may be.`, { status: 413 });
        }
        sha.update(chunk);
        await fh.write(chunk);
      }
      const got = sha.digest('hex');
      if (got !== hash) throw new EdgeError('E_ASSETS_INVALID', `The uploaded bytes have SHA-256 ${got}, not ${hash}; the upload was cut short or changed on the way.`);
      await fh.sync();
      ok = true;
    } finally {
      await fh.close();
      if (!ok) await rm(tmp, { force: true });
    }
    await rename(tmp, final);
    const dirFh = await open(join(this.dir, hash.slice(0, 2)), 'r');
    try {
      await dirFh.sync();
    } finally {
      await dirFh.close();
    }
    this.stats.written++;
    return { written: true, size };
  }

  /** The stored content of `hash`, or the bytes `start`..`end` (inclusive) of it. */
  read(hash: string, range?: { start: number; end: number }): ReadStream {
    return createReadStream(this.path(hash), range ? { start: range.start, end: range.end } : {});
  }

  /** Removes leftovers of interrupted uploads. */
  async cleanup(): Promise<void> {
    let entries: string[];
    try {
      entries = await readdir(this.dir);
    } catch {
      return;
    }
    for (const e of entries) if (e.startsWith('.tmp-')) await rm(join(this.dir, e), { force: true });
  }
}
