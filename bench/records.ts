// What the suites hand back (SuiteResult) and how they record a figure: measure() of bench/schema.ts with the
// params folded in. The report writers (bench/markdown.ts, bench/charts.ts) are written alongside this runner and
// loaded at run time, so that the runner keeps working, and says what it left out, while one is not in the checkout.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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

interface MarkdownModule {
  markdownReport(run: RunFile, options: { charts: Record<string, string> }): string;
}
interface ChartsModule {
  writeCharts(run: RunFile, dir: string): Promise<Record<string, string>>;
}

async function optional<T>(file: string, exportName: string): Promise<T | undefined> {
  const path = fileURLToPath(new URL(file, import.meta.url));
  if (!existsSync(path)) return undefined;
  // A variable specifier, so that the typecheck does not need the file to exist yet.
  const mod = (await import(path)) as Record<string, unknown>;
  return typeof mod[exportName] === 'function' ? (mod as T) : undefined;
}

const markdown = await optional<MarkdownModule>('./markdown.ts', 'markdownReport');
const charts = await optional<ChartsModule>('./charts.ts', 'writeCharts');

/** Which of the companion modules this run had (reported in the run's notes). */
export const companions = { markdown: markdown !== undefined, charts: charts !== undefined };

export function measure(meta: MeasurementMeta, samples: number[], params?: Record<string, number | string>): Measurement {
  return measureSchema(params ? { ...meta, params } : meta, samples);
}

/** Throws when the run file does not follow bench/schema.ts. */
export function validateRun(run: RunFile): void {
  validateRunFile(run);
}

export function markdownFor(run: RunFile, chartFiles: Record<string, string>): string | undefined {
  return markdown?.markdownReport(run, { charts: chartFiles });
}

export async function chartsFor(run: RunFile, dir: string): Promise<Record<string, string> | undefined> {
  return charts ? await charts.writeCharts(run, dir) : undefined;
}

export { interleaveAll };
