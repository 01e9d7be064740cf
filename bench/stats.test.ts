import { describe, expect, it } from 'vitest';
import { measure } from './schema.ts';
import { interleave, interleaveAll, mean, percentile, ratio, summarize } from './stats.ts';

describe('percentile (nearest rank)', () => {
  const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('picks the sample at rank ceil(p·n)', () => {
    expect(percentile(oneToHundred, 50)).toBe(50);
    expect(percentile(oneToHundred, 90)).toBe(90);
    expect(percentile(oneToHundred, 99)).toBe(99);
    expect(percentile(oneToHundred, 100)).toBe(100);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 51)).toBe(3);
  });

  it('returns a measured value, not an interpolation', () => {
    expect(percentile([10, 20], 50)).toBe(10);
    expect(percentile([10, 20], 90)).toBe(20);
  });

  it('handles one sample and p = 0', () => {
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([3, 4, 5], 0)).toBe(3);
  });

  it('rejects no samples and p outside 0..100', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('sorts unsorted samples and reports p50/p90/p99, mean, min, max, n', () => {
    const samples = Array.from({ length: 200 }, (_, i) => 200 - i); // 200..1
    expect(summarize(samples)).toEqual({ p50: 100, p90: 180, p99: 198, mean: 100.5, min: 1, max: 200, n: 200 });
  });

  it('does not reorder the caller’s array', () => {
    const samples = [3, 1, 2];
    summarize(samples);
    expect(samples).toEqual([3, 1, 2]);
  });

  it('a single outlier moves the mean and p99 but not p50', () => {
    const samples = [...Array.from({ length: 99 }, () => 1), 1000];
    const s = summarize(samples);
    expect(s.p50).toBe(1);
    expect(s.p99).toBe(1);
    expect(s.max).toBe(1000);
    expect(s.mean).toBeCloseTo(10.99, 10);
  });

  it('rejects non-finite samples', () => {
    expect(() => summarize([1, Number.NaN])).toThrow(RangeError);
    expect(() => mean([])).toThrow(RangeError);
  });
});

describe('interleave', () => {
  it('alternates A and B, the starting side swapping every round', async () => {
    const calls: string[] = [];
    let na = 0;
    let nb = 0;
    const out = await interleave(
      4,
      async () => (calls.push('a'), `a${na++}`),
      async () => (calls.push('b'), nb++),
    );
    expect(calls.join('')).toBe('abbaabba');
    expect(out).toEqual({ a: ['a0', 'a1', 'a2', 'a3'], b: [0, 1, 2, 3] });
  });

  it('runs one call at a time', async () => {
    let active = 0;
    let most = 0;
    const slow = async (): Promise<number> => {
      most = Math.max(most, ++active);
      await new Promise((r) => setTimeout(r, 2));
      active--;
      return 1;
    };
    await interleave(3, slow, slow);
    expect(most).toBe(1);
  });

  it('stops at the first runner that throws', async () => {
    const calls: string[] = [];
    await expect(
      interleave(
        3,
        async () => void calls.push('a'),
        async () => {
          calls.push('b');
          throw new Error('deploy failed');
        },
      ),
    ).rejects.toThrow('deploy failed');
    expect(calls).toEqual(['a', 'b']);
  });
});

describe('interleaveAll', () => {
  it('goes round-robin, round r starting with runner r mod k, results per runner in order', async () => {
    const calls: number[] = [];
    const counters = [0, 0, 0];
    const runners = [0, 1, 2].map((i) => async () => (calls.push(i), `${i}:${counters[i]!++}`));
    const out = await interleaveAll(3, runners);
    expect(calls).toEqual([0, 1, 2, 1, 2, 0, 2, 0, 1]);
    expect(out).toEqual([
      ['0:0', '0:1', '0:2'],
      ['1:0', '1:1', '1:2'],
      ['2:0', '2:1', '2:2'],
    ]);
  });

  it('each runner goes first equally often over k rounds', async () => {
    const firsts: number[] = [];
    let inRound = 0;
    const runners = [0, 1, 2, 3].map((i) => async () => {
      if (inRound++ % 4 === 0) firsts.push(i);
    });
    await interleaveAll(8, runners);
    expect(firsts.sort()).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
  });

  it('zero rounds run nothing; a negative or fractional count is refused', async () => {
    let called = false;
    expect(await interleaveAll(0, [async () => (called = true)])).toEqual([[]]);
    expect(called).toBe(false);
    await expect(interleaveAll(-1, [])).rejects.toThrow(RangeError);
    await expect(interleaveAll(1.5, [])).rejects.toThrow(RangeError);
  });
});

describe('ratio', () => {
  const meta = { suite: 'cold-start', workload: 'hello', metric: 'cold_start_ms', unit: 'ms' };
  const tight = (runtime: string, v: number) => measure({ ...meta, runtime }, [v, v, v * 1.01, v * 0.99]);

  it('is ours.p50 / theirs.p50', () => {
    const r = ratio(tight('edge-js', 2), tight('workerd', 5));
    expect(r.value).toBeCloseTo(0.4, 10);
    expect(r.noisy).toBe(false);
  });

  it('is noisy when either side is', () => {
    const noisy = measure({ ...meta, runtime: 'workerd' }, [1, 5, 9, 2, 8]);
    expect(noisy.noisy).toBe(true);
    expect(ratio(tight('edge-js', 2), noisy).noisy).toBe(true);
    expect(ratio(noisy, tight('edge-js', 2)).noisy).toBe(true);
  });

  it('refuses different units and a zero denominator', () => {
    const us = measure({ ...meta, unit: 'µs', runtime: 'workerd' }, [3]);
    expect(() => ratio(tight('edge-js', 2), us)).toThrow(/units differ/);
    expect(() => ratio(tight('edge-js', 2), measure({ ...meta, runtime: 'workerd' }, [0]))).toThrow(/p50 0/);
  });
});
