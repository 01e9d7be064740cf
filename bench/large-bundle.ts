// The "larger JS worker" of the cold-start suite: real library code from node_modules (smol-toml, jsonc-parser,
// web-streams-polyfill, acorn) bundled by esbuild into one ES module of a few hundred KB, whose fetch handler uses all
// three, so that nothing is tree-shaken away and a cold start pays for compiling and evaluating all of it.
import { build } from 'esbuild';
import { ROOT } from './child-host.ts';

/** Replaced in the bundle by a string unique to each sample (a new version every time). */
export const MARKER = '__EDGE_BENCH_MARKER__';

const ENTRY = `
import * as toml from 'smol-toml';
import * as jsonc from 'jsonc-parser';
import * as streams from 'web-streams-polyfill';
import * as acorn from 'acorn';

const config = toml.parse('[worker]\\nname = "large"\\nroutes = ["a", "b"]\\n');
const settings = jsonc.parse('{ /* comment */ "greeting": "large", }');
// Keep every export reachable, so that the bundle holds the libraries whole, as a real worker importing them might.
const keep = [toml, jsonc, streams, acorn];
const parsed = acorn.parse('const a = 1;', { ecmaVersion: 2022 });

export default {
  async fetch(request, env, ctx) {
    const s = new streams.ReadableStream({ start(c) { c.enqueue('${MARKER}'); c.close(); } });
    const { value } = await s.getReader().read();
    const text = settings.greeting + ' ' + config.worker.name + ' ' + value + ' ' + keep.length + parsed.body.length;
    return new Response(text + '\\n', { headers: { 'content-type': 'text/plain' } });
  },
};
`;

let bundled: Promise<string> | undefined;

/** The bundle's source (built once per process); its answer is `large large <marker> 41\n`. */
export function largeBundleSource(): Promise<string> {
  bundled ??= (async () => {
    const out = await build({
      stdin: { contents: ENTRY, resolveDir: ROOT, sourcefile: 'large-worker.js', loader: 'js' },
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      target: 'es2022',
      treeShaking: false,
      minify: false,
      write: false,
      logLevel: 'silent',
    });
    const text = out.outputFiles[0]!.text;
    if (!text.includes(MARKER)) throw new Error('the large bundle lost its marker string');
    return text;
  })();
  return bundled;
}

export const largeBundleAnswer = (marker: string): string => `large large ${marker} 41\n`;
