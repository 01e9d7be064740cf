// `edge r2 get|put|list|delete`: reads and writes a running host's R2 buckets through the admin API, streaming
// object bodies both ways (as `wrangler r2 object ...` does for R2).

import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { lookup as mimeLookup } from 'mime-types';
import type { R2ObjectInfo } from './admin-client.ts';
import { fileBody, nested, resolveTarget, StorageCliError, stdinBody, withBindingOptions, printJsonFlushed, writeStdout, writeText, type TargetOptions } from './kv.ts';
import { formatTime, paint, table } from './output.ts';
import { jsonOption, withClientOptions } from './options.ts';

const BINDING_HELP = (usage: string) => `\nWith --worker <name> --binding <NAME>, leave out <bucket>: ${usage}`;

function customMetadata(value: string): Record<string, string> {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch (e) {
    throw new InvalidArgumentError(`expected a JSON object of strings such as '{"author":"ada"}' (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new InvalidArgumentError(`expected a JSON object of strings such as '{"author":"ada"}', got ${value}`);
  }
  return v as Record<string, string>;
}

function sizeText(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

function getCommand(): Command {
  type Opts = TargetOptions & { file?: string };
  const cmd: Command = withBindingOptions(
    withClientOptions(
      new Command('get')
        .summary('download an object')
        .description('Stream the body of object <key> in R2 bucket <bucket> to stdout, or to --file <path>. Exits with 1 when there is no such object.')
        .argument('[bucket]', 'bucket name (bucket_name of r2_buckets)')
        .argument('[key]', 'the object key')
        .usage('[options] <bucket> <key>'),
    ),
    'R2 bucket',
    'BUCKET',
  )
    .addOption(new Option('--file <path>', 'write the body to this file instead of stdout'))
    .addHelpText('after', `${BINDING_HELP('edge r2 get --worker files --binding BUCKET photos/cat.jpg --file cat.jpg')}\n\nExamples:\n  $ edge r2 get my-bucket notes/todo.txt\n  $ edge r2 get my-bucket photos/cat.jpg --file cat.jpg`)
    .action(async (a: string | undefined, b: string | undefined, opts: Opts) => {
      const { client, store, rest } = await resolveTarget(cmd, 'r2', [a, b], 1, opts);
      const key = rest[0]!;
      const got = await client.r2Get(store, key);
      if (!got) throw new StorageCliError('E_KEY_NOT_FOUND', `no object ${JSON.stringify(key)} in R2 bucket "${store}"`, { bucket: store, key });
      if (opts.file === undefined) {
        for await (const chunk of got.body) await writeStdout(chunk);
        return;
      }
      const body = Readable.fromWeb(got.body as import('node:stream/web').ReadableStream<Uint8Array>);
      try {
        await pipeline(body, createWriteStream(opts.file));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code && /^E[A-Z]+$/.test(code) && code !== 'ECONNRESET') throw new StorageCliError('E_FILE_INVALID', `cannot write --file ${opts.file}: ${code}`);
        throw e;
      }
      await writeText(`${paint('green', 'downloaded')} ${JSON.stringify(key)} from R2 bucket "${store}" to ${opts.file} (${sizeText(got.size)})\n`);
    });
  return cmd;
}

function putCommand(): Command {
  type Opts = TargetOptions & { file?: string; contentType?: string; metadata?: Record<string, string>; json?: boolean };
  const cmd: Command = withBindingOptions(
    withClientOptions(
      new Command('put')
        .summary('upload an object')
        .description(
          'Upload object <key> into R2 bucket <bucket>, streaming the body from --file <path>, or from stdin without --file (or with --file -). ' +
            "The content type is --content-type, else guessed from the file's extension, else application/octet-stream.",
        )
        .argument('[bucket]', 'bucket name (bucket_name of r2_buckets)')
        .argument('[key]', 'the object key (at most 1024 bytes of UTF-8)')
        .usage('[options] <bucket> <key>'),
    ),
    'R2 bucket',
    'BUCKET',
  )
    .addOption(new Option('--file <path>', 'the file to upload ("-" for stdin)'))
    .addOption(new Option('--content-type <type>', "the object's Content-Type (httpMetadata.contentType)"))
    .addOption(new Option('--metadata <json>', 'custom metadata, a JSON object of strings (customMetadata)').argParser(customMetadata))
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `${BINDING_HELP('edge r2 put --worker files --binding BUCKET photos/cat.jpg --file cat.jpg')}\n\nExamples:\n  $ edge r2 put my-bucket photos/cat.jpg --file ./cat.jpg\n  $ tar cz src | edge r2 put my-bucket backups/src.tgz --content-type application/gzip\n  $ edge r2 put my-bucket notes.txt --file notes.txt --metadata '{"author":"ada"}'`,
    )
    .action(async (a: string | undefined, b: string | undefined, opts: Opts) => {
      const { client, store, rest } = await resolveTarget(cmd, 'r2', [a, b], 1, opts);
      const key = rest[0]!;
      const fromStdin = opts.file === undefined || opts.file === '-';
      if (fromStdin && process.stdin.isTTY) cmd.error('error: nothing to upload: give --file <path>, or pipe the object to stdin');
      const body = fromStdin ? stdinBody() : (await fileBody(opts.file!, '--file')).body;
      const guessed = fromStdin ? false : mimeLookup(opts.file!);
      const contentType = opts.contentType ?? (guessed || 'application/octet-stream');
      const info = await client.r2Put(store, key, body, { contentType, ...(opts.metadata ? { customMetadata: opts.metadata } : {}) });
      if (opts.json) return printJsonFlushed(info);
      await writeText(`${paint('green', 'uploaded')} ${JSON.stringify(info.key)} to R2 bucket "${store}" (${sizeText(info.size)}, ${contentType}, etag ${info.etag})\n`);
    });
  return cmd;
}

function listCommand(): Command {
  type Opts = TargetOptions & { prefix?: string; delimiter?: string; json?: boolean };
  const cmd: Command = withBindingOptions(
    withClientOptions(
      new Command('list')
        .summary('list the objects of a bucket')
        .description(
          'List every object of R2 bucket <bucket> in key order, with size, upload time and etag. With --delimiter, keys that continue past the delimiter ' +
            'after the prefix are grouped into one prefix line each (as list({ delimiter }) does). A bucket nobody wrote to is empty.',
        )
        .argument('[bucket]', 'bucket name (bucket_name of r2_buckets)')
        .usage('[options] <bucket>'),
    ),
    'R2 bucket',
    'BUCKET',
  )
    .addOption(new Option('--prefix <prefix>', 'only keys that start with this'))
    .addOption(new Option('--delimiter <char>', 'group keys by what follows the prefix up to this, e.g. "/" for folders'))
    .addOption(jsonOption())
    .addHelpText('after', `${BINDING_HELP('edge r2 list --worker files --binding BUCKET')}\n\nExamples:\n  $ edge r2 list my-bucket\n  $ edge r2 list my-bucket --prefix photos/ --delimiter /`)
    .action(async (a: string | undefined, opts: Opts) => {
      const { client, store } = await resolveTarget(cmd, 'r2', [a], 0, opts);
      const objects: R2ObjectInfo[] = [];
      const prefixes: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.r2List(store, {
          ...(opts.prefix !== undefined ? { prefix: opts.prefix } : {}),
          ...(opts.delimiter !== undefined ? { delimiter: opts.delimiter } : {}),
          ...(cursor ? { cursor } : {}),
        });
        objects.push(...page.objects);
        prefixes.push(...page.delimitedPrefixes);
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      if (opts.json) return printJsonFlushed({ bucket: store, objects, delimitedPrefixes: prefixes });
      if (objects.length === 0 && prefixes.length === 0) {
        await writeText(`no objects in R2 bucket "${store}"${opts.prefix ? ` with prefix ${JSON.stringify(opts.prefix)}` : ''}\n`);
        return;
      }
      const rows = [
        ...prefixes.map((p) => [p, 'PREFIX', '-', '-', '-']),
        ...objects.map((o) => [o.key, String(o.size), formatTime(o.uploaded), o.etag, String(o.httpMetadata['contentType'] ?? '-')]),
      ];
      await writeText(table(['KEY', 'SIZE', 'UPLOADED', 'ETAG', 'CONTENT-TYPE'], rows));
    });
  return cmd;
}

function deleteCommand(): Command {
  const cmd: Command = withBindingOptions(
    withClientOptions(
      new Command('delete')
        .summary('delete an object')
        .description('Delete object <key> from R2 bucket <bucket>. Deleting an object that is not there is not an error (as in R2).')
        .argument('[bucket]', 'bucket name (bucket_name of r2_buckets)')
        .argument('[key]', 'the object key')
        .usage('[options] <bucket> <key>'),
    ),
    'R2 bucket',
    'BUCKET',
  )
    .addOption(jsonOption())
    .addHelpText('after', `${BINDING_HELP('edge r2 delete --worker files --binding BUCKET photos/cat.jpg')}\n\nExamples:\n  $ edge r2 delete my-bucket photos/cat.jpg`)
    .action(async (a: string | undefined, b: string | undefined, opts: TargetOptions & { json?: boolean }) => {
      const { client, store, rest } = await resolveTarget(cmd, 'r2', [a, b], 1, opts);
      const result = await client.r2Delete(store, rest[0]!);
      if (opts.json) return printJsonFlushed(result);
      await writeText(`${paint('green', 'deleted')} ${JSON.stringify(result.key)} from R2 bucket "${store}"\n`);
    });
  return cmd;
}

export function r2Command(): Command {
  return nested(
    new Command('r2')
      .summary("read and write a running host's R2 buckets")
      .description('Seed and inspect the R2 buckets of a running host (r2_buckets bucket_name) through its admin API; object bodies are streamed.')
      .addHelpText('after', '\nExamples:\n  $ edge r2 put my-bucket photos/cat.jpg --file cat.jpg\n  $ edge r2 list my-bucket --delimiter /\n  $ edge r2 get my-bucket photos/cat.jpg --file copy.jpg\n  $ edge r2 delete my-bucket photos/cat.jpg'),
    [getCommand(), putCommand(), listCommand(), deleteCommand()],
  );
}
