// The access keys the S3 endpoint accepts: given by the embedder or edge.config.ts, else one pair generated into
// <dataDir>/s3-credentials.json (mode 0600) on first start and reused afterwards, as the admin token is.
import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EdgeError } from '../../core/errors.ts';
import { validateAccessKeys, type S3AccessKey } from '../../core/host-config.ts';

export { validateAccessKeys };

export const S3_CREDENTIALS_FILE = 's3-credentials.json';

export interface S3Credentials {
  keys: S3AccessKey[];
  /** The file the keys were generated into, when they were. */
  file?: string;
}

export async function resolveS3Credentials(dataDir: string, configured: S3AccessKey[] | undefined): Promise<S3Credentials> {
  if (configured && configured.length > 0) return { keys: configured };
  const file = join(dataDir, S3_CREDENTIALS_FILE);
  let text: string | null = null;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    // generated below
  }
  if (text !== null) {
    try {
      const parsed: unknown = JSON.parse(text);
      return { keys: validateAccessKeys([parsed], file), file };
    } catch (err) {
      throw new EdgeError('E_CONFIG_INVALID', `${file}: not a valid S3 key pair (${err instanceof Error ? err.message : String(err)}); delete it to have a new pair generated`, { details: { file } });
    }
  }
  // The shape of R2's keys: a 32-hex-digit id and a 64-hex-digit secret.
  const key: S3AccessKey = { accessKeyId: randomBytes(16).toString('hex'), secretAccessKey: randomBytes(32).toString('hex') };
  await writeFile(file, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { keys: [key], file };
}
