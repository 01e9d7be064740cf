// `edge list`, `edge versions`, `edge rollback`, `edge delete`: managing deployed workers through the admin API.

import { Command } from 'commander';
import { formatTime, paint, table } from './output.ts';
import { adminClientFrom, jsonOption, printJson, withClientOptions, type ClientOptions } from './options.ts';

type Opts = ClientOptions & { json?: boolean };

export function listCommand(): Command {
  return withClientOptions(new Command('list').summary('list deployed workers').description('List the workers deployed on the host, with their active version, URL and routes.'))
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  $ edge list\n  $ edge list --json --admin-url http://127.0.0.1:9000')
    .action(async (opts: Opts) => {
      const { workers } = await (await adminClientFrom(opts)).list();
      if (opts.json) return printJson({ workers });
      if (workers.length === 0) {
        process.stdout.write('no workers deployed\n');
        return;
      }
      const rows = workers.map((w) => [w.name, w.activeVersion ?? '-', w.url, w.routes.length ? w.routes.join(', ') : '-', formatTime(w.updatedAt)]);
      process.stdout.write(table(['NAME', 'ACTIVE VERSION', 'URL', 'ROUTES', 'UPDATED'], rows));
    });
}

export function versionsCommand(): Command {
  return withClientOptions(
    new Command('versions')
      .summary("list a worker's versions")
      .description('List the stored versions of a worker, newest first; the active one is marked with *.')
      .argument('<name>', 'worker name'),
  )
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  $ edge versions hello-js\n  $ edge versions hello-js --json')
    .action(async (name: string, opts: Opts) => {
      const list = await (await adminClientFrom(opts)).versions(name);
      if (opts.json) return printJson(list);
      const rows = list.versions.map((v) => [v.active ? '*' : '', v.id, formatTime(v.createdAt), v.main || '(static assets only)']);
      process.stdout.write(`${list.name}: ${list.versions.length} version${list.versions.length === 1 ? '' : 's'}, active ${list.activeVersion ?? '(none)'}\n`);
      if (rows.length) process.stdout.write(table(['', 'VERSION', 'CREATED', 'MAIN'], rows));
    });
}

export function rollbackCommand(): Command {
  return withClientOptions(
    new Command('rollback')
      .summary('make an earlier version active again')
      .description('Make [version] of worker <name> the active version. Without [version], go back to the version that was active before the current one.')
      .argument('<name>', 'worker name')
      .argument('[version]', 'version id to activate (see `edge versions <name>`)'),
  )
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  $ edge rollback hello-js            # to the previously active version\n  $ edge rollback hello-js 01JB2X…   # to a given version')
    .action(async (name: string, version: string | undefined, opts: Opts) => {
      const result = await (await adminClientFrom(opts)).rollback(name, version);
      if (opts.json) return printJson(result);
      process.stdout.write(`${paint('green', 'rolled back')} ${result.name}: active version is now ${result.activeVersion} (was ${result.previousVersion ?? '(none)'})\n`);
    });
}

export function deleteCommand(): Command {
  return withClientOptions(
    new Command('delete')
      .summary('delete a worker and all its versions')
      .description('Delete worker <name>: it stops serving at once and its stored versions are removed.')
      .argument('<name>', 'worker name'),
  )
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  $ edge delete hello-js')
    .action(async (name: string, opts: Opts) => {
      const result = await (await adminClientFrom(opts)).delete(name);
      if (opts.json) return printJson(result);
      process.stdout.write(`${paint('green', 'deleted')} ${result.name}\n`);
    });
}
