// Options shared by `edge` commands: ports, URLs, and the admin client flags (--admin-url, --token, --data-dir).

import { Command, InvalidArgumentError, Option } from 'commander';
import { AdminClient } from './admin-client.ts';
import { DEFAULT_DATA_DIR, resolveAdminToken } from './token.ts';

export const DEFAULT_PORT = 8787;
export const DEFAULT_ADMIN_PORT = 8788;
export const DEFAULT_ADMIN_URL = `http://127.0.0.1:${DEFAULT_ADMIN_PORT}`;

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(n) || n > 65535) {
    throw new InvalidArgumentError(`expected a port number from 0 to 65535 (0 picks a free port), got "${value}"`);
  }
  return n;
}

export function parseHttpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`expected a URL such as ${DEFAULT_ADMIN_URL}, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`expected an http:// or https:// URL, got "${value}"`);
  return value.replace(/\/+$/, '');
}

export interface ClientOptions { adminUrl: string; token?: string; dataDir: string }

/** Adds --admin-url, --token and --data-dir, the flags of every command that talks to a running host. */
export function withClientOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--admin-url <url>', 'admin API of the running host').env('EDGE_ADMIN_URL').default(DEFAULT_ADMIN_URL).argParser(parseHttpUrl))
    .addOption(new Option('--token <token>', 'admin token (else $EDGE_ADMIN_TOKEN, else the file <data-dir>/admin-token)'))
    .addOption(new Option('--data-dir <dir>', 'data directory of the host, where its admin-token file is').default(DEFAULT_DATA_DIR));
}

export async function adminClientFrom(options: ClientOptions): Promise<AdminClient> {
  const { token } = await resolveAdminToken({ token: options.token, dataDir: options.dataDir });
  return new AdminClient({ adminUrl: options.adminUrl, token });
}

export function jsonOption(): Option {
  return new Option('--json', 'print the admin API answer as JSON');
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
