// `edge serve`: runs the host (data plane + admin API) in the foreground until SIGINT/SIGTERM.

import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CONFIG_FILES } from '../core/host-config.ts';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { HostOptions, RunningHost } from '../server/host.ts';
import { paint } from './output.ts';
import { DEFAULT_ADMIN_PORT, DEFAULT_PORT, parsePort } from './options.ts';
import { waitForShutdownSignal } from './signals.ts';
import { ADMIN_TOKEN_ENV, DEFAULT_DATA_DIR } from './token.ts';

/** How long a clean close may take after Ctrl-C before the process exits anyway. */
export const CLOSE_TIMEOUT_MS = 10_000;

/**
 * Loaded on demand so that client commands (deploy, list, tail...) do not pay for loading Fastify and isolated-vm.
 */
/** `edge.config.ts` (or .mjs/.js) in the working directory, if there is one. */
async function defaultConfig(): Promise<string | null> {
  for (const name of CONFIG_FILES) {
    const path = resolve(name);
    if (await access(path).then(() => true, () => false)) return path;
  }
  return null;
}

export async function startHost(options: HostOptions): Promise<RunningHost> {
  const { startHost: start } = await import('../server/host.ts');
  return start(options);
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

/** Prints where the host listens; `edge dev` and tests read the `data:` and `admin:` lines. */
export function printHostBanner(host: RunningHost, dataDir: string): void {
  const data = new URL(host.dataUrl);
  const token = host.adminTokenFile ? `in ${host.adminTokenFile}` : process.env[ADMIN_TOKEN_ENV] ? `from $${ADMIN_TOKEN_ENV}` : 'given by the caller';
  process.stdout.write(
    `${paint('bold', 'edge host running')} (data dir ${resolve(dataDir)})\n` +
      `  data:  ${host.dataUrl}   workers answer at http://<name>.localhost:${data.port}/\n` +
      `  admin: ${host.adminUrl}\n` +
      `  token: ${token}\n` +
      `  s3:    ${host.s3Url}   path-style (${host.s3Url}/<bucket>/<key>), region auto, ${s3KeysText(host)}\n`,
  );
}

/** The S3 endpoint's credentials for the banner: a generated pair in full (it is local), configured ones by id. */
function s3KeysText(host: RunningHost): string {
  const { keys, file } = host.s3Credentials;
  if (file) return `access key ${keys[0]!.accessKeyId} secret ${keys[0]!.secretAccessKey} (from ${file})`;
  return `access key${keys.length > 1 ? 's' : ''} ${keys.map((k) => k.accessKeyId).join(', ')} (secrets as configured)`;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive whole number, got "${value}"`);
  return n;
}

export function serveCommand(): Command {
  return new Command('serve')
    .summary('run the edge host in the foreground')
    .description(
      'Run the edge host: the data plane that serves deployed workers, and the admin API that `edge deploy`, ' +
        '`edge list`, `edge tail`... talk to. State (versions, storage, the admin token) lives in --data-dir. ' +
        'Stops cleanly on Ctrl-C (SIGINT) or SIGTERM.',
    )
    .addOption(new Option('--port <port>', 'data-plane port (0 picks a free one)').default(DEFAULT_PORT).argParser(parsePort))
    .addOption(new Option('--admin-port <port>', 'admin API port (0 picks a free one)').default(DEFAULT_ADMIN_PORT).argParser(parsePort))
    .option('--host <address>', 'address the data plane binds', '127.0.0.1')
    .option('--admin-host <address>', 'address the admin API binds', '127.0.0.1')
    .addOption(new Option('--s3-port <port>', 'S3-compatible endpoint port (default 8789, or a free one with --port 0; 0 picks a free one)').argParser(parsePort))
    .option('--s3-host <address>', 'address the S3-compatible endpoint binds (requests are SigV4-signed)', '127.0.0.1')
    .option('--data-dir <dir>', 'where versions, storage and the admin token are kept', DEFAULT_DATA_DIR)
    .addOption(new Option('--max-isolates <n>', 'most warm worker isolates kept; least recently used ones are evicted beyond').argParser(positiveInt))
    .addOption(new Option('--memory-budget-mb <mb>', 'total heap of warm isolates before idle ones are evicted').argParser(positiveInt))
    .option('--egress-allow <cidr...>', "private addresses or CIDR ranges workers' fetch() may reach (denied by default), e.g. 127.0.0.1/32")
    .option('--config <file>', 'host config naming user-defined capabilities (default: ./edge.config.ts when present)')
    .addHelpText(
      'after',
      `
Examples:
  $ edge serve
  $ edge serve --port 8080 --admin-port 8081 --s3-port 8082 --data-dir /var/lib/edge
  $ EDGE_ADMIN_TOKEN=secret edge serve --port 0 --admin-port 0   # random free ports
  $ edge serve --config examples/capability-geo/edge.config.ts   # with a user-defined capability`,
    )
    .action(async (opts: { port: number; adminPort: number; host: string; adminHost: string; s3Port?: number; s3Host: string; dataDir: string; egressAllow?: string[]; maxIsolates?: number; memoryBudgetMb?: number; config?: string }) => {
      if (!isLoopback(opts.adminHost)) {
        process.stderr.write(`${paint('yellow', 'warning', process.stderr)}: the admin API binds ${opts.adminHost}; anyone who can reach it with the token can deploy code\n`);
      }
      const shutdown = waitForShutdownSignal({ forceAfterMs: CLOSE_TIMEOUT_MS });
      const host = await startHost({
        dataDir: opts.dataDir,
        port: opts.port,
        adminPort: opts.adminPort,
        host: opts.host,
        adminHost: opts.adminHost,
        ...(opts.s3Port !== undefined ? { s3Port: opts.s3Port } : {}),
        s3Host: opts.s3Host,
        ...(opts.egressAllow ? { egress: { allow: opts.egressAllow } } : {}),
        ...(opts.maxIsolates ? { maxIsolates: opts.maxIsolates } : {}),
        ...(opts.memoryBudgetMb ? { memoryBudgetMb: opts.memoryBudgetMb } : {}),
        configPath: opts.config !== undefined ? resolve(opts.config) : await defaultConfig(),
      });
      printHostBanner(host, opts.dataDir);
      process.stdout.write('press Ctrl-C to stop\n');
      const signal = await shutdown;
      process.stdout.write(`${signal}: closing…\n`);
      await host.close();
      process.stdout.write('closed\n');
    });
}
