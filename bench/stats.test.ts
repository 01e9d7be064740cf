import { describe, expect, it } from 'vitest';
import { mean, percentile, summarize } from './stats.ts';

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
