// The terminal output of `edge bench`: a table of the measurements (noisy ones flagged), the targets from the
// issues with PASS/MISS, and a plain Markdown report used when bench/markdown.ts is not in the checkout.
import type { Measurement, RunFile, TargetCheck } from './records.ts';

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

/** A plain Markdown report, for when bench/markdown.ts is absent. */
export function plainMarkdown(run: RunFile, charts: Record<string, string>): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = [`# edge bench — ${run.startedAt}`, '', `Machine: ${esc(JSON.stringify(run.machine))}`, '', `Settings: ${esc(JSON.stringify(run.settings))}`, ''];
  for (const [name, file] of Object.entries(charts)) lines.push(`![${name}](${file})`, '');
  lines.push('| suite | runtime | workload | metric | params | unit | p50 | p90 | p99 | n | noisy |', '|---|---|---|---|---|---|---:|---:|---:|---:|---|');
  for (const m of run.measurements) {
    lines.push(`| ${m.suite} | ${m.runtime} | ${esc(m.workload)} | ${m.metric} | ${esc(paramsText(m))} | ${m.unit} | ${fmt(m.p50)} | ${fmt(m.p90)} | ${fmt(m.p99)} | ${m.n} | ${m.noisy ? 'yes' : ''} |`);
  }
  lines.push('', '## Targets', '', '| | target | measured | |', '|---|---|---|---|');
  for (const t of run.targets) lines.push(`| ${t.pass === null ? '----' : t.pass ? 'PASS' : 'MISS'} | ${esc(t.target)} | ${esc(t.measured)} | ${esc(t.note ?? '')} |`);
  lines.push('', '## Notes', '', ...run.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

export { fmt as formatNumber };
