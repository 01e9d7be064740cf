// mapStack on a real esbuild source map: frames of mapped modules name the source, everything else stays as it is.
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { mapStack, parseSourceMap } from './source-map.ts';

async function bundled(): Promise<{ code: string; map: string }> {
  const out = await build({
    stdin: { contents: 'export function f(): never {\n  const n: number = 1;\n  throw new Error(`n=${n}`);\n}\n', sourcefile: 'index.ts', loader: 'ts', resolveDir: '/w/src' },
    bundle: true, format: 'esm', sourcemap: 'external', outfile: '/w/src/index.js', write: false,
  });
  const code = out.outputFiles.find((f) => f.path.endsWith('.js'))!.text;
  const map = out.outputFiles.find((f) => f.path.endsWith('.map'))!.text;
  return { code, map };
}

describe('mapStack', () => {
  it('rewrites frames of the mapped module to the original source, 1-based columns', async () => {
    const { code, map } = await bundled();
    const lines = code.split('\n');
    const line = lines.findIndex((l) => l.includes('throw new Error')) + 1;
    const column = lines[line - 1]!.indexOf('new Error') + 1;
    const stack = [
      'Error: n=1',
      `    at f (worker://w/src/index.js:${line}:${column})`,
      '    at worker://other/src/index.js:1:1',
      '    at run (worker://w/__edge_bootstrap__.js:3:7)',
      '    at dispatch (prelude.js:10:2)',
    ].join('\n');
    const mapped = mapStack(stack, 'w', [{ module: 'src/index.js', map }]);
    expect(mapped.split('\n')).toEqual([
      'Error: n=1',
      '    at f (src/index.ts:3:9)',
      '    at worker://other/src/index.js:1:1',
      '    at run (worker://w/__edge_bootstrap__.js:3:7)',
      '    at dispatch (prelude.js:10:2)',
    ]);
  });

  it('leaves the stack alone without maps, and rejects what is not a source map', () => {
    expect(mapStack('at x (worker://w/a.js:1:1)', 'w', [])).toBe('at x (worker://w/a.js:1:1)');
    expect(() => parseSourceMap('a.js', 'not json')).toThrow(/"a\.js\.map" is not JSON/);
    expect(() => parseSourceMap('a.js', '{"version":3,"sources":[]}')).toThrow(/not a version 3 source map/);
  });
});
