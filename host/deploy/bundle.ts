// Bundling at deploy, as wrangler does: esbuild turns `main` (TypeScript or JavaScript) and everything it imports,
// npm packages from the worker's own node_modules included, into one ES module plus its source map.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, posix, relative, resolve, sep } from 'node:path';
import { build, type BuildFailure, type Message, type Plugin } from 'esbuild';
import { EdgeError } from '../core/errors.ts';
import type { DeployManifest } from './manifest.ts';
import type { ValueModuleType } from '../core/manifest.ts';
import { globToRegExp, isValueModuleType, matchSpecifier, parseRules, stripModuleSuffix } from './module-rules.ts';
import { cloudflareModuleRefusal, PROVIDED_CLOUDFLARE_MODULES } from '../core/cloudflare-modules.ts';
import { isPolyfillFile, NodeBuiltins, refusalSummary, type NodeModuleRefusals } from './node-compat.ts';

/** Entry extensions that are bundled; the output keeps ESM-ness (`.mts` → `.mjs`), everything else becomes `.js`. */
export const BUNDLED_ENTRY = /\.(m?[jt]s|[jt]sx|cts)$/;

/** wrangler's esbuild choices where they decide which code a package hands us. */
const CONDITIONS = ['workerd', 'worker', 'browser'];
const MAIN_FIELDS = ['browser', 'module', 'main'];
const TARGET = 'es2024';

/** A file of the upload: a JS module or source map (text), or a value module (its `type`; binary ones base64). */
export interface BundledFile {
  path: string;
  content: string;
  encoding?: 'base64';
  type?: ValueModuleType;
}

export interface BundleOutput {
  /**
   * The bundle at `bundledEntryPath(main)` and its source map beside it (`<bundle>.map`), and the WebAssembly, text
   * and data modules it imports (`<sha1>-<name>` beside the bundle, as wrangler names them), worker-relative posix paths.
   */
  modules: BundledFile[];
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
 * Imports of Node built-ins resolve to nodejs_compat's polyfills or fail here with a message saying why (node-compat.ts),
 * instead of esbuild's "Are you trying to bundle for node?"; Cloudflare's `cloudflare:*` modules are left to the runtime
 * or refused by name.
 */
function nodeBuiltinsPlugin(manifest: DeployManifest, node: NodeBuiltins): Plugin {
  return {
    name: 'edge-node-builtins',
    setup(b) {
      node.setup(b);
      b.onResolve({ filter: /^[a-z_:]/ }, async (args) => {
        const runtime = node.resolveRuntime(args);
        if (runtime) return runtime;
        if (args.path.startsWith('cloudflare:') && !Object.hasOwn(manifest.bundle.alias, args.path)) {
          // The runtime provides these (as wrangler leaves them to workerd); the others are refused here, by name.
          if (PROVIDED_CLOUDFLARE_MODULES.includes(args.path)) return { path: args.path, external: true };
          return { errors: [{ text: `Could not resolve "${args.path}": ${cloudflareModuleRefusal(args.path)}. Map it with [alias] in the manifest to provide your own.` }] };
        }
        if (!NodeBuiltins.isBuiltin(args.path) || Object.hasOwn(manifest.bundle.alias, args.path)) return undefined;
        return node.resolve(b, args);
      });
    },
  };
}

const SKIP_VALUE_RULES = Symbol('edge-value-modules');

/**
 * wrangler's module rules when bundling: an import matching a CompiledWasm, Text or Data rule (`./x.wasm`, an npm
 * package's `./lib/x_bg.wasm`) stays an import, of a module uploaded beside the bundle as `<sha1>-<name>` (its
 * content's hash, as wrangler names it). The file is found as esbuild resolves any import (package exports included).
 */
function valueModulesPlugin(manifest: DeployManifest, bundleDir: string, collected: Map<string, { file: BundledFile; abs: string }>): Plugin {
  const parsed = parseRules(manifest.bundle.rules);
  const globs = [...parsed.rules, ...parsed.removed].filter((r) => r.type !== 'ESModule').flatMap((r) => r.globs);
  return {
    name: 'edge-value-modules',
    setup(b) {
      if (globs.length === 0) return;
      const filter = new RegExp(globs.map((g) => globToRegExp(g).source).join('|'));
      b.onResolve({ filter }, async (args) => {
        if (args.pluginData === SKIP_VALUE_RULES) return undefined;
        const match = matchSpecifier(parsed, args.path);
        if (!match || !isValueModuleType(match.rule.type)) return undefined;
        if (match.removed) {
          return { errors: [{ text: `The file ${args.path} matched a module rule in your configuration (${JSON.stringify(match.rule)}), but was ignored because a previous rule with the same type was not marked as \`fallthrough = true\`.` }] };
        }
        const resolved = await b.resolve(stripModuleSuffix(args.path), { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: SKIP_VALUE_RULES });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        let bytes: Buffer;
        try {
          bytes = await readFile(resolved.path);
        } catch (err) {
          return { errors: [{ text: `Could not read "${args.path}" (${match.rule.type} module): ${(err as Error).message}` }] };
        }
        const name = `${createHash('sha1').update(bytes).digest('hex')}-${basename(resolved.path)}`;
        const path = posix.join(bundleDir, name);
        const type = match.rule.type;
        const file: BundledFile = type === 'Text' ? { path, content: bytes.toString('utf8'), type } : { path, content: bytes.toString('base64'), encoding: 'base64', type };
        collected.set(path, { file, abs: resolved.path });
        return { path: `./${name}`, external: true };
      });
    },
  };
}

/** wrangler's `process.env.NODE_ENV` (so that libraries pick their production or development build), under the manifest's [define]. */
function nodeEnvDefine(define: Record<string, string>, mode: 'production' | 'development'): Record<string, string> {
  const value = JSON.stringify(mode);
  return { 'process.env.NODE_ENV': value, 'global.process.env.NODE_ENV': value, 'globalThis.process.env.NODE_ENV': value, ...define };
}

function bundleError(main: string, messages: Message[], root: string, refused: NodeModuleRefusals): EdgeError {
  const first = messages.find((m) => m.location) ?? messages[0];
  const details: Record<string, unknown> = { main };
  const nodeModules = [...refused.unsupported, ...refused.needFlag];
  if (nodeModules.length > 0) details['nodeModules'] = nodeModules;
  const summary = refusalSummary(main, refused);
  if (first?.location) Object.assign(details, { file: first.location.file, line: first.location.line, column: first.location.column + 1 });
  const shown = messages.slice(0, 10).map((m) => formatMessage(m, root));
  const more = messages.length > shown.length ? `\n(${messages.length - shown.length} more errors)` : '';
  return new EdgeError(
    'E_BUNDLE_FAILED',
    `bundling ${main} failed with ${messages.length} error${messages.length === 1 ? '' : 's'}:\n${summary ? `${summary}\n` : ''}${shown.join('\n')}${more}`,
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
  const node = new NodeBuiltins(manifest);
  const values = new Map<string, { file: BundledFile; abs: string }>();
  const bundleDir = posix.dirname(bundledEntryPath(manifest.main));
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
      inject: node.inject(),
      plugins: [valueModulesPlugin(manifest, bundleDir === '.' ? '' : bundleDir, values), nodeBuiltinsPlugin(manifest, node)],
    });
  } catch (e) {
    if (isBuildFailure(e)) throw bundleError(manifest.main, e.errors, root, node.refused);
    throw e;
  }
  if (result.errors.length > 0) throw bundleError(manifest.main, result.errors, root, node.refused);
  const modules = [...result.outputFiles.map((f): BundledFile => ({ path: posixRel(root, f.path), content: f.text })), ...[...values.values()].map((v) => v.file)]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => !p.includes(':'))
    .map((p) => resolve(root, p))
    // nodejs_compat's polyfills are the host's, not the worker's: `edge dev` does not watch them.
    .filter((p) => !isPolyfillFile(p));
  for (const v of values.values()) if (!inputs.includes(v.abs)) inputs.push(v.abs);
  return { modules, inputs, warnings: result.warnings.map((w) => formatMessage(w, root)) };
}

