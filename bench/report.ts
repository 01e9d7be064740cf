// The benchmark's output: one record per measurement (also written as JSON), a readable table, the targets from
// the issue with PASS/MISS, and notes on how each figure was obtained.

export interface BenchRecord {
  suite: 'cold-start' | 'warm-throughput' | 'memory' | 'fuel';
  /** 'edge-js' for this host; baselines are named after what they are (e.g. 'fastify'). */
  runtime: string;
  workload: string;
  metric: string;
  unit: string;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  n: number;
  /** How the figure was obtained, when the metric name does not say it all. */
  note?: string;
}

export interface TargetCheck {
  target: string;
  measured: string;
  /** null: not judged (a figure shown for comparison with no target to meet, or a measurement that is not valid). */
  pass: boolean | null;
  note?: string;
}

export interface SuiteResult {
  records: BenchRecord[];
  targets: TargetCheck[];
  notes: string[];
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(1);
  if (a >= 10) return v.toFixed(2);
  return v.toFixed(3);
}

function table(header: string[], rows: string[][], rightAligned: Set<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatRecords(records: BenchRecord[]): string {
  const header = ['suite', 'runtime', 'workload', 'metric', 'unit', 'p50', 'p90', 'p99', 'mean', 'n'];
  const rows = records.map((r) => [r.suite, r.runtime, r.workload, r.metric, r.unit, fmt(r.p50), fmt(r.p90), fmt(r.p99), fmt(r.mean), String(r.n)]);
  return table(header, rows, new Set([5, 6, 7, 8, 9]));
}

export function formatTargets(targets: TargetCheck[]): string {
  const rows = targets.map((t) => [t.pass === null ? '----' : t.pass ? 'PASS' : 'MISS', t.target, t.measured, t.note ?? '']);
  return table(['', 'target', 'measured', ''], rows, new Set());
}

export { fmt as formatNumber };
