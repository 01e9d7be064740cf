// The host config, `edge.config.ts` (or .mjs/.js): what this host offers beyond the platform, today the user-defined
// capabilities. Paths in it are relative to the file.
//
//   export default {
//     capabilities: [{ wit: './geo.wit', module: './geo.ts' }],
//     s3: { accessKeys: [{ accessKeyId: 'dev', secretAccessKey: '...' }] },   // the S3 endpoint's keys
//   };
import { access } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EdgeError } from './errors.ts';

export interface UserCapabilitySpec {
  /** Absolute path of the capability's .wit file (or a directory of .wit files of one package). */
  wit: string;
  /** Absolute path of the module whose default export is the CapabilityDefinition. */
  module: string;
}

export interface HostConfig {
  /** The file read, or null when there is none. */
  path: string | null;
  capabilities: UserCapabilitySpec[];
  /** The S3 endpoint's access keys; when absent the host generates a pair into <dataDir>/s3-credentials.json. */
  s3?: { accessKeys: S3AccessKey[] };
}

/** An access key pair of the S3 endpoint. */
export interface S3AccessKey {
  accessKeyId: string;
  secretAccessKey: string;
}

const ACCESS_KEY_ID = /^[A-Za-z0-9_.-]{3,128}$/;

/** Checks a list of access keys (from edge.config.ts or HostOptions); `where` names the source in errors. */
export function validateAccessKeys(value: unknown, where: string): S3AccessKey[] {
  if (!Array.isArray(value)) throw new Error(`\`${where}\` must be an array of { accessKeyId, secretAccessKey }`);
  const seen = new Set<string>();
  return value.map((item, i) => {
    const at = `${where}[${i}]`;
    if (item === null || typeof item !== 'object') throw new Error(`\`${at}\` must be an object { accessKeyId, secretAccessKey }`);
    const { accessKeyId, secretAccessKey, ...rest } = item as Record<string, unknown>;
    for (const k of Object.keys(rest)) throw new Error(`unknown key \`${at}.${k}\` (known: accessKeyId, secretAccessKey)`);
    if (typeof accessKeyId !== 'string' || !ACCESS_KEY_ID.test(accessKeyId)) {
      throw new Error(`\`${at}.accessKeyId\` must be 3-128 letters, digits, '.', '_' or '-', got ${JSON.stringify(accessKeyId)}`);
    }
    if (typeof secretAccessKey !== 'string' || secretAccessKey.length < 8 || /\s/.test(secretAccessKey)) {
      throw new Error(`\`${at}.secretAccessKey\` must be a string of at least 8 characters without spaces`);
    }
    if (seen.has(accessKeyId)) throw new Error(`\`${at}.accessKeyId\` ${JSON.stringify(accessKeyId)} is listed twice`);
    seen.add(accessKeyId);
    return { accessKeyId, secretAccessKey };
  });
}

export const CONFIG_FILES = ['edge.config.ts', 'edge.config.mjs', 'edge.config.js'];

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/** The nearest config file in `from` or one of its parents. */
export async function findHostConfig(from: string): Promise<string | null> {
  let dir = resolve(from);
  for (;;) {
    for (const name of CONFIG_FILES) if (await exists(join(dir, name))) return join(dir, name);
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

function bad(path: string, message: string): EdgeError {
  return new EdgeError('E_CONFIG_INVALID', `${path}: ${message}`, { details: { file: path } });
}

export async function loadHostConfig(path: string | null): Promise<HostConfig> {
  if (path === null) return { path: null, capabilities: [] };
  const abs = resolve(path);
  if (!(await exists(abs))) throw bad(abs, 'host config file not found');
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(abs).href)) as { default?: unknown };
  } catch (err) {
    throw bad(abs, `cannot load: ${err instanceof Error ? err.message : String(err)}`);
  }
  const cfg = mod.default;
  if (cfg === null || typeof cfg !== 'object') throw bad(abs, 'must `export default` an object, e.g. `export default { capabilities: [...] }`');
  for (const key of Object.keys(cfg)) if (key !== 'capabilities' && key !== 's3') throw bad(abs, `unknown key \`${key}\` (known: capabilities, s3)`);
  let s3: HostConfig['s3'];
  const s3Section = (cfg as { s3?: unknown }).s3;
  if (s3Section !== undefined) {
    if (s3Section === null || typeof s3Section !== 'object' || Array.isArray(s3Section)) throw bad(abs, '`s3` must be an object { accessKeys: [{ accessKeyId, secretAccessKey }] }');
    const { accessKeys, ...rest } = s3Section as Record<string, unknown>;
    for (const k of Object.keys(rest)) throw bad(abs, `unknown key \`s3.${k}\` (known: accessKeys)`);
    try {
      s3 = { accessKeys: validateAccessKeys(accessKeys, 's3.accessKeys') };
    } catch (err) {
      throw bad(abs, (err as Error).message);
    }
    if (s3.accessKeys.length === 0) throw bad(abs, '`s3.accessKeys` must list at least one key (or leave `s3` out to have a pair generated)');
  }
  const list = (cfg as { capabilities?: unknown }).capabilities ?? [];
  if (!Array.isArray(list)) throw bad(abs, '`capabilities` must be an array of { wit, module }');
  const base = dirname(abs);
  const capabilities: UserCapabilitySpec[] = [];
  for (const [i, item] of list.entries()) {
    const at = `capabilities[${i}]`;
    if (item === null || typeof item !== 'object') throw bad(abs, `\`${at}\` must be an object { wit: './x.wit', module: './x.ts' }`);
    const { wit, module, ...rest } = item as Record<string, unknown>;
    for (const k of Object.keys(rest)) throw bad(abs, `unknown key \`${at}.${k}\` (known: wit, module)`);
    if (typeof wit !== 'string' || wit === '') throw bad(abs, `\`${at}.wit\` must be the path of the capability's .wit file`);
    if (typeof module !== 'string' || module === '') throw bad(abs, `\`${at}.module\` must be the path of the module implementing it`);
    const spec = { wit: resolve(base, wit), module: resolve(base, module) };
    if (!(await exists(spec.wit))) throw bad(abs, `\`${at}.wit\`: ${spec.wit} does not exist`);
    if (!(await exists(spec.module))) throw bad(abs, `\`${at}.module\`: ${spec.module} does not exist`);
    capabilities.push(spec);
  }
  return { path: abs, capabilities, ...(s3 ? { s3 } : {}) };
}
