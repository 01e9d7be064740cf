// The bench's JSON file (one RunFile per run): the machine, the settings, one Measurement per figure with every
// sample kept, the targets with PASS/MISS and the notes. Scripts compare runs through this shape, so it is checked
// field by field when read back (validateRunFile) rather than trusted.
import { mean, percentile, summarize } from './stats.ts';

export type Runtime = 'edge-js' | 'edge-wasm' | 'workerd' | 'fastify';

export interface Measurement {
  suite: string;
  runtime: Runtime | string;
  /** What ran, in words ("examples/hello-js, autocannon c=10 d=5s"). */
  workload: string;
  /** e.g. 'cold_start_ms', 'requests_per_s', 'rss_per_worker_mb'. */
  metric: string;
  unit: string;
  /** Nearest-rank percentiles of `samples` (see stats.ts percentile): always a value that was really measured. */
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  /** How many samples were taken. */
  n: number;
  /** Every sample, in the order taken; empty only when the producer kept none (then `n` still counts them). */
  samples: number[];
  /** spread > NOISY_SPREAD. */
  noisy: boolean;
  /** (p90 − p10) / p50 of the samples: see `spreadOf`. 0 for a single sample or when no samples were kept. */
  spread: number;
  note?: string;
  /**
   * The numbers a measurement was taken at, and what makes two runtimes' measurements comparable:
   * `concurrency` (connections of the load generator), `workers` (workers deployed), `tool` ('autocannon', 'wrk'),
   * `durationSec`, `phase` ('after deploy', 'after eviction', 'first request'), ... Two measurements are compared
   * (ratios in the report) when suite, metric, unit and params other than `phase` are equal; the workload text may
   * differ (it names what ran), and differing phases are named in the comparison. Without params, the workloads
   * must be equal.
   */
  params?: Record<string, number | string>;
}

export interface TargetResult {
  target: string;
  measured: string;
  /** null: shown but not judged. */
  pass: boolean | null;
  note?: string;
}

export interface RunFile {
  version: 1;
  /** ISO 8601. */
  startedAt: string;
  finishedAt: string;
  /** CPU model, cores, memory, Node and package versions, load average... */
  machine: Record<string, unknown>;
  /** Options of the run (quick, suites, sample counts, durations...). */
  settings: Record<string, unknown>;
  measurements: Measurement[];
  targets: TargetResult[];
  notes: string[];
}

/**
 * Above this spread a measurement is flagged noisy. The bench states its results as ratios between runtimes, and
 * the differences worth stating are about 1.5x or more; when the middle 80% of one side's samples spans more than
 * half its own median, a 1.5x difference is within that side's ordinary variation, so its p50 alone cannot carry
 * the comparison. For scale: in the quick runs of 2026-11-27 on this shared 2-core machine (bench/fixtures), client
 * cold starts had spreads of 0.29–0.45 and were not flagged, while two 3-second throughput runs 2x apart (spread
 * 0.98) were. Where the samples are one distribution rather than repeats (a load run's latency quantiles), the
 * spread is that distribution's width, and the flag then says "wide distribution" rather than "drifting machine".
 */
export const NOISY_SPREAD = 0.5;

/**
 * Spread: the width of the middle 80% of the samples relative to their median, (p90 − p10) / p50 (nearest-rank
 * percentiles). Unit-free, so one threshold serves milliseconds and requests/s; based on percentiles rather than
 * the standard deviation so that the single slow outlier every cold-start series has (a GC pause) does not flag a
 * run whose bulk is tight. 0 for fewer than two samples (no spread can be seen). When the median is 0 (a latency
 * rounded to whole milliseconds by the load generator) the width is taken relative to the mean, or failing that to
 * the largest |sample|, so the spread is always finite and survives JSON.
 */
export function spreadOf(samples: readonly number[]): number {
  if (samples.length < 2) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  const width = percentile(sorted, 90) - percentile(sorted, 10);
  if (width === 0) return 0;
  const scale = Math.abs(percentile(sorted, 50)) || Math.abs(mean(sorted)) || Math.max(Math.abs(sorted[0]!), Math.abs(sorted[sorted.length - 1]!));
  return width / scale;
}

export function measure(meta: { suite: string; runtime: string; workload: string; metric: string; unit: string; note?: string; params?: Record<string, number | string> }, samples: number[]): Measurement {
  const where = `${meta.suite}/${meta.runtime}/${meta.metric}`;
  if (samples.length === 0) throw new RangeError(`measure ${where}: no samples (run the measurement at least once)`);
  for (const [i, s] of samples.entries()) {
    if (!Number.isFinite(s)) throw new RangeError(`measure ${where}: sample ${i} is ${s}, not a finite number`);
  }
  const s = summarize(samples);
  const spread = spreadOf(samples);
  const m: Measurement = {
    suite: meta.suite,
    runtime: meta.runtime,
    workload: meta.workload,
    metric: meta.metric,
    unit: meta.unit,
    p50: s.p50,
    p90: s.p90,
    p99: s.p99,
    mean: s.mean,
    n: s.n,
    samples: [...samples],
    noisy: spread > NOISY_SPREAD,
    spread,
  };
  if (meta.note !== undefined) m.note = meta.note;
  if (meta.params !== undefined) m.params = { ...meta.params };
  return m;
}

// ---- validation -------------------------------------------------------------------------------------------

function fail(path: string, expected: string, got: unknown): never {
  const shown = got === undefined ? 'nothing' : typeof got === 'string' ? JSON.stringify(got) : Array.isArray(got) ? 'an array' : got === null ? 'null' : typeof got === 'object' ? 'an object' : String(got);
  throw new Error(`invalid run file: ${path}: expected ${expected}, got ${shown}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Record<string, unknown>, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string') fail(`${path}.${key}`, 'a string', v);
  return v;
}

function num(o: Record<string, unknown>, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${path}.${key}`, 'a finite number', v);
  return v;
}

function optStr(o: Record<string, unknown>, key: string, path: string): void {
  if (o[key] !== undefined && typeof o[key] !== 'string') fail(`${path}.${key}`, 'a string or no field', o[key]);
}

function isoDate(o: Record<string, unknown>, key: string, path: string): void {
  const v = str(o, key, path);
  if (Number.isNaN(Date.parse(v))) fail(`${path}.${key}`, 'an ISO 8601 date', v);
}

function validateMeasurement(v: unknown, path: string): void {
  if (!isRecord(v)) fail(path, 'an object', v);
  for (const key of ['suite', 'runtime', 'workload', 'metric', 'unit']) str(v, key, path);
  for (const key of ['p50', 'p90', 'p99', 'mean']) num(v, key, path);
  const n = num(v, 'n', path);
  if (!Number.isInteger(n) || n < 1) fail(`${path}.n`, 'a whole number ≥ 1', n);
  const samples = v.samples;
  if (!Array.isArray(samples)) fail(`${path}.samples`, 'an array of numbers', samples);
  samples.forEach((s, i) => {
    if (typeof s !== 'number' || !Number.isFinite(s)) fail(`${path}.samples[${i}]`, 'a finite number', s);
  });
  if (samples.length !== 0 && samples.length !== n) fail(`${path}.samples`, `${n} samples (n) or none`, samples.length);
  if (typeof v.noisy !== 'boolean') fail(`${path}.noisy`, 'a boolean', v.noisy);
  const spread = v.spread;
  if (typeof spread !== 'number' || !(spread >= 0)) fail(`${path}.spread`, 'a number ≥ 0', spread);
  if (!(v.p50 as number <= (v.p90 as number) && (v.p90 as number) <= (v.p99 as number))) fail(`${path}.p90`, `p50 ≤ p90 ≤ p99`, `${v.p50} / ${v.p90} / ${v.p99}`);
  optStr(v, 'note', path);
  if (v.params !== undefined) {
    if (!isRecord(v.params)) fail(`${path}.params`, 'an object of numbers and strings', v.params);
    for (const [k, p] of Object.entries(v.params)) {
      if (typeof p !== 'string' && !(typeof p === 'number' && Number.isFinite(p))) fail(`${path}.params.${k}`, 'a number or a string', p);
    }
  }
}

function validateTarget(v: unknown, path: string): void {
  if (!isRecord(v)) fail(path, 'an object', v);
  str(v, 'target', path);
  str(v, 'measured', path);
  if (v.pass !== null && typeof v.pass !== 'boolean') fail(`${path}.pass`, 'true, false or null', v.pass);
  optStr(v, 'note', path);
}

/** Checks a RunFile read from disk; throws an Error naming the first bad field (e.g. `measurements[3].p50`). */
export function validateRunFile(value: unknown): RunFile {
  const root = 'RunFile';
  if (!isRecord(value)) fail(root, 'an object', value);
  if (value.version !== 1) fail(`${root}.version`, '1', value.version);
  isoDate(value, 'startedAt', root);
  isoDate(value, 'finishedAt', root);
  if (!isRecord(value.machine)) fail(`${root}.machine`, 'an object', value.machine);
  if (!isRecord(value.settings)) fail(`${root}.settings`, 'an object', value.settings);
  if (!Array.isArray(value.measurements)) fail(`${root}.measurements`, 'an array', value.measurements);
  value.measurements.forEach((m, i) => validateMeasurement(m, `${root}.measurements[${i}]`));
  if (!Array.isArray(value.targets)) fail(`${root}.targets`, 'an array', value.targets);
  value.targets.forEach((t, i) => validateTarget(t, `${root}.targets[${i}]`));
  if (!Array.isArray(value.notes)) fail(`${root}.notes`, 'an array of strings', value.notes);
  value.notes.forEach((n, i) => {
    if (typeof n !== 'string') fail(`${root}.notes[${i}]`, 'a string', n);
  });
  return value as unknown as RunFile;
}
