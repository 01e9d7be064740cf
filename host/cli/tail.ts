// `edge tail`: streams a worker's log events (console, exceptions, limit breaches, requests) until Ctrl-C.

import { Command, Option } from 'commander';
import { formatTailEvent, paint } from './output.ts';
import { adminClientFrom, withClientOptions, type ClientOptions } from './options.ts';
import { waitForShutdownSignal } from './signals.ts';

export function tailCommand(): Command {
  return withClientOptions(
    new Command('tail')
      .summary("stream a worker's logs")
      .description(
        "Stream worker <name>'s log events as they happen: console output, uncaught exceptions with their stack, " +
          'limit breaches with their code (E_CPU_LIMIT...), and requests. Runs until Ctrl-C.',
      )
      .argument('<name>', 'worker name'),
  )
    .addOption(new Option('--format <format>', 'pretty for people, json for one NDJSON event per line').choices(['pretty', 'json']).default('pretty'))
    .addHelpText('after', '\nExamples:\n  $ edge tail hello-js\n  $ edge tail hello-js --format json | jq .message')
    .action(async (name: string, opts: ClientOptions & { format: 'pretty' | 'json' }) => {
      const client = await adminClientFrom(opts);
      const abort = new AbortController();
      void waitForShutdownSignal().then(() => abort.abort());
      const events = await client.tail(name, abort.signal).catch((e: unknown) => {
        if (abort.signal.aborted) return [];
        throw e;
      });
      if (abort.signal.aborted) return;
      process.stderr.write(`${paint('dim', `connected: tailing ${name} at ${client.adminUrl}; Ctrl-C to stop`, process.stderr)}\n`);
      for await (const event of events) {
        process.stdout.write(opts.format === 'json' ? `${JSON.stringify(event)}\n` : formatTailEvent(event));
      }
      if (!abort.signal.aborted) process.stderr.write('the host closed the tail stream\n');
    });
}
