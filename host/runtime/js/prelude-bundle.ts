// Builds the isolate prelude (host/runtime/js/prelude/index.js and the Web APIs it installs) into one script
// with esbuild; the result is evaluated once into a V8 startup snapshot shared by every pooled isolate. The JS facades
// of the host's capabilities (host/bindings/<name>/*-facade.js) come in through the virtual module 'edge:facades',
// made from the list the host passes: the runtime itself names none.
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('./prelude/index.js', import.meta.url));

/** A capability's JS facade: the module whose default export makes `env.<binding>` values, by capability name. */
export interface FacadeModule {
  name: string;
  module: string;
}

const cached = new Map<string, Promise<string>>();

/** The prelude as one classic script (IIFE), with `facades` compiled in. Memoized per facade list: esbuild takes ~30 ms. */
export function buildPrelude(facades: readonly FacadeModule[] = []): Promise<string> {
  const key = JSON.stringify(facades);
  let p = cached.get(key);
  if (p) return p;
  const source =
    facades.map((f, i) => `import f${i} from ${JSON.stringify(f.module)};`).join('\n') +
    `\nexport default Object.freeze({ ${facades.map((f, i) => `${JSON.stringify(f.name)}: f${i}`).join(', ')} });\n`;
  const virtual: esbuild.Plugin = {
    name: 'edge-facades',
    setup(build) {
      build.onResolve({ filter: /^edge:facades$/ }, () => ({ path: 'edge:facades', namespace: 'edge-facades' }));
      build.onLoad({ filter: /.*/, namespace: 'edge-facades' }, () => ({ contents: source, loader: 'js', resolveDir: '/' }));
    },
  };
  p = esbuild
    .build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      target: 'es2023',
      minify: true,
      legalComments: 'none',
      logLevel: 'silent',
      plugins: [virtual],
    })
    .then((r) => r.outputFiles[0]!.text);
  cached.set(key, p);
  return p;
}
