// `edge dev`'s local secrets, as wrangler dev reads them: `.dev.vars` (or `.dev.vars.<env>` with --env) beside the
// manifest, else `.env` (`.env.<env>`), in dotenv syntax. They become the worker's secrets on the dev host (stored
// encrypted like any secret), so they reach `env` like vars and override vars of the same name.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import type { AdminClient } from './admin-client.ts';

/** File names `edge dev` reads secrets from (and watches), at the top of the worker directory. */
export const DEV_VARS_FILE = /^\.(dev\.vars|env)(\.[\w-]+)?$/;

export interface DevVars {
  /** The file they came from, e.g. `.dev.vars`. */
  file: string;
  values: Record<string, string>;
}

async function readIfFile(path: string): Promise<string | null> {
  const s = await stat(path).catch(() => null);
  return s?.isFile() ? readFile(path, 'utf8') : null;
}

/** The local secrets of the worker in `dir`, or null when it has no `.dev.vars` or `.env` file. */
export async function readDevVars(dir: string, env?: string): Promise<DevVars | null> {
  const candidates = env === undefined ? ['.dev.vars', '.env'] : [`.dev.vars.${env}`, '.dev.vars', `.env.${env}`, '.env'];
  for (const file of candidates) {
    const text = await readIfFile(join(dir, file));
    if (text !== null) return { file, values: parseEnv(text) as Record<string, string> };
  }
  return null;
}

/** Makes `worker`'s secrets on the dev host what `vars` says: sets them all at once, deletes the ones no longer there. */
export async function syncDevSecrets(client: AdminClient, worker: string, vars: Record<string, string>): Promise<void> {
  const { secrets } = await client.secretList(worker);
  for (const { name } of secrets) if (!Object.hasOwn(vars, name)) await client.secretDelete(worker, name);
  if (Object.keys(vars).length > 0) await client.secretPut(worker, vars);
}
