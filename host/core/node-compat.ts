// Which of Cloudflare's Node.js compatibility settings a worker has, from its compatibility flags and date, as
// Workers reads them: `nodejs_compat` (v2 behaviour from 2024-09-23, or with `nodejs_compat_v2`), `nodejs_als`
// (node:async_hooks alone), and whether process.env holds the worker's text vars and secrets
// (`nodejs_compat_populate_process_env`, the default with nodejs_compat from 2025-04-01).
import type { DeployManifest } from './manifest.ts';

/** 'full': the Node.js modules nodejs_compat has; 'als': only node:async_hooks (`nodejs_als`); null: none. */
export type NodeCompatMode = 'full' | 'als' | null;

const POPULATE_ENV_FROM = '2025-04-01';

type CompatSettings = Pick<DeployManifest, 'compatibilityFlags' | 'compatibilityDate'>;

export function nodeCompatMode(m: CompatSettings): NodeCompatMode {
  const flags = m.compatibilityFlags;
  if (flags.includes('nodejs_compat') || flags.includes('nodejs_compat_v2')) return 'full';
  if (flags.includes('nodejs_als')) return 'als';
  return null;
}

/** Whether process.env is filled from the worker's string bindings (its vars and secrets). */
export function populatesProcessEnv(m: CompatSettings): boolean {
  if (nodeCompatMode(m) !== 'full') return false;
  const flags = m.compatibilityFlags;
  if (flags.includes('nodejs_compat_do_not_populate_process_env')) return false;
  if (flags.includes('nodejs_compat_populate_process_env')) return true;
  return m.compatibilityDate !== undefined && m.compatibilityDate >= POPULATE_ENV_FROM;
}

/** The flag a worker lacks to import `specifier` (a Node.js built-in), for refusals. */
export const NODE_COMPAT_FLAG_HINT = 'compatibility_flags = ["nodejs_compat"]';
