// The `edge` command line: builds the commander program and runs it. Started by edge.mjs (or directly, with
// --no-node-snapshot already given, as `node host/cli/main.ts ...`).

import { Command, CommanderError } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import { benchCommand } from './bench.ts';
import { buildCommand } from './build.ts';
import { d1Command } from './d1.ts';
import { deployCommand } from './deploy.ts';
import { devCommand } from './dev.ts';
import { kvCommand } from './kv.ts';
import { r2Command } from './r2.ts';
import { printError } from './output.ts';
import { secretCommand } from './secret.ts';
import { serveCommand } from './serve.ts';
import { tailCommand } from './tail.ts';
import { triggerCommand } from './trigger.ts';
import { typesCommand } from './types.ts';
import { deleteCommand, listCommand, rollbackCommand, versionsCommand } from './workers.ts';

export function createProgram(): Command {
  const program = new Command('edge')
    .description('An edge runtime for Workers-style JavaScript and WebAssembly workers, on one machine.')
    .version(pkg.version, '-v, --version')
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      `
Examples:
  $ edge serve                         # run the host: workers on :8787, admin API on :8788
  $ edge deploy examples/hello-js      # then: curl -H 'Host: hello-js.localhost' http://127.0.0.1:8787/
  $ edge dev examples/hello-js         # host + redeploy on every change
  $ edge build examples/hello-as       # AssemblyScript worker → build/hello-as.wasm
  $ edge tail hello-js                 # stream its logs
  $ edge trigger my-cron --cron "*/5 * * * *"   # run its scheduled handler now
  $ edge kv put my-namespace greeting hello       # seed KV; also kv get|list|delete
  $ edge r2 put my-bucket cat.jpg --file cat.jpg  # upload to R2; also r2 get|list|delete
  $ edge d1 migrations apply DB                   # D1: also d1 execute|export|list|migrations
  $ edge secret put my-worker API_TOKEN           # a secret in env, stored encrypted; also secret list|delete
  $ edge types capability/geo.wit      # host types of a capability → capability/generated/
  $ edge bench --quick                 # cold start, throughput, memory, limits on this machine

Client commands find the admin token in --token, $EDGE_ADMIN_TOKEN, or <data-dir>/admin-token (default .edge).`,
    );
  for (const cmd of [serveCommand(), devCommand(), buildCommand(), deployCommand(), listCommand(), versionsCommand(), rollbackCommand(), deleteCommand(), tailCommand(), triggerCommand(), kvCommand(), r2Command(), d1Command(), secretCommand(), typesCommand(), benchCommand()]) {
    program.addCommand(cmd.showHelpAfterError('(add --help for usage)'));
  }
  // Throw instead of exiting inside commander, so that runCli owns the exit code everywhere.
  program.exitOverride();
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** Runs the CLI on `argv` (as in process.argv: node, script, ...args) and returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    // Commander has already printed its own usage errors and help.
    if (e instanceof CommanderError) return e.exitCode;
    printError(e);
    return 1;
  }
}

/** Runs the CLI and exits with its code once stdout and stderr are flushed. */
export async function runCliAndExit(argv: string[]): Promise<never> {
  const code = await runCli(argv);
  // Output to a pipe may still be queued for a slow reader: process.exit would cut it (a long --json listing).
  await new Promise<void>((done) => process.stdout.write('', () => done()));
  await new Promise<void>((done) => process.stderr.write('', () => done()));
  process.exit(code);
}

if (import.meta.main) await runCliAndExit(process.argv);
