// Bundling at deploy, as wrangler does: esbuild turns `main` (TypeScript or JavaScript) and everything it imports,
// npm packages from the worker's own node_modules included, into one ES module plus its source map.

import { builtinModules } from 'node:module';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { build, type BuildFailure, type Message, type Plugin } from 'esbuild';
import { EdgeError } from '../core/errors.ts';
import type { DeployManifest } from './manifest.ts';
import { cloudflareModuleRefusal, PROVIDED_CLOUDFLARE_MODULES } from '../core/cloudflare-modules.ts';

/** Entry extensions that are bundled; the output keeps ESM-ness (`.mts` → `.mjs`), everything else becomes `.js`. */
export const BUNDLED_ENTRY = /\.(m?[jt]s|[jt]sx|cts)$/;

/** wrangler's esbuild choices where they decide which code a package hands us. */
const CONDITIONS = ['workerd', 'worker', 'browser'];
const MAIN_FIELDS = ['browser', 'module', 'main'];
const TARGET = 'es2024';

const NODE_BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith('_')));

export interface BundleOutput {
  /** The bundle at `bundledEntryPath(main)` and its source map beside it (`<bundle>.map`), worker-relative posix paths. */
  modules: Array<{ path: string; content: string }>;
  /** Absolute paths of every file the bundle read (what `edge dev` watches). */
  inputs: string[];
  /** esbuild's warnings, formatted `file:line:col: text`. */
  warnings: string[];
}

/**
 * Where the bundle of `main` is uploaded and what the host runs: `src/index.ts` → `src/index.js`,
 * `src/index.mts` → `src/index.mjs`; a `.js`/`.mjs` main is replaced by its bundle under the same name.
 */
export function bundledEntryPath(main: string): string {
  if (main.endsWith('.mjs') || main.endsWith('.js')) return main;
  if (main.endsWith('.mts')) return `${main.slice(0, -4)}.mjs`;
  return main.replace(/\.(ts|tsx|jsx|cts)$/, '.js');
}

const posixRel = (root: string, abs: string) => relative(root, abs).split(sep).join('/');

/** `src/index.ts:3:10: Expected ";" but found "y"`, with the offending line under it when esbuild has it. */
export function formatMessage(m: Message, root: string): string {
  const loc = m.location;
  let out = loc ? `${loc.file}:${loc.line}:${loc.column + 1}: ${m.text}` : m.text;
  if (loc?.lineText) out += `\n    ${loc.lineText}\n    ${' '.repeat(loc.column)}^`;
  for (const note of m.notes) if (note.text) out += `\n  note: ${note.location ? `${note.location.file}:${note.location.line}:${note.location.column + 1}: ` : ''}${note.text}`;
  return out.replaceAll(`${root}${sep}`, '');
}

/**
 * Imports of Node built-ins (and of Cloudflare's `cloudflare:*` modules) fail here with a message saying why,
 * instead of esbuild's "Are you trying to bundle for node?". A bare name that an installed npm package provides
 * (`events`, `buffer`, ...) resolves as usual.
 */
function nodeBuiltinsPlugin(manifest: DeployManifest): Plugin {
  const nodeCompat = manifest.compatibilityFlags.some((f) => f === 'nodejs_compat' || f === 'nodejs_compat_v2' || f === 'nodejs_als');
  return {
    name: 'edge-node-builtins',
    setup(b) {
      b.onResolve({ filter: /^[a-z_:]/ }, async (args) => {
        if (args.pluginData === 'edge-node-builtins') return undefined;
        if (args.path.startsWith('cloudflare:') && !Object.hasOwn(manifest.bundle.alias, args.path)) {
          // The runtime provides these (as wrangler leaves them to workerd); the others are refused here, by name.
          if (PROVIDED_CLOUDFLARE_MODULES.includes(args.path)) return { path: args.path, external: true };
          return { errors: [{ text: `Could not resolve "${args.path}": ${cloudflareModuleRefusal(args.path)}. Map it with [alias] in the manifest to provide your own.` }] };
        }
        const prefixed = args.path.startsWith('node:');
        const name = prefixed ? args.path.slice(5) : args.path;
        if (!prefixed && !NODE_BUILTINS.has(name)) return undefined;
        if (Object.hasOwn(manifest.bundle.alias, args.path)) return undefined;
        if (!prefixed) {
          const found = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'edge-node-builtins' });
          if (found.errors.length === 0 && found.path && isAbsolute(found.path)) return { path: found.path };
        }
        const why = nodeCompat
          ? `the compatibility flag ${manifest.compatibilityFlags.find((f) => f.startsWith('nodejs_'))} is not supported by this runtime: it has no Node.js APIs`
          : 'the worker runtime has no Node.js APIs';
        return {
          errors: [{
            text: `Could not resolve "${args.path}": it is a Node.js built-in module and ${why}. Use the Web APIs a worker has instead (fetch, crypto.subtle, streams, TextEncoder, ...), an npm package that runs in browsers or Workers, or map it with [alias] in the manifest.`,
          }],
        };
      });
    },
  };
}

/** wrangler's `process.env.NODE_ENV` (so that libraries pick their production or development build), under the manifest's [define]. */
function nodeEnvDefine(define: Record<string, string>, mode: 'production' | 'development'): Record<string, string> {
  const value = JSON.stringify(mode);
  return { 'process.env.NODE_ENV': value, 'global.process.env.NODE_ENV': value, 'globalThis.process.env.NODE_ENV': value, ...define };
}

function bundleError(main: string, messages: Message[], root: string): EdgeError {
  const first = messages.find((m) => m.location) ?? messages[0];
  const details: Record<string, unknown> = { main };
  if (first?.location) Object.assign(details, { file: first.location.file, line: first.location.line, column: first.location.column + 1 });
  const shown = messages.slice(0, 10).map((m) => formatMessage(m, root));
  const more = messages.length > shown.length ? `\n(${messages.length - shown.length} more errors)` : '';
  return new EdgeError(
    'E_BUNDLE_FAILED',
    `bundling ${main} failed with ${messages.length} error${messages.length === 1 ? '' : 's'}:\n${shown.join('\n')}${more}`,
    { details },
  );
}

function isBuildFailure(e: unknown): e is BuildFailure {
  return e instanceof Error && Array.isArray((e as Partial<BuildFailure>).errors);
}

/**
 * Bundles the worker in `root` whose manifest is `manifest` (with `bundle.enabled`), as `edge deploy` uploads it.
 * `mode` is `process.env.NODE_ENV` in the bundle, as wrangler defines it (its [define] may say otherwise).
 */
export async function bundleWorker(root: string, manifest: DeployManifest, options: { mode?: 'production' | 'development' } = {}): Promise<BundleOutput> {
  const entry = resolve(root, manifest.main);
  const outfile = resolve(root, bundledEntryPath(manifest.main));
  const settings = manifest.bundle;
  // Relative alias targets are paths in the worker's directory (esbuild resolves them against absWorkingDir).
  const alias: Record<string, string> = {};
  for (const [from, to] of Object.entries(settings.alias)) alias[from] = to.startsWith('./') || to.startsWith('../') ? resolve(root, to) : to;
  let result;
  try {
    result = await build({
      entryPoints: [entry],
      absWorkingDir: root,
      outfile,
      allowOverwrite: true,
      write: false,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: TARGET,
      conditions: CONDITIONS,
      mainFields: MAIN_FIELDS,
      // wrangler's: `.js` files may hold JSX, and function names survive minification for stack traces.
      loader: { '.js': 'jsx', '.mjs': 'jsx', '.cjs': 'jsx' },
      keepNames: true,
      minify: settings.minify,
      define: nodeEnvDefine(settings.define, options.mode ?? 'production'),
      ...(settings.tsconfig !== undefined ? { tsconfig: resolve(root, settings.tsconfig) } : {}),
      ...(settings.jsxFactory !== undefined ? { jsxFactory: settings.jsxFactory } : {}),
      ...(settings.jsxFragment !== undefined ? { jsxFragment: settings.jsxFragment } : {}),
      alias,
      sourcemap: 'linked',
      sourcesContent: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [nodeBuiltinsPlugin(manifest)],
    });
  } catch (e) {
    if (isBuildFailure(e)) throw bundleError(manifest.main, e.errors, root);
    throw e;
  }
  if (result.errors.length > 0) throw bundleError(manifest.main, result.errors, root);
  const modules = result.outputFiles
    .map((f) => ({ path: posixRel(root, f.path), content: f.text }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => !p.includes(':'))
    .map((p) => resolve(root, p));
  return { modules, inputs, warnings: result.warnings.map((w) => formatMessage(w, root)) };
}

