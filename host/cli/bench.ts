// `edge bench`: the benchmark suite (bench/run.ts) on this machine: cold start, warm throughput, memory and density,
// limits and fuel, side by side with workerd when it is installed. The bench code is loaded only when this command
// runs, so that other commands do not pay for it.

import { Command, Option } from 'commander';
import { EdgeError } from '../core/errors.ts';

const SUITES = ['cold', 'warm', 'memory', 'storage', 'limits', 'fuel', 'bytes', 'all'] as const;

export function benchCommand(): Command {
  return new Command('bench')
    .summary('measure cold start, throughput, memory and limits on this machine (vs workerd when installed)')
    .description(
      'Run the benchmark suites against a real host on loopback and print a table of the results with the targets. ' +
        'Writes the run (every sample, the machine, the settings) as JSON, a Markdown report and SVG charts. ' +
        'workerd is run side by side when its npm package is installed (npm install --save-optional workerd).',
    )
    .addOption(new Option('-s, --suite <name...>', 'suites to run').choices(SUITES).default(['all']))
    .option('-q, --quick', 'fewer samples and shorter runs (under 3 minutes for all suites)')
    .option('--json <file>', 'where to write the run file (default bench/results/latest.json, with --quick bench/results/quick/latest.json)')
    .option('--report <file>', 'where to write the Markdown report; the SVG charts go beside it (default beside the JSON)')
    .option('--no-workerd', 'do not run workerd even when it is installed')
    .addHelpText(
      'after',
      `
Examples:
  $ edge bench --quick                   # all suites, small samples (< 3 min)
  $ edge bench --suite cold warm         # two suites, full samples
  $ edge bench --json /tmp/run.json --report /tmp/run.md`,
    )
    .action(async (opts: { suite: string[]; quick?: boolean; json?: string; report?: string; workerd: boolean }) => {
      const { runBench, suitesFrom } = await import('../../bench/run.ts');
      const outcome = await runBench({
        suites: suitesFrom(opts.suite),
        quick: opts.quick === true,
        ...(opts.json !== undefined ? { json: opts.json } : {}),
        ...(opts.report !== undefined ? { report: opts.report } : {}),
        ...(opts.workerd ? {} : { noWorkerd: true }),
      });
      if (outcome.failed.length > 0) {
        throw new EdgeError('E_INTERNAL', `bench: ${outcome.failed.join(', ')} failed (the run file and report hold the other suites' figures and the failure in their notes)`);
      }
    });
}
