// node:process (and the `process` global) under nodejs_compat: unenv's Process, with an `env` of its own that holds
// the worker's text vars and secrets when nodejs_compat_populate_process_env applies (the host decides at bundle time:
// edge:node-compat-config), as on Workers. unenv's default env would read globals when there is no host process.
import { Process } from 'unenv/node/internal/process/process';
import { hrtime } from 'unenv/node/internal/process/hrtime';
import { nextTick } from 'unenv/node/internal/process/nexttick';
import { env as workerEnv } from 'cloudflare:workers';
import { populateProcessEnv } from 'edge:node-compat-config';

const env = {};
if (populateProcessEnv) {
  for (const [key, value] of Object.entries(workerEnv)) if (typeof value === 'string') env[key] = value;
}

const process = new Process({ env, hrtime, nextTick });
// What workerd reports.
process.platform = 'linux';

export default process;
export { env, hrtime, nextTick };
export const { argv, cwd, emit, emitWarning, exit, memoryUsage, on, off, once, platform, version, versions, release, uptime, features } = process;
