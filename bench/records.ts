// What the suites hand back (SuiteResult) and how they record a figure: measure() of bench/schema.ts with the
// params folded in.
import { measure as measureSchema, type Measurement, type RunFile, type TargetResult } from './schema.ts';
import { interleaveAll } from './stats.ts';

/** `sql.js` and `sql-engine` (storage/sql's SqlEngine): the D1 benchmark's in-process sides (bench/d1.ts). */
export type Runtime = 'edge-js' | 'edge-wasm' | 'workerd' | 'fastify' | 'wasm-core' | 'sql.js' | 'sql-engine';

export interface MeasurementMeta {
  suite: string;
  runtime: Runtime;
  workload: string;
  metric: string;
  unit: string;
  note?: string;
}

export type { Measurement, RunFile };
export type TargetCheck = TargetResult;

export interface SuiteResult {
  measurements: Measurement[];
  targets: TargetCheck[];
  notes: string[];
}

export const emptyResult = (): SuiteResult => ({ measurements: [], targets: [], notes: [] });

export function mergeResults(...parts: SuiteResult[]): SuiteResult {
  return { measurements: parts.flatMap((p) => p.measurements), targets: parts.flatMap((p) => p.targets), notes: parts.flatMap((p) => p.notes) };
}

export function measure(meta: MeasurementMeta, samples: number[], params?: Record<string, number | string>): Measurement {
  return measureSchema(params ? { ...meta, params } : meta, samples);
}

export { interleaveAll };
