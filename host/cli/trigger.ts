// `edge trigger`: runs a worker's scheduled handler now, as one of its cron triggers would, and says how it ended.

import { Command, InvalidArgumentError, Option } from 'commander';
import { AdminApiError } from './admin-client.ts';
import { paint } from './output.ts';
import { adminClientFrom, jsonOption, printJson, withClientOptions, type ClientOptions } from './options.ts';

type Opts = ClientOptions & { cron?: string; time?: number; json?: boolean };

function epochMs(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected milliseconds since the epoch or an ISO date, got "${value}"`);
  return n;
}

export function triggerCommand(): Command {
  return withClientOptions(
    new Command('trigger')
      .summary("run a worker's scheduled handler now")
      .description(
        'Run the scheduled(controller, env, ctx) handler of worker <name> now, as a cron trigger would, and print the outcome ' +
          '(its console output and exceptions go to `edge tail`). Exits with 1 when the handler failed.',
      )
      .argument('<name>', 'worker name'),
  )
    .option('--cron <expression>', "the cron expression the handler sees as controller.cron (default: the worker's first [triggers] crons entry)")
    .addOption(new Option('--time <when>', 'controller.scheduledTime: ms since the epoch or an ISO date (default: now)').argParser(epochMs))
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  $ edge trigger nightly-report\n  $ edge trigger nightly-report --cron "0 3 * * *" --time 2026-12-01T03:00:00Z')
    .action(async (name: string, opts: Opts) => {
      const client = await adminClientFrom(opts);
      const run = await client.scheduled(name, { ...(opts.cron !== undefined ? { cron: opts.cron } : {}), ...(opts.time !== undefined ? { scheduledTime: opts.time } : {}) });
      const what = `${run.worker}: scheduled ${run.cron ? JSON.stringify(run.cron) : '(no cron)'} at ${new Date(run.scheduledTime).toISOString()}`;
      if (opts.json) printJson(run);
      else if (run.outcome === 'ok') {
        process.stdout.write(`${what} ran: ${paint('green', 'ok')} (${run.cpuMs.toFixed(1)} ms CPU, ${Math.round(run.wallMs)} ms${run.noRetry ? ', noRetry()' : ''})\n`);
      }
      if (run.outcome !== 'ok') {
        throw new AdminApiError(run.code ?? 'E_INTERNAL', `${what} failed (${run.outcome}): ${run.message ?? ''}${run.noRetry ? ' [noRetry() was called]' : ''}`);
      }
    });
}
