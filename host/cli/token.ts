// Where a CLI client finds the admin token: --token, else EDGE_ADMIN_TOKEN, else <data-dir>/admin-token.

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EdgeError } from '../core/errors.ts';

export const DEFAULT_DATA_DIR = '.edge';
export const ADMIN_TOKEN_ENV = 'EDGE_ADMIN_TOKEN';
export const ADMIN_TOKEN_FILE = 'admin-token';

export interface AdminTokenSources { token?: string | undefined; env?: Record<string, string | undefined>; dataDir?: string | undefined }
export interface ResolvedAdminToken { token: string; source: 'option' | 'env' | 'file'; file?: string }

export async function resolveAdminToken(sources: AdminTokenSources): Promise<ResolvedAdminToken> {
  const option = sources.token?.trim();
  if (option) return { token: option, source: 'option' };
  const env = (sources.env ?? process.env)[ADMIN_TOKEN_ENV]?.trim();
  if (env) return { token: env, source: 'env' };

  const file = resolve(join(sources.dataDir ?? DEFAULT_DATA_DIR, ADMIN_TOKEN_FILE));
  const howTo = `pass --token <token>, set ${ADMIN_TOKEN_ENV}, or point --data-dir at the data directory of the running \`edge serve\``;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' || code === 'ENOTDIR' ? `no token file at ${file}` : `cannot read ${file} (${code ?? String(e)})`;
    throw new EdgeError('E_UNAUTHORIZED', `no admin token: ${why}; ${howTo}`, { status: 401, details: { file }, cause: e });
  }
  const token = text.trim();
  if (!token) throw new EdgeError('E_UNAUTHORIZED', `no admin token: ${file} is empty; ${howTo}`, { status: 401, details: { file } });
  return { token, source: 'file', file };
}
