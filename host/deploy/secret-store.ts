// Workers' secrets (`edge secret put`, `.dev.vars` under `edge dev`), encrypted at rest under the data directory:
// AES-256-GCM with a key generated at first use into <dataDir>/secrets.key (mode 0600), a fresh IV per value, and
// the worker's and the secret's names as additional data, so that a value moved to another name does not decrypt.
//
//   <dataDir>/secrets.key                  32 random bytes
//   <dataDir>/secrets/<worker>.json        { "<NAME>": { iv, tag, data, updatedAt } }, written durably (temp, fsync, rename)
//
// Values leave this store only decrypted into a worker's env (deployer.ts); listings give names and times.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EdgeError } from '../core/errors.ts';
import { SECRET_LIMITS } from '../core/limits.ts';
import { WORKER_NAME_RE } from '../core/manifest.ts';

/** A secret's name: what `env.<NAME>` reads. */
export const SECRET_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface SealedValue { iv: string; tag: string; data: string; updatedAt: string }
type WorkerSecrets = Record<string, SealedValue>;

export interface SecretInfo { name: string; updatedAt: string }

async function writeDurably(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export class SecretStore {
  readonly #dir: string;
  readonly #keyFile: string;
  #key: Promise<Buffer> | null = null;

  constructor(dataDir: string) {
    this.#dir = join(dataDir, 'secrets');
    this.#keyFile = join(dataDir, 'secrets.key');
  }

  /** The data key: read, or generated (0600) on first use. */
  #dataKey(): Promise<Buffer> {
    this.#key ??= (async () => {
      try {
        const key = await readFile(this.#keyFile);
        if (key.length !== 32) throw new EdgeError('E_CONFIG_INVALID', `${this.#keyFile} is not a 32-byte key; the secrets it encrypted cannot be read without it.`);
        return key;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      const key = randomBytes(32);
      await writeDurably(this.#keyFile, key, 0o600);
      await chmod(this.#keyFile, 0o600);
      return key;
    })();
    this.#key.catch(() => {
      this.#key = null;
    });
    return this.#key;
  }

  #file(worker: string): string {
    if (!WORKER_NAME_RE.test(worker)) throw new EdgeError('E_SECRET_INVALID', `"${worker}" is not a worker name.`);
    return join(this.#dir, `${worker}.json`);
  }

  async #read(worker: string): Promise<WorkerSecrets> {
    try {
      return JSON.parse(await readFile(this.#file(worker), 'utf8')) as WorkerSecrets;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
  }

  async #write(worker: string, secrets: WorkerSecrets): Promise<void> {
    if (Object.keys(secrets).length === 0) await rm(this.#file(worker), { force: true });
    else await writeDurably(this.#file(worker), `${JSON.stringify(secrets)}\n`, 0o600);
  }

  /** The names of `worker`'s secrets and when each was set, sorted by name. */
  async list(worker: string): Promise<SecretInfo[]> {
    const secrets = await this.#read(worker);
    return Object.keys(secrets).sort().map((name) => ({ name, updatedAt: secrets[name]!.updatedAt }));
  }

  /** `worker`'s secrets decrypted, for its env. */
  async values(worker: string): Promise<Record<string, string>> {
    const secrets = await this.#read(worker);
    const names = Object.keys(secrets);
    if (names.length === 0) return {};
    const key = await this.#dataKey();
    const out: Record<string, string> = {};
    for (const name of names) {
      const sealed = secrets[name]!;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
        decipher.setAAD(Buffer.from(`${worker}\0${name}`));
        decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
        out[name] = Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
      } catch (cause) {
        throw new EdgeError('E_CONFIG_INVALID', `The secret ${name} of worker "${worker}" cannot be decrypted with ${this.#keyFile} (was the key replaced?); set it again with \`edge secret put ${worker} ${name}\`.`, { status: 500, cause });
      }
    }
    return out;
  }

  /** Sets secrets of `worker` (new or replaced), all or none. */
  async put(worker: string, values: Record<string, string>): Promise<void> {
    const secrets = await this.#read(worker);
    const key = await this.#dataKey();
    const now = new Date().toISOString();
    for (const [name, value] of Object.entries(values)) {
      checkSecret(name, value);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(`${worker}\0${name}`));
      const data = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
      Object.defineProperty(secrets, name, { value: { iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64'), updatedAt: now }, enumerable: true, writable: true, configurable: true });
    }
    if (Object.keys(secrets).length > SECRET_LIMITS.perWorker) {
      throw new EdgeError('E_SECRET_INVALID', `Worker "${worker}" would have ${Object.keys(secrets).length} secrets; at most ${SECRET_LIMITS.perWorker} are allowed.`);
    }
    await this.#write(worker, secrets);
  }

  /** Deletes one secret; false when `worker` has no secret `name`. */
  async delete(worker: string, name: string): Promise<boolean> {
    const secrets = await this.#read(worker);
    if (!Object.hasOwn(secrets, name)) return false;
    delete secrets[name];
    await this.#write(worker, secrets);
    return true;
  }

  /** Deletes every secret of `worker` (the worker was deleted). */
  async deleteAll(worker: string): Promise<void> {
    await rm(this.#file(worker), { force: true });
  }
}

/** A secret's name and value as Workers allows them; the error never repeats the value. */
export function checkSecret(name: string, value: unknown): void {
  if (!SECRET_NAME_RE.test(name) || name.length > SECRET_LIMITS.nameLength) {
    throw new EdgeError('E_SECRET_INVALID', `"${name.slice(0, 64)}" is not a secret name: letters, digits and '_', not starting with a digit (it becomes env.<NAME>), at most ${SECRET_LIMITS.nameLength} characters.`, { details: { secret: name.slice(0, 64) } });
  }
  if (typeof value !== 'string') throw new EdgeError('E_SECRET_INVALID', `The value of secret ${name} must be a string.`, { details: { secret: name } });
  const bytes = Buffer.byteLength(value);
  if (bytes > SECRET_LIMITS.valueBytes) {
    throw new EdgeError('E_SECRET_INVALID', `The value of secret ${name} is ${bytes} bytes; at most ${SECRET_LIMITS.valueBytes} are allowed.`, { details: { secret: name } });
  }
}
