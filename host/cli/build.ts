// `edge build`: compiles an AssemblyScript worker (`[build] language = "assemblyscript"` in its manifest) into a
// WebAssembly component file.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { loadManifest } from '../deploy/manifest.ts';
import { capabilityWitFor } from '../deploy/upload.ts';
import { EdgeError } from '../core/errors.ts';
import { paint } from './output.ts';
import { printJson } from './options.ts';

export interface BuildResult {
  name: string;
  /** Where the component was written. */
  path: string;
  bytes: number;
  warnings: string[];
}

function formatSize(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

export function formatBuildResult(result: BuildResult): string {
  const rel = relative(process.cwd(), result.path);
  const shown = rel === '' || rel.startsWith('..') ? result.path : rel;
  let out = `${paint('green', 'built')} ${result.name} → ${shown} (${formatSize(result.bytes)})\n`;
  for (const w of result.warnings) out += `  ${paint('yellow', 'warning')} ${w}\n`;
  return out;
}

/** Builds the AssemblyScript worker in `dir` and writes its component to `out` (default `<dir>/build/<name>.wasm`). */
export async function buildWorkerDir(dir: string, options: { out?: string; optimize?: boolean; config?: string } = {}): Promise<BuildResult> {
  const { manifest, fileName } = await loadManifest(dir);
  if (manifest.build.language !== 'assemblyscript') {
    throw new EdgeError(
      'E_BUILD_FAILED',
      `${manifest.name} is a JavaScript worker (${fileName} has no \`[build] language = "assemblyscript"\`): it is deployed as it is, without a build. ` +
        '`edge build` compiles AssemblyScript workers only.',
      { details: { dir: resolve(dir), file: fileName, language: manifest.build.language } },
    );
  }
  const capabilityWit = await capabilityWitFor(resolve(dir), manifest, options.config);
  // Loaded on use: the AssemblyScript compiler takes ~0.4 s to load, which other commands should not pay.
  const { buildWorker, worldOf } = await import('../build/worker-build.ts');
  const { component, warnings } = await buildWorker({ dir, main: manifest.main, optimize: options.optimize ?? manifest.build.optimize, capabilityWit, world: worldOf(manifest) });
  const path = resolve(options.out ?? join(dir, 'build', `${manifest.name}.wasm`));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, component);
  return { name: manifest.name, path, bytes: component.byteLength, warnings };
}

export function buildCommand(): Command {
  return new Command('build')
    .summary('compile an AssemblyScript worker into a WebAssembly component')
    .description(
      'Compile the AssemblyScript worker in [dir] (its manifest has [build] language = "assemblyscript"; `main` exports ' +
        '`fetch(request: Request): Response` written against @edge/guest) into a component of the platform world, and ' +
        'write it to --out. Compile errors point at your files (path:line:column).',
    )
    .argument('[dir]', 'worker directory', '.')
    .option('-o, --out <file>', 'where to write the component (default: <dir>/build/<name>.wasm)')
    .addOption(new Option('-O, --optimize', 'optimize with asc -O3 (slower; default: [build] optimize of the manifest)'))
    .addOption(new Option('--json', 'print the result as JSON'))
    .option('--config <file>', 'host config naming user-defined capabilities (default: the nearest edge.config.ts above [dir])')
    .addHelpText(
      'after',
      `
Examples:
  $ edge build examples/hello-as             # → examples/hello-as/build/hello-as.wasm
  $ edge build ./my-worker -o /tmp/w.wasm -O`,
    )
    .action(async (dir: string, opts: { out?: string; optimize?: boolean; json?: boolean; config?: string }) => {
      const result = await buildWorkerDir(dir, {
        ...(opts.out !== undefined ? { out: opts.out } : {}),
        ...(opts.optimize ? { optimize: true } : {}),
        ...(opts.config !== undefined ? { config: opts.config } : {}),
      });
      if (opts.json) printJson(result);
      else process.stdout.write(formatBuildResult(result));
    });
}
