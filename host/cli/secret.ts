// `edge secret put|bulk|list|delete <worker>`: a worker's secrets, stored encrypted by the host and given to `env` like
// vars (like `wrangler secret`). Values are read from stdin or a prompt that does not echo, and never printed.

import { readFile } from 'node:fs/promises';
import { parseEnv } from 'node:util';
import { Command } from 'commander';
import { EdgeError } from '../core/errors.ts';
import { formatTime, paint, table } from './output.ts';
import { adminClientFrom, jsonOption, printJson, withClientOptions, type ClientOptions } from './options.ts';

type Opts = ClientOptions & { json?: boolean };

/** Reads a line from the terminal without echoing it. */
async function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  try {
    return await new Promise<string>((done, fail) => {
      let value = '';
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            done(value);
            return;
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            fail(new EdgeError('E_SECRET_INVALID', 'cancelled'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}

/** The secret's value: from a prompt on a terminal, else all of stdin without its final newline (`echo "$TOKEN" | edge secret put ...`). */
export async function readSecretValue(key: string): Promise<string> {
  if (process.stdin.isTTY) return promptHidden(`Enter the value of ${key}: `);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Secrets from a file: a JSON object of strings, or dotenv lines (`KEY=value`, as .dev.vars and .env). */
export async function readSecretsFile(path: string): Promise<Record<string, string>> {
  const text = await readFile(path, 'utf8');
  if (!path.endsWith('.json')) return parseEnv(text) as Record<string, string>;
  const parsed: unknown = JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) {
    throw new EdgeError('E_SECRET_INVALID', `${path} must hold a JSON object of strings ({ "NAME": "value" }).`);
  }
  return parsed as Record<string, string>;
}

export function secretCommand(): Command {
  const secret = new Command('secret')
    .summary("manage a worker's secrets")
    .description(
      "Set, list and delete a worker's secrets. The host stores them encrypted (AES-256-GCM, key in <data-dir>/secrets.key) " +
        'and gives them to env like [vars] (a secret replaces a var of its name); they are never shown again. A change ' +
        'applies from the next request of the deployed worker; secrets set before its first deploy wait for it.',
    )
    .addHelpText('after', '\nExamples:\n  $ edge secret put my-worker API_TOKEN             # prompts, without echo\n  $ echo "$TOKEN" | edge secret put my-worker API_TOKEN\n  $ edge secret bulk my-worker .dev.vars\n  $ edge secret list my-worker\n  $ edge secret delete my-worker API_TOKEN');

  secret.addCommand(
    withClientOptions(new Command('put').summary('set a secret').description('Set secret <key> of worker <worker> to the value read from stdin (or a prompt on a terminal).').argument('<worker>', 'worker name').argument('<key>', 'the secret\'s name: env.<key>'))
      .addOption(jsonOption())
      .action(async (worker: string, key: string, opts: Opts) => {
        const client = await adminClientFrom(opts);
        const value = await readSecretValue(key);
        const result = await client.secretPut(worker, { [key]: value });
        if (opts.json) return printJson(result);
        process.stdout.write(`${paint('green', 'set')} secret ${key} of ${worker}${result.applied ? ' (in env from the next request)' : ` (in env once ${worker} is deployed)`}\n`);
      }),
  );
  secret.addCommand(
    withClientOptions(new Command('bulk').summary('set several secrets').description('Set the secrets in [file] (dotenv lines KEY=value, or a JSON object; default: stdin as dotenv) at once.').argument('<worker>', 'worker name').argument('[file]', '.dev.vars-style or JSON file'))
      .addOption(jsonOption())
      .action(async (worker: string, file: string | undefined, opts: Opts) => {
        const client = await adminClientFrom(opts);
        const values = file === undefined ? (parseEnv(await readSecretValue('secrets')) as Record<string, string>) : await readSecretsFile(file);
        if (Object.keys(values).length === 0) throw new EdgeError('E_SECRET_INVALID', `no secrets in ${file ?? 'stdin'}`);
        const result = await client.secretPut(worker, values);
        if (opts.json) return printJson(result);
        process.stdout.write(`${paint('green', 'set')} ${result.secrets.length} secret${result.secrets.length === 1 ? '' : 's'} of ${worker}: ${result.secrets.join(', ')}\n`);
      }),
  );
  secret.addCommand(
    withClientOptions(new Command('list').summary("list a worker's secrets (names only)").argument('<worker>', 'worker name'))
      .addOption(jsonOption())
      .action(async (worker: string, opts: Opts) => {
        const list = await (await adminClientFrom(opts)).secretList(worker);
        if (opts.json) return printJson(list);
        if (list.secrets.length === 0) {
          process.stdout.write(`${worker} has no secrets\n`);
          return;
        }
        process.stdout.write(table(['NAME', 'UPDATED'], list.secrets.map((s) => [s.name, formatTime(s.updatedAt)])));
      }),
  );
  secret.addCommand(
    withClientOptions(new Command('delete').summary('delete a secret').argument('<worker>', 'worker name').argument('<key>', 'the secret\'s name'))
      .addOption(jsonOption())
      .action(async (worker: string, key: string, opts: Opts) => {
        const result = await (await adminClientFrom(opts)).secretDelete(worker, key);
        if (opts.json) return printJson(result);
        process.stdout.write(`${paint('green', 'deleted')} secret ${key} of ${worker}\n`);
      }),
  );
  for (const child of secret.commands) child.showHelpAfterError('(add --help for usage)').exitOverride();
  return secret;
}
