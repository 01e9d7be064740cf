// `edge deploy`: collects a worker directory (bundling `main` with esbuild unless no_bundle) and uploads it to the
// host's admin API.

import { Command } from 'commander';
import { collectWorker } from '../deploy/upload.ts';
import type { DeployResult } from './admin-client.ts';
import { paint } from './output.ts';
import { adminClientFrom, jsonOption, printJson, withClientOptions, type ClientOptions } from './options.ts';

export function formatDeployResult(result: DeployResult): string {
  return (
    `${paint('green', 'deployed')} ${result.name} version ${result.version.id} (main ${result.version.main})\n` +
    `  url:    ${result.url}\n` +
    `  routes: ${result.routes.length ? result.routes.join(', ') : '(none)'}\n`
  );
}

export function deployCommand(): Command {
  return withClientOptions(
    new Command('deploy')
      .summary('upload a worker and make it the active version')
      .description(
        'Upload the worker in [dir] to a running host: its wrangler.toml / wrangler.json / wrangler.jsonc and `main` ' +
          '(.ts, .tsx, .js, ...) bundled with esbuild together with what it imports, npm packages from node_modules ' +
          'included, as wrangler does, plus the source map (stack traces in `edge tail` name your source). With ' +
          '`no_bundle = true` every .js/.mjs module is uploaded as it is. The host validates everything first; a ' +
          'rejected deploy leaves the active version serving.',
      )
      .argument('[dir]', 'worker directory', '.'),
  )
    .addOption(jsonOption())
    .option('--config <file>', 'host config naming user-defined capabilities, for building AssemblyScript workers that use them (default: the nearest edge.config.ts above [dir])')
    .addHelpText(
      'after',
      `
Examples:
  $ edge deploy examples/hello-js
  $ edge deploy examples/hello-as            # AssemblyScript: built into a component first
  $ edge deploy ./my-worker --admin-url http://127.0.0.1:9000 --token "$TOKEN"
  $ edge deploy --data-dir /var/lib/edge      # token read from /var/lib/edge/admin-token`,
    )
    .action(async (dir: string, opts: ClientOptions & { json?: boolean; config?: string }) => {
      const { upload, warnings } = await collectWorker(dir, opts.config === undefined ? {} : { config: opts.config });
      for (const w of warnings) process.stderr.write(`${paint('yellow', 'warning')} ${w}\n`);
      const client = await adminClientFrom(opts);
      const result = await client.deploy(upload);
      if (opts.json) printJson(result);
      else process.stdout.write(formatDeployResult(result));
    });
}
