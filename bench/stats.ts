// Summary statistics for benchmark samples (nearest-rank percentiles, the mean), interleaved runs so that drift on
// a shared machine hits every side alike, and ratios between two runtimes' measurements.
import type { Measurement } from './schema.ts';

export interface Summary {
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
  n: number;
}

/**
 * The nearest-rank percentile (the smallest sample with at least p% of samples at or below it), so that
 * every reported figure is a value that was really measured, never an interpolation between two.
 * `sorted` must be ascending.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no samples');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is not within 0..100`);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function mean(samples: readonly number[]): number {
  if (samples.length === 0) throw new RangeError('mean of no samples');
  let sum = 0;
  for (const s of samples) sum += s;
  return sum / samples.length;
}

export function summarize(samples: readonly number[]): Summary {
  for (const s of samples) if (!Number.isFinite(s)) throw new RangeError(`sample ${s} is not a finite number`);
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    mean: mean(sorted),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    n: sorted.length,
  };
}

/**
 * Runs `a` and `b` alternately, `rounds` times each, one at a time: round 0 is A B, round 1 is B A, round 2 A B, ...
 * so that drift on a shared machine (load from other work, thermal, GC of the bench itself) hits both sides, and
 * neither always runs first (right after the other side's allocations, or on a cache the other one warmed).
 */
export async function interleave<A, B>(rounds: number, a: () => Promise<A>, b: () => Promise<B>): Promise<{ a: A[]; b: B[] }> {
  const out = { a: [] as A[], b: [] as B[] };
  await interleaveAll(rounds, [async () => out.a.push(await a()), async () => out.b.push(await b())]);
  return out;
}

/**
 * Round-robin over any number of runners, `rounds` times each, one call at a time; round r starts with runner
 * r mod k and goes on in order (rotating start), so each runner goes first equally often when rounds is a multiple
 * of k. Returns each runner's results in the order taken: result[i] are runner i's. A runner that throws stops it all.
 */
export async function interleaveAll<T>(rounds: number, runners: Array<() => Promise<T>>): Promise<T[][]> {
  if (!Number.isInteger(rounds) || rounds < 0) throw new RangeError(`interleave: rounds must be a whole number ≥ 0 (got ${rounds})`);
  const k = runners.length;
  const results: T[][] = runners.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < k; j++) {
      const i = (r + j) % k;
      results[i]!.push(await runners[i]!());
    }
  }
  return results;
}

/**
 * ours.p50 / theirs.p50, and whether either side is noisy (then the ratio is shown with a warning, not dropped).
 * No judgement of better or worse: for a latency below 1 is faster, for requests/s above 1 is faster.
 */
export function ratio(ours: Measurement, theirs: Measurement): { value: number; noisy: boolean } {
  if (ours.unit !== theirs.unit) throw new RangeError(`ratio: units differ (${ours.runtime} ${ours.metric} in ${ours.unit}, ${theirs.runtime} ${theirs.metric} in ${theirs.unit})`);
  if (theirs.p50 === 0) throw new RangeError(`ratio: ${theirs.runtime} ${theirs.metric} has p50 0, nothing to divide by`);
  return { value: ours.p50 / theirs.p50, noisy: ours.noisy || theirs.noisy };
}
