// Source maps of a version's bundled modules: stack frames `worker://<name>/<module>:line:col` of the code that
// runs are rewritten to the user's source (`src/index.ts:line:col`) before they reach tail.

import { GREATEST_LOWER_BOUND, LEAST_UPPER_BOUND, originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';
import { EdgeError } from '../core/errors.ts';

/** A module's source map as uploaded beside it (`<module>.map`). */
export interface ModuleSourceMap {
  /** Path of the module it maps, among the version's modules. */
  module: string;
  /** The source map JSON text (version 3). */
  map: string;
}

/**
 * Parses a source map of `module`, rejecting what is not one. Paths in `sources` are taken relative to the map,
 * which sits beside its module, so the mapped names are paths in the worker's directory (`src/index.ts`).
 */
export function parseSourceMap(module: string, text: string): TraceMap {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new EdgeError('E_DEPLOY_INVALID', `Source map "${module}.map" is not JSON: ${e instanceof Error ? e.message : String(e)}.`, { details: { module: `${module}.map` } });
  }
  const m = json as { version?: unknown; mappings?: unknown; sources?: unknown; sections?: unknown };
  if (typeof m !== 'object' || m === null || m.version !== 3 || typeof m.mappings !== 'string' || !Array.isArray(m.sources)) {
    throw new EdgeError('E_DEPLOY_INVALID', `Source map "${module}.map" is not a version 3 source map ({ version: 3, sources: [...], mappings: "..." }).`, {
      details: { module: `${module}.map` },
    });
  }
  try {
    return new TraceMap(text, `${module}.map`);
  } catch (e) {
    throw new EdgeError('E_DEPLOY_INVALID', `Source map "${module}.map" cannot be read: ${e instanceof Error ? e.message : String(e)}.`, { details: { module: `${module}.map` } });
  }
}

/** The maps of one version, parsed on first use and kept with it (a version's maps never change). */
const parsed = new WeakMap<readonly ModuleSourceMap[], Map<string, TraceMap | null>>();

function mapOf(maps: readonly ModuleSourceMap[], module: string): TraceMap | null {
  let byModule = parsed.get(maps);
  if (!byModule) parsed.set(maps, (byModule = new Map()));
  let trace = byModule.get(module);
  if (trace === undefined) {
    const found = maps.find((m) => m.module === module);
    try {
      trace = found ? parseSourceMap(found.module, found.map) : null;
    } catch {
      trace = null;
    }
    byModule.set(module, trace);
  }
  return trace;
}

const FRAME = /worker:\/\/([a-z0-9-]+)\/([^\s():]+):(\d+):(\d+)/g;

/**
 * Rewrites the frames of `stack` that fall in a mapped module of worker `worker` to the original source position;
 * frames it cannot map (the runtime's own code, a module without a map) are left as they are.
 */
export function mapStack(stack: string, worker: string, maps: readonly ModuleSourceMap[]): string {
  if (maps.length === 0) return stack;
  return stack.replace(FRAME, (whole, name: string, module: string, line: string, column: string) => {
    if (name !== worker) return whole;
    const trace = mapOf(maps, module);
    if (!trace) return whole;
    // V8 columns are 1-based, source map columns 0-based.
    const needle = { line: Number(line), column: Math.max(0, Number(column) - 1) };
    let pos = originalPositionFor(trace, { ...needle, bias: GREATEST_LOWER_BOUND });
    if (pos.source === null) pos = originalPositionFor(trace, { ...needle, bias: LEAST_UPPER_BOUND });
    if (pos.source === null) return whole;
    return `${pos.source}:${pos.line}:${pos.column + 1}`;
  });
}
