// The terminal output of `edge bench`: a table of the measurements (noisy ones flagged) and the targets from the
// issues with PASS/MISS (the Markdown report is bench/markdown.ts).
import { formatNumber as fmt } from './markdown.ts';
import type { Measurement, TargetCheck } from './records.ts';

function table(header: string[], rows: string[][], rightAligned: Set<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function paramsText(m: Measurement): string {
  return m.params ? Object.entries(m.params).map(([k, v]) => `${k}=${v}`).join(' ') : '';
}

function shorten(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

export function formatMeasurements(measurements: Measurement[]): string {
  const header = ['suite', 'runtime', 'workload', 'metric', 'params', 'unit', 'p50', 'p90', 'p99', 'n', ''];
  const rows = measurements.map((m) => [
    m.suite,
    m.runtime,
    shorten(m.workload, 40),
    m.metric,
    paramsText(m),
    m.unit,
    fmt(m.p50),
    fmt(m.p90),
    fmt(m.p99),
    String(m.n),
    m.noisy ? `NOISY (spread ${fmt(m.spread)})` : '',
  ]);
  return table(header, rows, new Set([6, 7, 8, 9]));
}

export function formatTargets(targets: TargetCheck[]): string {
  const rows = targets.map((t) => [t.pass === null ? '----' : t.pass ? 'PASS' : 'MISS', t.target, t.measured, t.note ?? '']);
  return table(['', 'target', 'measured', ''], rows, new Set());
}

