// `edge kv get|put|list|delete`: reads and writes a running host's KV namespaces through the admin API, for
// seeding and inspecting data (as `wrangler kv key ...` does for Workers KV).

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { AdminClient, UploadBody } from './admin-client.ts';
import { formatTime, paint, table } from './output.ts';
import { adminClientFrom, jsonOption, withClientOptions, type ClientOptions } from './options.ts';

/** A failure of a storage command found before or after talking to the host (a file that cannot be read...). */
export class StorageCliError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'StorageCliError';
    this.code = code;
    this.details = details;
  }
}

export type TargetOptions = ClientOptions & { worker?: string; binding?: string };

/** Adds --worker and --binding: name the store by a worker's binding instead of by its id. */
export function withBindingOptions(cmd: Command, kind: 'KV namespace' | 'R2 bucket', example: string): Command {
  return cmd
    .addOption(new Option('--worker <name>', `with --binding: the worker whose active version binds the ${kind}`))
    .addOption(new Option('--binding <NAME>', `the ${kind} bound as env.<NAME> by --worker (instead of giving its ${kind === 'KV namespace' ? 'id' : 'name'}), e.g. ${example}`));
}

function usageOf(cmd: Command): string {
  return `edge ${cmd.parent ? `${cmd.parent.name()} ` : ''}${cmd.name()} ${cmd.usage()}`;
}

/**
 * Splits the positional arguments into the store (an id/name, or the binding of --worker) and the rest. With
 * --binding the store argument is left out, so every later argument moves one place left.
 */
export async function resolveTarget(
  cmd: Command,
  kind: 'kv' | 'r2',
  args: Array<string | undefined>,
  required: number,
  opts: TargetOptions,
): Promise<{ client: AdminClient; store: string; rest: Array<string | undefined> }> {
  const what = kind === 'kv' ? 'namespace' : 'bucket';
  const given = args.filter((a) => a !== undefined).length;
  if (opts.binding === undefined) {
    if (opts.worker !== undefined) cmd.error(`error: --worker needs --binding <NAME> (the ${what} bound as env.NAME); or give the ${what} itself`);
    if (given < required + 1) cmd.error(`error: missing arguments; usage: ${usageOf(cmd)}`);
    return { client: await adminClientFrom(opts), store: args[0]!, rest: args.slice(1) };
  }
  if (opts.worker === undefined) cmd.error(`error: --binding needs --worker <name>: the worker whose active version binds ${opts.binding}`);
  if (given < required) cmd.error(`error: missing arguments; usage: ${usageOf(cmd)} (leaving out the ${what} with --binding)`);
  if (given > args.length - 1) cmd.error(`error: too many arguments: with --binding, leave out the ${what}`);
  const client = await adminClientFrom(opts);
  const bindings = await client.workerStorage(opts.worker!);
  const list = kind === 'kv' ? bindings.kvNamespaces.map((n) => ({ binding: n.binding, store: n.id })) : bindings.r2Buckets.map((b) => ({ binding: b.binding, store: b.bucketName }));
  const found = list.find((b) => b.binding === opts.binding);
  if (!found) {
    const known = list.map((b) => b.binding);
    throw new StorageCliError(
      'E_BINDING_UNKNOWN',
      `worker "${opts.worker}" binds no ${kind === 'kv' ? 'KV namespace' : 'R2 bucket'} as ${opts.binding} (${kind === 'kv' ? 'kv_namespaces' : 'r2_buckets'} of version ${bindings.version}: ${known.length ? known.join(', ') : 'none'})`,
      { worker: opts.worker, binding: opts.binding },
    );
  }
  return { client, store: found.store, rest: args.slice(0, args.length - 1) };
}

/** A local file to upload, as a stream, after checking that it can be read. */
export async function fileBody(path: string, flag: string): Promise<{ body: UploadBody; size: number }> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new StorageCliError('E_FILE_INVALID', `${flag} ${path} is not a file`);
    size = st.size;
  } catch (e) {
    if (e instanceof StorageCliError) throw e;
    throw new StorageCliError('E_FILE_INVALID', `cannot read ${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return { body: Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>, size };
}

export function stdinBody(): UploadBody {
  return Readable.toWeb(process.stdin) as ReadableStream<Uint8Array>;
}

/**
 * Writes to stdout and waits until the bytes are handed to the OS: the CLI exits right after its command, and
 * writes to a full pipe that are still queued would be lost.
 */
export function writeStdout(chunk: Uint8Array): Promise<void> {
  return new Promise((res, rej) => process.stdout.write(chunk, (e) => (e ? rej(e) : res())));
}

export function writeText(text: string): Promise<void> {
  return writeStdout(Buffer.from(text, 'utf8'));
}

/** printJson, waiting for the output to be written (a listing can be more than a pipe holds). */
export function printJsonFlushed(value: unknown): Promise<void> {
  return writeText(`${JSON.stringify(value, null, 2)}\n`);
}

function positiveInteger(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected ${what}, got "${value}"`);
    return n;
  };
}

function jsonText(value: string): string {
  try {
    JSON.parse(value);
  } catch (e) {
    throw new InvalidArgumentError(`expected JSON such as '{"author":"ada"}' (${(e as Error).message})`);
  }
  return value;
}

/** Text when the bytes are UTF-8, else base64: what --json prints a value as. */
function printable(value: Uint8Array): { value: string; encoding: 'utf8' | 'base64' } {
  try {
    return { value: new TextDecoder('utf-8', { fatal: true }).decode(value), encoding: 'utf8' };
  } catch {
    return { value: Buffer.from(value).toString('base64'), encoding: 'base64' };
  }
}

const BINDING_HELP = (usage: string) => `\nWith --worker <name> --binding <NAME>, leave out <namespace>: ${usage}`;

function getCommand(): Command {
  const cmd: Command = withBindingOptions(
    withClientOptions(
      new Command('get')
        .summary('print the value of a key')
        .description('Print the value of <key> in KV namespace <namespace> (the id of kv_namespaces) to stdout as raw bytes, or with --json as JSON with its metadata and expiration. Exits with 1 when the key is not there.')
        .argument('[namespace]', 'KV namespace id')
        .argument('[key]', 'the key')
        .usage('[options] <namespace> <key>'),
    ),
    'KV namespace',
    'MY_KV',
  )
    .addOption(new Option('--json', 'print the key, its value (text, or base64 when not UTF-8), metadata and expiration as JSON'))
    .addHelpText('after', `${BINDING_HELP('edge kv get --worker api --binding MY_KV user:1')}\n\nExamples:\n  $ edge kv get my-namespace user:1\n  $ edge kv get my-namespace avatar.png > avatar.png\n  $ edge kv get my-namespace user:1 --json`)
    .action(async (a: string | undefined, b: string | undefined, opts: TargetOptions & { json?: boolean }) => {
      const { client, store, rest } = await resolveTarget(cmd, 'kv', [a, b], 1, opts);
      const key = rest[0]!;
      const got = await client.kvGet(store, key);
      if (!got) throw new StorageCliError('E_KEY_NOT_FOUND', `no key ${JSON.stringify(key)} in KV namespace "${store}"`, { namespace: store, key });
      if (opts.json) return printJsonFlushed({ key, ...printable(got.value), metadata: got.metadata, expiration: got.expiration });
      await writeStdout(got.value);
    });
  return cmd;
}

function putCommand(): Command {
  type Opts = TargetOptions & { path?: string; ttl?: number; expiration?: number; metadata?: string; json?: boolean };
  const cmd: Command = withBindingOptions(
    withClientOptions(
      new Command('put')
        .summary('write the value of a key')
        .description('Write <key> in KV namespace <namespace>: the value is [value] as UTF-8 text, the bytes of --path <file>, or stdin when [value] is "-". The write is durable when the command returns.')
        .argument('[namespace]', 'KV namespace id')
        .argument('[key]', 'the key (at most 512 bytes of UTF-8)')
        .argument('[value]', 'the value as text, or "-" to read it from stdin')
        .usage('[options] <namespace> <key> [value]'),
    ),
    'KV namespace',
    'MY_KV',
  )
    .addOption(new Option('--path <file>', 'read the value from this file (any bytes, up to 25 MiB)'))
    .addOption(new Option('--ttl <seconds>', 'expire the key this many seconds from now (at least 60)').argParser(positiveInteger('a number of seconds')))
    .addOption(new Option('--expiration <epoch>', 'expire the key at this time, in seconds since the epoch (at least 60 s from now)').argParser(positiveInteger('seconds since the epoch')).conflicts('ttl'))
    .addOption(new Option('--metadata <json>', 'metadata stored with the key (JSON, at most 1024 bytes), as put(key, value, { metadata })').argParser(jsonText))
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `${BINDING_HELP('edge kv put --worker api --binding MY_KV greeting hello')}\n\nExamples:\n  $ edge kv put my-namespace greeting "hello"\n  $ edge kv put my-namespace avatar.png --path ./avatar.png --metadata '{"type":"png"}'\n  $ echo '{"n":1}' | edge kv put my-namespace config - --ttl 3600`,
    )
    .action(async (a: string | undefined, b: string | undefined, c: string | undefined, opts: Opts) => {
      const { client, store, rest } = await resolveTarget(cmd, 'kv', [a, b, c], 1, opts);
      const [key, value] = rest as [string, string | undefined];
      if (value !== undefined && opts.path !== undefined) cmd.error('error: give the value either as an argument or with --path, not both');
      if (value === undefined && opts.path === undefined) cmd.error('error: missing the value: give it as an argument, with --path <file>, or as "-" to read stdin');
      const body = opts.path !== undefined ? (await fileBody(opts.path, '--path')).body : value === '-' ? stdinBody() : new TextEncoder().encode(value);
      const result = await client.kvPut(store, key, body, {
        ...(opts.ttl !== undefined ? { expirationTtl: opts.ttl } : {}),
        ...(opts.expiration !== undefined ? { expiration: opts.expiration } : {}),
        ...(opts.metadata !== undefined ? { metadata: opts.metadata } : {}),
      });
      if (opts.json) return printJsonFlushed(result);
      await writeText(`${paint('green', 'put')} ${JSON.stringify(key)} in KV namespace "${store}" (${result.size} byte${result.size === 1 ? '' : 's'})\n`);
    });
  return cmd;
}

function listCommand(): Command {
  type Opts = TargetOptions & { prefix?: string; limit?: number; cursor?: string; json?: boolean };
  const cmd: Command = withBindingOptions(
    withClientOptions(
      new Command('list')
        .summary('list the keys of a namespace')
        .description('List the keys of KV namespace <namespace> in UTF-8 byte order, with their expiration and metadata: every page, or with --limit one page of at most that many keys (and the cursor of the next). A namespace nobody wrote to is empty.')
        .argument('[namespace]', 'KV namespace id')
        .usage('[options] <namespace>'),
    ),
    'KV namespace',
    'MY_KV',
  )
    .addOption(new Option('--prefix <prefix>', 'only keys that start with this'))
    .addOption(new Option('--limit <n>', 'one page of at most n keys (1-1000)').argParser(positiveInteger('a number of keys from 1 to 1000')))
    .addOption(new Option('--cursor <cursor>', 'continue a listing from the cursor a --limit page printed'))
    .addOption(jsonOption())
    .addHelpText('after', `${BINDING_HELP('edge kv list --worker api --binding MY_KV')}\n\nExamples:\n  $ edge kv list my-namespace\n  $ edge kv list my-namespace --prefix user: --json\n  $ edge kv list my-namespace --limit 100`)
    .action(async (a: string | undefined, opts: Opts) => {
      const { client, store } = await resolveTarget(cmd, 'kv', [a], 0, opts);
      if (opts.limit !== undefined && opts.limit > 1000) cmd.error('error: option --limit <n> is at most 1000 (one page); leave it out to list every key');
      const keys = [];
      let cursor = opts.cursor;
      let complete = false;
      do {
        const page = await client.kvList(store, { ...(opts.prefix !== undefined ? { prefix: opts.prefix } : {}), ...(opts.limit !== undefined ? { limit: opts.limit } : {}), ...(cursor ? { cursor } : {}) });
        keys.push(...page.keys);
        complete = page.listComplete;
        cursor = page.cursor;
      } while (!complete && opts.limit === undefined);
      if (opts.json) return printJsonFlushed({ namespace: store, keys, listComplete: complete, ...(cursor && !complete ? { cursor } : {}) });
      if (keys.length === 0) await writeText(`no keys in KV namespace "${store}"${opts.prefix ? ` with prefix ${JSON.stringify(opts.prefix)}` : ''}\n`);
      else await writeText(table(['KEY', 'EXPIRATION', 'METADATA'], keys.map((k) => [k.name, k.expiration === null ? '-' : formatTime(k.expiration * 1000), k.metadata === null ? '-' : JSON.stringify(k.metadata)])));
      if (!complete && cursor) await writeText(paint('dim', `more keys: --cursor ${cursor}\n`));
    });
  return cmd;
}

function deleteCommand(): Command {
  const cmd: Command = withBindingOptions(
    withClientOptions(
      new Command('delete')
        .summary('delete a key')
        .description('Delete <key> from KV namespace <namespace>. Deleting a key that is not there is not an error (as in Workers KV).')
        .argument('[namespace]', 'KV namespace id')
        .argument('[key]', 'the key')
        .usage('[options] <namespace> <key>'),
    ),
    'KV namespace',
    'MY_KV',
  )
    .addOption(jsonOption())
    .addHelpText('after', `${BINDING_HELP('edge kv delete --worker api --binding MY_KV user:1')}\n\nExamples:\n  $ edge kv delete my-namespace user:1`)
    .action(async (a: string | undefined, b: string | undefined, opts: TargetOptions & { json?: boolean }) => {
      const { client, store, rest } = await resolveTarget(cmd, 'kv', [a, b], 1, opts);
      const result = await client.kvDelete(store, rest[0]!);
      if (opts.json) return printJsonFlushed(result);
      await writeText(`${paint('green', 'deleted')} ${JSON.stringify(result.key)} from KV namespace "${store}"\n`);
    });
  return cmd;
}

/** Marks commander's own errors of nested commands as thrown (runCli owns the exit code), as main.ts does for its own. */
export function nested(parent: Command, children: Command[]): Command {
  for (const child of children) parent.addCommand(child.showHelpAfterError('(add --help for usage)').exitOverride());
  // List subcommands with their real usage (their arguments are declared optional for --binding).
  return parent.configureHelp({ subcommandTerm: (c) => `${c.name()} ${c.usage()}` });
}

export function kvCommand(): Command {
  return nested(
    new Command('kv')
      .summary("read and write a running host's KV namespaces")
      .description('Seed and inspect the KV namespaces of a running host (kv_namespaces ids) through its admin API.')
      .addHelpText('after', '\nExamples:\n  $ edge kv put my-namespace greeting hello\n  $ edge kv get my-namespace greeting\n  $ edge kv list my-namespace --prefix user:\n  $ edge kv delete my-namespace greeting'),
    [getCommand(), putCommand(), listCommand(), deleteCommand()],
  );
}
