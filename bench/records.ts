// What the suites hand back (SuiteResult) and how they record a figure: measure() of bench/schema.ts with the
// params folded in, and the report writers (bench/markdown.ts, bench/charts.ts) the runner calls.
import { writeCharts } from './charts.ts';
import { markdownReport } from './markdown.ts';
import { measure as measureSchema, validateRunFile, type Measurement, type RunFile, type TargetResult } from './schema.ts';
import { interleaveAll } from './stats.ts';

export type Runtime = 'edge-js' | 'edge-wasm' | 'workerd' | 'fastify' | 'wasm-core';

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

/** Throws when the run file does not follow bench/schema.ts. */
export function validateRun(run: RunFile): void {
  validateRunFile(run);
}

export function markdownFor(run: RunFile, chartFiles: Record<string, string>): string {
  return markdownReport(run, { charts: chartFiles });
}

export function chartsFor(run: RunFile, dir: string): Promise<Record<string, string>> {
  return writeCharts(run, dir);
}

export { interleaveAll };
