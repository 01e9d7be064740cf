// The Markdown report of one run (bench/results/*.md, and what the README quotes): the machine and settings, a
// table per suite, ratios against workerd and Fastify where both sides were measured, the targets with PASS/MISS,
// the charts and the notes. It states what was measured; a miss is written as a miss.
import type { Measurement, RunFile } from './schema.ts';
import { NOISY_SPREAD } from './schema.ts';
import { ratio } from './stats.ts';

/** The runtimes other runtimes are compared with, in this order. */
export const BASELINES = ['workerd', 'fastify'] as const;

/** Three significant figures or so, thousands separated: 2.568, 12.30, 123.4, 12,303. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(1);
  if (a >= 10) return v.toFixed(2);
  return v.toFixed(3);
}

/** Whether a larger value of this measurement is better, smaller is better, or it cannot be told from its names. */
export function betterWhen(m: Pick<Measurement, 'metric' | 'unit'>): 'higher' | 'lower' | undefined {
  if (/per_s(econd)?$|throughput/.test(m.metric) || /\/s$/.test(m.unit)) return 'higher';
  if (['ms', 'µs', 'us', 'ns', 's', 'MiB', 'MB', 'KiB', 'kB', 'GiB', 'B', 'bytes', 'x'].includes(m.unit)) return 'lower';
  return undefined;
}

/**
 * A param that names the moment of a measurement rather than its conditions: a baseline's cold start ('first
 * request' of a fresh workerd) stands against each of ours ('after deploy', 'after eviction'), and the comparison
 * line names both phases.
 */
const PHASE = 'phase';

function sameParams(a: Measurement, b: Measurement): boolean {
  if (a.params === undefined || b.params === undefined) return a.params === b.params && a.workload === b.workload;
  const keys = (m: Measurement): string[] => Object.keys(m.params!).filter((k) => k !== PHASE).sort();
  const ka = keys(a);
  const kb = keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a.params![k] === b.params![k]);
}

/**
 * Two measurements of different runtimes that can be set side by side: same suite, metric and unit, and the same
 * params apart from `phase` (see Measurement.params); without params, the same workload.
 */
export function comparable(a: Measurement, b: Measurement): boolean {
  return a.suite === b.suite && a.metric === b.metric && a.unit === b.unit && sameParams(a, b);
}

export interface Comparison {
  ours: Measurement;
  theirs: Measurement;
  value: number;
  noisy: boolean;
}

/** Every (measurement, baseline measurement) pair of the run that can be compared, baselines in BASELINES order. */
export function comparisons(run: RunFile): Comparison[] {
  const out: Comparison[] = [];
  for (const baseline of BASELINES) {
    for (const theirs of run.measurements.filter((m) => m.runtime === baseline)) {
      if (theirs.p50 === 0) continue; // e.g. a latency rounded to 0 ms by the load generator: no ratio to state
      for (const ours of run.measurements) {
        if (ours.runtime === theirs.runtime || (BASELINES as readonly string[]).includes(ours.runtime) || ours.p50 === 0) continue;
        if (!comparable(ours, theirs)) continue;
        out.push({ ours, theirs, ...ratio(ours, theirs) });
      }
    }
  }
  return out;
}

function cell(v: string): string {
  return v.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function row(cells: string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

function table(header: string[], rows: string[][], rightAligned: Set<number> = new Set()): string {
  const rule = header.map((_, i) => (rightAligned.has(i) ? '---:' : '---'));
  return [row(header), `| ${rule.join(' | ')} |`, ...rows.map(row)].join('\n');
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return value.map(describe).join(', ');
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value)
      .map(([k, v]) => `${k} ${describe(v)}`)
      .join(', ');
  }
  return String(value);
}

function keyValueTable(o: Record<string, unknown>): string {
  const entries = Object.entries(o);
  if (entries.length === 0) return '_none recorded_';
  return table(['', ''], entries.map(([k, v]) => [k, describe(v)]));
}

function paramsText(m: Measurement): string {
  return m.params ? Object.entries(m.params).map(([k, v]) => `${k}=${v}`).join(' ') : '';
}

function comparisonLine(c: Comparison): string {
  const { ours, theirs } = c;
  const better = betterWhen(ours);
  let verdict = '';
  if (better !== undefined && c.value !== 1) {
    const ahead = better === 'lower' ? c.value < 1 : c.value > 1;
    verdict = ` — ${ahead ? 'ahead' : 'behind'} (${better} is better)`;
  } else if (c.value === 1) verdict = ' — level';
  // Both sides named whenever they differ: the workload (hello-js against workerd's hello) or the phase.
  const ownParams = paramsText(ours);
  const theirParams = paramsText(theirs);
  const what = [ours.workload, ownParams].filter((p) => p !== '').join(', ');
  const differs = ours.workload !== theirs.workload || ownParams !== theirParams;
  const against = differs ? `; ${theirs.runtime}: ${[theirs.workload, theirs.params?.[PHASE] !== ours.params?.[PHASE] ? `phase=${theirs.params?.[PHASE]}` : ''].filter((p) => p !== '').join(', ')}` : '';
  const noisy = c.noisy ? ` ⚠ noisy (spread over ${NOISY_SPREAD} on ${[ours, theirs].filter((m) => m.noisy).map((m) => m.runtime).join(' and ')}): take with care` : '';
  return `- ${ours.runtime} \`${ours.metric}\` (${what}${against}): p50 is **${c.value.toFixed(2)}x ${theirs.runtime}'s** (${formatNumber(ours.p50)} vs ${formatNumber(theirs.p50)} ${ours.unit})${verdict}.${noisy}`;
}

const CHART_TITLES: Record<string, string> = {
  'cold-start': 'Cold start latency',
  throughput: 'Requests/s per runtime and concurrency',
  memory: 'RSS per worker vs workers deployed',
};

export function markdownReport(run: RunFile, options: { charts?: Record<string, string> } = {}): string {
  const out: string[] = [];
  const seconds = (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
  out.push(`# Benchmark run of ${run.startedAt}`, '');
  if (run.settings.synthetic === true) out.push('> **Synthetic test data**: the numbers below were invented for tests; nothing was measured.', '');
  out.push(`Started ${run.startedAt}, finished ${run.finishedAt} (${formatNumber(seconds)} s). ${run.measurements.length} measurements.`, '');
  out.push('## Machine', '', keyValueTable(run.machine), '', '## Settings', '', keyValueTable(run.settings), '');

  const noisyCount = run.measurements.filter((m) => m.noisy).length;
  out.push('## Results', '');
  out.push(
    `p50/p90/p99 are nearest-rank percentiles of the samples (each a value really measured); spread is (p90 − p10) / p50; a measurement is **noisy** when its spread is over ${NOISY_SPREAD}. ${noisyCount === 0 ? 'No measurement of this run is noisy.' : `${noisyCount} of ${run.measurements.length} measurements are noisy.`}`,
    '',
  );
  const suites = [...new Set(run.measurements.map((m) => m.suite))];
  for (const suite of suites) {
    const own = run.measurements.filter((m) => m.suite === suite);
    // A params column only where a suite has params: rows that differ only by phase or concurrency need it.
    const withParams = own.some((m) => m.params !== undefined);
    const rows = own.map((m) => {
      const spread = m.samples.length === 0 && m.n > 1 ? '–' : m.spread.toFixed(2);
      const numbers = [formatNumber(m.p50), formatNumber(m.p90), formatNumber(m.p99), String(m.n), spread, m.noisy ? '**noisy**' : ''];
      return [m.runtime, m.workload, ...(withParams ? [paramsText(m)] : []), m.metric, m.unit, ...numbers];
    });
    const header = ['runtime', 'workload', ...(withParams ? ['params'] : []), 'metric', 'unit', 'p50', 'p90', 'p99', 'n', 'spread', 'noisy'];
    const first = withParams ? 5 : 4;
    out.push(`### ${suite}`, '', table(header, rows, new Set([first, first + 1, first + 2, first + 3, first + 4])), '');
  }
  if (run.measurements.some((m) => m.samples.length === 0 && m.n > 1)) out.push('Spread –: the run kept no samples for that measurement, so its spread is unknown.', '');

  out.push('## Side by side', '');
  const all = comparisons(run);
  for (const baseline of BASELINES) {
    const lines = all.filter((c) => c.theirs.runtime === baseline).map(comparisonLine);
    if (lines.length > 0) out.push(`Against ${baseline}, same machine, same run:`, '', ...lines, '');
    else out.push(`Against ${baseline}: not measured in this run (no ${baseline} measurement comparable with another runtime's), so no ratio is stated.`, '');
  }

  out.push('## Targets', '');
  if (run.targets.length === 0) out.push('_No targets were judged in this run._', '');
  else {
    const rows = run.targets.map((t) => [t.pass === null ? '—' : t.pass ? 'PASS' : '**MISS**', t.target, t.measured, t.note ?? '']);
    out.push(table(['', 'target', 'measured', 'note'], rows), '');
    const judged = run.targets.filter((t) => t.pass !== null);
    const missed = judged.filter((t) => t.pass === false);
    const unjudged = run.targets.length - judged.length;
    const rest = unjudged > 0 ? ` (${unjudged} more shown but not judged: —)` : '';
    out.push(missed.length === 0 ? `All ${judged.length} judged targets met${rest}.` : `**${missed.length} of ${judged.length} judged targets missed**${rest}: ${missed.map((t) => t.target).join('; ')}.`, '');
  }

  const charts = Object.entries(options.charts ?? {});
  if (charts.length > 0) {
    out.push('## Charts', '');
    for (const [name, path] of charts) out.push(`![${CHART_TITLES[name] ?? name}](${path})`, '');
  }

  out.push('## Notes', '');
  out.push(run.notes.length === 0 ? '_none_' : run.notes.map((n) => `- ${n.replace(/\r?\n/g, ' ')}`).join('\n'), '');
  return out.join('\n');
}
