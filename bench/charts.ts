// SVG charts of a run for the report and the README: cold-start latency distribution, requests/s per runtime and
// concurrency, RSS per worker vs workers deployed. Each is one standalone SVG document.
//
// Written by hand rather than with a chart library: the three charts are fixed, simple shapes (a strip plot, grouped
// bars, lines), and the library that renders SVG headlessly in Node (vega + vega-lite) brings vega's 27 vega-*
// packages and the d3 modules under them for that, estimates text widths without a canvas, and its SVG cannot carry the
// `prefers-color-scheme` stylesheet that keeps a chart readable on GitHub's light and dark themes without
// post-processing its output. By hand, the output is also byte-for-byte the same for the same run, which the tests
// rely on.
//
// Light and dark: every chart draws its own background, and one stylesheet switches background, text and grid
// together under `prefers-color-scheme: dark`, so text never lands on a background of its own colour whichever
// scheme the viewer picks; the series colours are mid-tones legible on both.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatNumber } from './markdown.ts';
import type { Measurement, RunFile } from './schema.ts';

/**
 * What each chart draws, by suite and metric: the names of the RunFile runner first, then those of the runner before
 * it (the recorded fixture). Other suites with the same metric (e.g. requests/s beside a noisy neighbour in 'limits')
 * are not drawn here.
 */
export const COLD_START_SUITES = ['cold', 'cold-start'];
export const COLD_START_METRICS = ['cold_start_ms', 'first_request_after_deploy', 'first_request_after_eviction'];
export const THROUGHPUT_SUITES = ['warm', 'warm-throughput'];
export const THROUGHPUT_METRICS = ['requests_per_s', 'requests_per_second'];
export const MEMORY_SUITES = ['memory'];
export const MEMORY_METRICS = ['rss_per_worker_mb', 'rss_per_idle_worker'];

const RUNTIME_COLOURS: Record<string, string> = { 'edge-js': '#3b82f6', 'edge-wasm': '#a855f7', workerd: '#f97316', fastify: '#22a06b' };
const OTHER_COLOURS = ['#e0457b', '#0ea5a4', '#b08800', '#8b8f96'];

const WIDTH = 760;
const FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif";

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Coordinates to one decimal: smaller files, and no float noise between platforms. */
function c(v: number): string {
  return String(Math.round(v * 10) / 10);
}

function colourMap(keys: string[]): Map<string, string> {
  const map = new Map<string, string>();
  let other = 0;
  for (const k of keys) {
    const runtime = k.split(' ')[0]!;
    map.set(k, RUNTIME_COLOURS[runtime] ?? OTHER_COLOURS[other++ % OTHER_COLOURS.length]!);
  }
  return map;
}

/** Ticks 0..max at 1, 2 or 5 × 10^k, about `count` of them; the last is ≥ max. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let i = 0; ; i++) {
    const t = Number((i * step).toPrecision(12));
    ticks.push(t);
    if (t >= max) break;
  }
  return ticks;
}

/** Log-axis ticks at 1, 2 and 5 × 10^k, from the one at or below `min` to the one at or above `max`. */
export function logTicks(min: number, max: number): number[] {
  const steps: number[] = [];
  for (let k = Math.floor(Math.log10(min)) - 1; ; k++) {
    for (const f of [1, 2, 5]) {
      const t = Number((f * 10 ** k).toPrecision(12));
      steps.push(t);
      if (t >= max) return steps.slice(Math.max(0, steps.findLastIndex((v) => v <= min)));
    }
  }
}

/** A deterministic offset in -0.5..0.5 for the i-th sample (golden-ratio sequence), so strip dots do not pile up. */
function jitter(i: number): number {
  return ((i * 0.6180339887) % 1) - 0.5;
}

function open(title: string, desc: string, height: number): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="title desc" font-family="${esc(FONT)}" font-size="12">`,
    `<title id="title">${esc(title)}</title>`,
    `<desc id="desc">${esc(desc)}</desc>`,
    '<style>',
    '.bg{fill:#ffffff}.fg{fill:#1f2328}.muted{fill:#59636e}.grid{stroke:#d1d9e0}.axis{stroke:#59636e}',
    '@media (prefers-color-scheme: dark){.bg{fill:#0d1117}.fg{fill:#f0f6fc}.muted{fill:#9198a1}.grid{stroke:#3d444d}.axis{stroke:#9198a1}}',
    '</style>',
    `<rect class="bg" fill="#ffffff" x="0" y="0" width="${WIDTH}" height="${height}" rx="6"/>`,
    `<text class="fg" fill="#1f2328" x="16" y="26" font-size="16" font-weight="600">${esc(title)}</text>`,
  ];
}

function text(x: number, y: number, s: string, opts: { cls?: 'fg' | 'muted'; anchor?: 'start' | 'middle' | 'end'; size?: number; extra?: string } = {}): string {
  const cls = opts.cls ?? 'fg';
  const fill = cls === 'fg' ? '#1f2328' : '#59636e';
  const anchor = opts.anchor && opts.anchor !== 'start' ? ` text-anchor="${opts.anchor}"` : '';
  const size = opts.size ? ` font-size="${opts.size}"` : '';
  return `<text class="${cls}" fill="${fill}" x="${c(x)}" y="${c(y)}"${anchor}${size}${opts.extra ?? ''}>${esc(s)}</text>`;
}

function line(x1: number, y1: number, x2: number, y2: number, cls: 'grid' | 'axis'): string {
  const stroke = cls === 'grid' ? '#d1d9e0' : '#59636e';
  return `<line class="${cls}" stroke="${stroke}" x1="${c(x1)}" y1="${c(y1)}" x2="${c(x2)}" y2="${c(y2)}"/>`;
}

/** Tick labels without trailing zeros: 0, 2.5, 10, 40,000. */
function tickLabel(t: number): string {
  return Number(t.toPrecision(6)).toLocaleString('en-US', { maximumFractionDigits: 6 });
}

const LEGEND_Y = 50;
const LEGEND_ROW = 20;

/**
 * The legend under the title: a swatch and a label per series, left to right, wrapping to a new row when the
 * next one would pass the right edge (text width estimated at 7 px a character for the 12 px font). Returns the
 * elements and the y where the plot may start.
 */
function legend(series: string[], colours: Map<string, string>, opacity: (s: string) => number = () => 1): { svg: string[]; bottom: number } {
  const svg = ['<g class="legend">'];
  let at = 16;
  let y = LEGEND_Y;
  for (const s of series) {
    const w = 14 + s.length * 7 + 18;
    if (at > 16 && at + w > WIDTH - 16) {
      at = 16;
      y += LEGEND_ROW;
    }
    const fo = opacity(s) === 1 ? '' : ` fill-opacity="${opacity(s)}"`;
    svg.push(`<rect x="${c(at)}" y="${c(y - 9)}" width="10" height="10" rx="2" fill="${colours.get(s)}"${fo}/>`);
    svg.push(text(at + 14, y, s));
    at += w;
  }
  svg.push('</g>');
  return { svg, bottom: y + 28 };
}

function empty(title: string, what: string): string {
  const h = 120;
  return [...open(title, `No ${what} in this run.`, h), text(16, 70, `No ${what} in this run.`, { cls: 'muted' }), '</svg>', ''].join('\n');
}

function mostCommonUnit(ms: Measurement[]): string {
  const counts = new Map<string, number>();
  for (const m of ms) counts.set(m.unit, (counts.get(m.unit) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
}

function concurrencyOf(m: Measurement): number | undefined {
  const p = m.params?.concurrency;
  if (typeof p === 'number') return p;
  const parsed = /\bc=(\d+)/.exec(m.workload) ?? /-c(\d+)\b/.exec(m.workload);
  return parsed ? Number(parsed[1]) : undefined;
}

// ---- cold start: one row per runtime × workload × metric; a dot per sample, p50 tick, p50–p90 box, line to p99 ----

export function coldStartChart(run: RunFile): string {
  const title = 'Cold start: time to first response';
  const all = run.measurements.filter((m) => COLD_START_SUITES.includes(m.suite) && COLD_START_METRICS.includes(m.metric));
  if (all.length === 0) return empty(title, 'cold-start measurements');
  const unit = mostCommonUnit(all);
  const rows = all.filter((m) => m.unit === unit);
  const runtimes = [...new Set(rows.map((m) => m.runtime))];
  const colours = colourMap(runtimes);

  const left = 250;
  const right = WIDTH - 90;
  const key = legend(runtimes, colours);
  const top = key.bottom;
  const rowH = 38;
  const plotBottom = top + rows.length * rowH;
  const height = plotBottom + 72;
  // The axis ends past the largest p99 rather than the largest sample, so one GC pause does not squash every row;
  // samples beyond it are drawn at the edge as triangles and counted.
  const xmax = Math.max(...rows.map((m) => m.p99)) * 1.15;
  // Runtimes an order of magnitude apart (2 ms beside 35 ms) get a log axis, so the fast rows keep their shape.
  const xmin = Math.min(...rows.map((m) => Math.min(m.p50, ...m.samples)));
  const log = xmin > 0 && xmax / xmin >= 8;
  const ticks = log ? logTicks(xmin, xmax) : niceTicks(xmax, 6);
  const domain = ticks[ticks.length - 1]!;
  const floor = ticks[0]!;
  const x = (v: number): number => {
    const f = log ? Math.log(Math.max(floor, Math.min(v, domain)) / floor) / Math.log(domain / floor) : Math.min(v, domain) / domain;
    return left + f * (right - left);
  };

  const out = open(title, `Cold-start latency per runtime and workload in ${unit}: each dot one sample, with p50, p90 and p99.`, height);
  out.push(...key.svg);
  for (const t of ticks) {
    out.push(line(x(t), top - 6, x(t), plotBottom, 'grid'));
    out.push(text(x(t), plotBottom + 16, tickLabel(t), { cls: 'muted', anchor: 'middle', size: 11 }));
  }
  out.push(line(left, plotBottom, right, plotBottom, 'axis'));
  out.push(text((left + right) / 2, plotBottom + 38, `time to first response (${unit}${log ? ', log scale' : ''}), lower is better`, { anchor: 'middle' }));
  out.push(text(16, plotBottom + 60, 'thick tick: p50 · box: p50 to p90 · line: to p99 · dots: one per sample · ›: samples past the axis', { cls: 'muted', size: 11 }));

  rows.forEach((m, r) => {
    const cy = top + r * rowH + rowH / 2;
    const colour = colours.get(m.runtime)!;
    // Rows of one runtime differ by metric (older runs) or by params (phase: after deploy / after eviction).
    const label = [m.metric === 'cold_start_ms' ? undefined : m.metric.replace(/_/g, ' '), m.workload, ...Object.values(m.params ?? {}).map(String)].filter((p) => p !== undefined).join(' · ');
    out.push(`<g class="series" data-runtime="${esc(m.runtime)}">`);
    out.push(text(left - 10, cy - 2, m.runtime, { anchor: 'end' }));
    out.push(text(left - 10, cy + 11, label.length > 44 ? `${label.slice(0, 43)}…` : label, { cls: 'muted', anchor: 'end', size: 10, extra: label.length > 44 ? ` data-full="${esc(label)}"` : '' }));
    out.push(`<rect x="${c(x(m.p50))}" y="${c(cy - 8)}" width="${c(Math.max(1, x(m.p90) - x(m.p50)))}" height="16" fill="${colour}" fill-opacity="0.22" stroke="${colour}"/>`);
    out.push(`<line x1="${c(x(m.p90))}" y1="${c(cy)}" x2="${c(x(m.p99))}" y2="${c(cy)}" stroke="${colour}" stroke-width="1.5"/>`);
    out.push(`<line x1="${c(x(m.p99))}" y1="${c(cy - 5)}" x2="${c(x(m.p99))}" y2="${c(cy + 5)}" stroke="${colour}" stroke-width="1.5"/>`);
    let beyond = 0;
    m.samples.forEach((s, i) => {
      const sy = cy + jitter(i) * 12;
      if (s > domain) {
        beyond++;
        out.push(`<path class="sample" d="M${c(right - 3)} ${c(sy - 4)}L${c(right + 4)} ${c(sy)}L${c(right - 3)} ${c(sy + 4)}Z" fill="${colour}"><title>${esc(`${formatNumber(s)} ${unit}`)}</title></path>`);
      } else out.push(`<circle class="sample" cx="${c(x(s))}" cy="${c(sy)}" r="2.2" fill="${colour}" fill-opacity="0.6"/>`);
    });
    out.push(`<line x1="${c(x(m.p50))}" y1="${c(cy - 11)}" x2="${c(x(m.p50))}" y2="${c(cy + 11)}" stroke="${colour}" stroke-width="3"/>`);
    const tail = `${formatNumber(m.p50)}${m.noisy ? ' noisy' : ''}${beyond > 0 ? ` +${beyond}›` : ''}`;
    out.push(text(right + 8, cy + 4, tail, { cls: 'muted', size: 10 }));
    out.push('</g>');
  });
  out.push('</svg>', '');
  return out.join('\n');
}

// ---- throughput: groups by concurrency, a bar per series (p50) with its per-second samples as dots -------------

export function throughputChart(run: RunFile): string {
  const title = 'Warm throughput: requests/s per runtime and concurrency';
  const picked = run.measurements.filter((m) => THROUGHPUT_SUITES.includes(m.suite) && THROUGHPUT_METRICS.includes(m.metric) && concurrencyOf(m) !== undefined);
  if (picked.length === 0) return empty(title, 'requests/s measurements');
  const tools = new Set(picked.map((m) => m.params?.tool).filter((t) => t !== undefined));
  // A runtime measured on several workloads at one concurrency (hello-js and the gateway example) gets a series per workload.
  const workloads = new Map<string, string[]>();
  const split = new Set<string>();
  for (const m of picked) {
    const list = workloads.get(m.runtime) ?? [];
    if (!list.includes(m.workload)) list.push(m.workload);
    workloads.set(m.runtime, list);
    if (picked.some((o) => o.runtime === m.runtime && o.workload !== m.workload && concurrencyOf(o) === concurrencyOf(m) && o.params?.tool === m.params?.tool)) split.add(m.runtime);
  }
  const seriesOf = (m: Measurement): string =>
    (tools.size > 1 && m.params?.tool !== undefined ? `${m.runtime} (${m.params.tool})` : m.runtime) + (split.has(m.runtime) ? ` · ${m.workload}` : '');
  const series = [...new Set(picked.map(seriesOf))];
  const colours = colourMap(series);
  const levels = [...new Set(picked.map((m) => concurrencyOf(m)!))].sort((a, b) => a - b);
  const unit = mostCommonUnit(picked);

  // Series of one runtime share its colour; a second load generator or workload is told apart by a lighter fill.
  const toolList = [...tools];
  const opacity = (s: string): number => {
    const m = picked.find((p) => seriesOf(p) === s)!;
    return toolList.indexOf(m.params?.tool as string) > 0 || (split.has(m.runtime) && workloads.get(m.runtime)!.indexOf(m.workload) > 0) ? 0.45 : 0.85;
  };
  const key = legend(series, colours, opacity);
  const left = 80;
  const right = WIDTH - 20;
  const top = key.bottom + 10;
  const bottom = top + 252;
  const height = bottom + 62;
  const ymax = Math.max(...picked.map((m) => Math.max(m.p50, ...m.samples))) * 1.08;
  const ticks = niceTicks(ymax, 5);
  const domain = ticks[ticks.length - 1]!;
  const y = (v: number): number => bottom - (v / domain) * (bottom - top);
  const groupW = (right - left) / levels.length;
  const barW = Math.min(56, (groupW - 24) / series.length);

  const out = open(title, `Requests per second (p50 of the per-second counts) per runtime at each load-generator concurrency; dots are the samples.`, height);
  out.push(...key.svg);
  for (const t of ticks) {
    out.push(line(left, y(t), right, y(t), 'grid'));
    out.push(text(left - 8, y(t) + 4, tickLabel(t), { cls: 'muted', anchor: 'end', size: 11 }));
  }
  out.push(line(left, bottom, right, bottom, 'axis'));
  out.push(text(18, (top + bottom) / 2, `requests/s (${unit}), higher is better`, { anchor: 'middle', extra: ` transform="rotate(-90 18 ${c((top + bottom) / 2)})"` }));
  out.push(text((left + right) / 2, bottom + 40, 'concurrency (connections of the load generator)', { anchor: 'middle' }));

  levels.forEach((level, g) => {
    const gx = left + g * groupW + (groupW - barW * series.length) / 2;
    out.push(text(left + g * groupW + groupW / 2, bottom + 18, `c=${level}`, { anchor: 'middle' }));
    series.forEach((s, k) => {
      const m = picked.find((p) => concurrencyOf(p) === level && seriesOf(p) === s);
      if (!m) return;
      const colour = colours.get(s)!;
      const bx = gx + k * barW;
      out.push(`<g class="series" data-runtime="${esc(m.runtime)}">`);
      out.push(`<rect class="bar" x="${c(bx + 2)}" y="${c(y(m.p50))}" width="${c(barW - 4)}" height="${c(bottom - y(m.p50))}" fill="${colour}" fill-opacity="${opacity(s)}"><title>${esc(`${s} c=${level}: p50 ${formatNumber(m.p50)} ${unit}, n=${m.n}`)}</title></rect>`);
      m.samples.forEach((v, i) => {
        out.push(`<circle class="sample" cx="${c(bx + barW / 2 + jitter(i) * (barW - 16))}" cy="${c(y(v))}" r="2" fill="${colour}" stroke="#ffffff" stroke-width="0.6"/>`);
      });
      out.push(text(bx + barW / 2, y(Math.max(m.p50, ...m.samples)) - 6, `${formatNumber(m.p50)}${m.noisy ? '*' : ''}`, { cls: 'muted', anchor: 'middle', size: 10 }));
      out.push('</g>');
    });
  });
  if (picked.some((m) => m.noisy)) out.push(text(right, height - 8, '* noisy: spread (p90 − p10) / p50 over 0.5', { cls: 'muted', anchor: 'end', size: 10 }));
  out.push('</svg>', '');
  return out.join('\n');
}

// ---- memory: RSS per worker (p50) against workers deployed, a line per runtime ---------------------------------

export function memoryChart(run: RunFile): string {
  const title = 'Memory: RSS per worker vs workers deployed';
  const picked = run.measurements.filter((m) => MEMORY_SUITES.includes(m.suite) && MEMORY_METRICS.includes(m.metric) && typeof m.params?.workers === 'number');
  if (picked.length === 0) return empty(title, 'RSS-per-worker measurements with a number of workers');
  const unit = mostCommonUnit(picked);
  const points = picked.filter((m) => m.unit === unit);
  const runtimes = [...new Set(points.map((m) => m.runtime))];
  const colours = colourMap(runtimes);
  const workersOf = (m: Measurement): number => m.params!.workers as number;
  const counts = [...new Set(points.map(workersOf))].sort((a, b) => a - b);

  const key = legend(runtimes, colours);
  const left = 80;
  const right = WIDTH - 40;
  const top = key.bottom + 10;
  const bottom = top + 252;
  const height = bottom + 62;
  const ymax = Math.max(...points.map((m) => m.p50)) * 1.15;
  const ticks = niceTicks(ymax, 5);
  const domain = ticks[ticks.length - 1]!;
  const y = (v: number): number => bottom - (v / domain) * (bottom - top);
  // Worker counts span decades (100, 1,000, 5,000): a log axis then, linear when they do not.
  const lo = counts[0]!;
  const hi = counts[counts.length - 1]!;
  const log = hi / lo >= 10;
  const pad = 40;
  const x = (w: number): number => {
    if (lo === hi) return (left + right) / 2;
    const f = log ? Math.log(w / lo) / Math.log(hi / lo) : (w - lo) / (hi - lo);
    return left + pad + f * (right - left - 2 * pad);
  };

  const out = open(title, `Resident memory per idle worker in ${unit} (p50) against the number of workers deployed, per runtime.`, height);
  out.push(...key.svg);
  for (const t of ticks) {
    out.push(line(left, y(t), right, y(t), 'grid'));
    out.push(text(left - 8, y(t) + 4, tickLabel(t), { cls: 'muted', anchor: 'end', size: 11 }));
  }
  for (const w of counts) {
    out.push(line(x(w), bottom, x(w), bottom + 5, 'axis'));
    out.push(text(x(w), bottom + 18, w.toLocaleString('en-US'), { cls: 'muted', anchor: 'middle', size: 11 }));
  }
  out.push(line(left, bottom, right, bottom, 'axis'));
  out.push(text(18, (top + bottom) / 2, `RSS per worker (${unit}), lower is better`, { anchor: 'middle', extra: ` transform="rotate(-90 18 ${c((top + bottom) / 2)})"` }));
  out.push(text((left + right) / 2, bottom + 40, `workers deployed${log ? ' (log scale)' : ''}`, { anchor: 'middle' }));

  for (const runtime of runtimes) {
    const colour = colours.get(runtime)!;
    const own = points.filter((m) => m.runtime === runtime).sort((a, b) => workersOf(a) - workersOf(b));
    out.push(`<g class="series" data-runtime="${esc(runtime)}">`);
    if (own.length > 1) out.push(`<polyline points="${own.map((m) => `${c(x(workersOf(m)))},${c(y(m.p50))}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const m of own) {
      out.push(`<circle class="point" cx="${c(x(workersOf(m)))}" cy="${c(y(m.p50))}" r="4" fill="${colour}"><title>${esc(`${runtime}, ${workersOf(m)} workers: ${formatNumber(m.p50)} ${unit}`)}</title></circle>`);
      out.push(text(x(workersOf(m)) + 7, y(m.p50) - 7, `${formatNumber(m.p50)}${m.noisy ? '*' : ''}`, { cls: 'muted', size: 10 }));
    }
    out.push('</g>');
  }
  out.push('</svg>', '');
  return out.join('\n');
}

/** Writes cold-start.svg, throughput.svg and memory.svg into `dir` (created if missing); returns name → file name. */
export async function writeCharts(run: RunFile, dir: string): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  const charts: Record<string, string> = {};
  for (const [name, svg] of [
    ['cold-start', coldStartChart(run)],
    ['throughput', throughputChart(run)],
    ['memory', memoryChart(run)],
  ] as const) {
    const file = `${name}.svg`;
    await writeFile(join(dir, file), svg);
    charts[name] = file;
  }
  return charts;
}
