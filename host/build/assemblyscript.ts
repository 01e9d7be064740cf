// The in-process build pipeline for AssemblyScript guests: asc → core module with canonical ABI export names →
// WIT embedded → component. No child processes, no network.

import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import asc from 'assemblyscript/asc';
import { BuildError, formatDiagnostic, type BuildDiagnostic } from './errors.ts';
import { camelCase } from '../../guest-sdk/bindgen/names.ts';
import { coreExportNames, embedWit, newComponent, worldCoreExports } from './component-tools.ts';
import { makeRenameExportsTransform, type RenameOutcome, type RenamePlan } from './rename-exports-transform.ts';

export interface CompileAssemblyScriptOptions {
  /** The guest's entry file (.ts). */
  entry: string;
  /** Directory of the WIT package holding `world`. */
  witDir: string;
  world: string;
  /** asc -O3; slow (seconds), so off by default. */
  optimize?: boolean;
}

export interface CompiledGuest {
  /** The core module with canonical export names, before the WIT is embedded. */
  core: Uint8Array;
  component: Uint8Array;
  warnings: string[];
}

// asc's DiagnosticCategory.Error.
const CATEGORY_ERROR = 3;
// Exports wit-component understands that are not world functions; kept as they are.
const RUNTIME_EXPORTS = new Set(['memory', 'cabi_realloc', '_initialize']);


/**
 * A world function export as wit-component names it: legacy `iface@1.0.0#func` or `cm32p2|iface@1.0|func`, and
 * their post-return functions (`cabi_post_iface@1.0.0#func`, `cm32p2|iface@1.0|func_post`), with `post: true`.
 * WIT names have no `_`, so a `_post` suffix cannot be part of a function name.
 */
function parseFunctionExport(name: string): { iface: string | null; func: string; post: boolean } | null {
  if (name.startsWith('cm32p2')) {
    const parts = name.split('|');
    if (parts.length !== 3) return null;
    const post = parts[2]!.endsWith('_post');
    return { iface: parts[1] === '' ? null : parts[1]!, func: post ? parts[2]!.slice(0, -'_post'.length) : parts[2]!, post };
  }
  if (RUNTIME_EXPORTS.has(name)) return null;
  const post = name.startsWith('cabi_post_');
  if (name.startsWith('cabi_') && !post) return null;
  const rest = post ? name.slice('cabi_post_'.length) : name;
  const hash = rest.indexOf('#');
  return hash < 0 ? { iface: null, func: rest, post } : { iface: rest.slice(0, hash), func: rest.slice(hash + 1), post };
}

/**
 * How guest exports map to the world: `iface#func` is implemented by `export function func` (camelCase), or by
 * `export function iface_func` when two exported interfaces share a function name; world-level functions by their
 * camelCase name. Post-return functions are the same names with `_post` appended (`iface_func_post`, `func_post`)
 * and are optional: they are renamed when present, never required. The canonical names come from
 * wit-component's dummy module for the world.
 */
function planRenames(expected: string[]): { plan: RenamePlan; required: Map<string, string[]> } {
  const functions = expected.flatMap((name) => {
    const parsed = parseFunctionExport(name);
    return parsed ? [{ name, ...parsed }] : [];
  });
  const shortCount = new Map<string, number>();
  for (const f of functions) if (!f.post) shortCount.set(camelCase(f.func), (shortCount.get(camelCase(f.func)) ?? 0) + 1);
  const renames = new Map<string, string>();
  const required = new Map<string, string[]>();
  for (const f of functions) {
    const short = camelCase(f.func);
    const suffix = f.post ? '_post' : '';
    const candidates: string[] = [];
    if (f.iface !== null) candidates.push(`${camelCase(f.iface.replace(/@.*$/, '').replace(/^.*\//, ''))}_${short}${suffix}`);
    if (shortCount.get(short) === 1) candidates.push(`${short}${suffix}`);
    for (const c of candidates) renames.set(c, f.name);
    if (!f.post) required.set(f.name, candidates);
  }
  return { plan: { renames, keep: new Set(RUNTIME_EXPORTS) }, required };
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

export async function compileAssemblyScript(options: CompileAssemblyScriptOptions): Promise<CompiledGuest> {
  const entryPath = resolve(options.entry);
  const baseDir = dirname(entryPath);
  const expected = await worldCoreExports(options.witDir, options.world).catch((cause: unknown) => {
    throw new BuildError(`cannot read world '${options.world}' from ${options.witDir}: ${cause instanceof Error ? cause.message : String(cause)}`, [], { cause });
  });
  const { plan, required } = planRenames(expected);
  const outcome: RenameOutcome = { renamed: [], removed: [] };

  const sources = new Map<string, string>();
  const diagnostics: { diagnostic: BuildDiagnostic; isError: boolean }[] = [];
  let core: Uint8Array | undefined;
  const args = [
    basename(entryPath),
    '--outFile', 'guest.wasm',
    '--runtime', 'incremental',
    // Without it the module imports env.abort, which no world provides.
    '--use', 'abort=',
    '--baseDir', baseDir,
    '--noColors',
    ...(options.optimize ? ['-O3'] : ['-O0']),
  ];
  const result = await asc.main(args, {
    readFile: async (filename, dir) => {
      try {
        const text = await readFile(resolve(dir, filename), 'utf8');
        sources.set(filename, text);
        return text;
      } catch {
        return null;
      }
    },
    writeFile: (filename, contents) => {
      if (filename === 'guest.wasm' && typeof contents !== 'string') core = contents;
    },
    listFiles: () => [],
    reportDiagnostic: (d) => {
      const file = d.range?.source.normalizedPath ?? null;
      const text = file === null ? undefined : sources.get(file);
      const pos = d.range && text !== undefined ? lineAndColumn(text, d.range.start) : { line: 0, column: 0 };
      diagnostics.push({ diagnostic: { file, ...pos, code: d.code, message: d.message }, isError: d.category === CATEGORY_ERROR });
    },
    transforms: [makeRenameExportsTransform(plan, outcome) as never],
  });

  const errors = diagnostics.filter((d) => d.isError).map((d) => d.diagnostic);
  const warnings = diagnostics.filter((d) => !d.isError).map((d) => formatDiagnostic(d.diagnostic));
  if (result.error || core === undefined) {
    const detail = errors.length > 0 ? errors.map(formatDiagnostic).join('\n') : (result.error?.message ?? 'asc produced no module');
    throw new BuildError(`AssemblyScript compilation of ${options.entry} failed:\n${detail}`, errors);
  }

  const exported = new Set(coreExportNames(core));
  const missing = [...required].filter(([name]) => !exported.has(name));
  if (missing.length > 0) {
    const lines = missing.map(([name, candidates]) => `world export ${name} has no implementation: export function ${candidates.join(' or ')} from ${basename(entryPath)}`);
    throw new BuildError(`guest does not implement world '${options.world}':\n${lines.join('\n')}`, missing.map(([, candidates]) => ({ file: basename(entryPath), line: 0, column: 0, code: 0, message: `missing export ${candidates.join(' or ')}` })));
  }
  for (const name of outcome.removed) warnings.push(`export '${name}' is not part of world '${options.world}' and was dropped`);

  try {
    const embedded = await embedWit(core, options.witDir, options.world, 'utf16');
    const component = await newComponent(embedded);
    return { core, component, warnings };
  } catch (cause) {
    throw new BuildError(`making a component of ${options.entry} for world '${options.world}' failed: ${cause instanceof Error ? cause.message : String(cause)}`, [], { cause });
  }
}
