import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NOISY_SPREAD, measure, spreadOf, validateRunFile, type RunFile } from './schema.ts';

const meta = { suite: 'cold-start', runtime: 'edge-js', workload: 'hello world', metric: 'cold_start_ms', unit: 'ms' };
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8'));

describe('measure', () => {
  it('one sample: every percentile is that sample, no spread, not noisy', () => {
    expect(measure(meta, [7])).toEqual({ ...meta, p50: 7, p90: 7, p99: 7, mean: 7, n: 1, samples: [7], noisy: false, spread: 0 });
  });

  it('an even count takes the lower middle as p50 (nearest rank, never an interpolation)', () => {
    const m = measure(meta, [4, 1, 3, 2]);
    expect([m.p50, m.p90, m.p99, m.mean, m.n]).toEqual([2, 4, 4, 2.5, 4]);
    expect(m.samples).toEqual([4, 1, 3, 2]); // kept in the order taken
  });

  it('keeps note and params, and copies the samples', () => {
    const samples = [1, 2];
    const m = measure({ ...meta, note: 'why', params: { concurrency: 10, tool: 'wrk' } }, samples);
    samples.push(3);
    expect(m.samples).toEqual([1, 2]);
    expect(m.note).toBe('why');
    expect(m.params).toEqual({ concurrency: 10, tool: 'wrk' });
  });

  it('refuses no samples and non-finite ones, naming the measurement', () => {
    expect(() => measure(meta, [])).toThrow(/cold-start\/edge-js\/cold_start_ms: no samples/);
    expect(() => measure(meta, [1, Number.POSITIVE_INFINITY])).toThrow(/sample 1 is Infinity/);
  });
});

describe('spread and noisy', () => {
  it('spread is (p90 − p10) / p50 of the samples', () => {
    // sorted 1..10: p10 = 1, p50 = 5, p90 = 9
    expect(spreadOf([10, 9, 8, 7, 6, 5, 4, 3, 2, 1])).toBeCloseTo(8 / 5, 12);
    expect(spreadOf([100, 101, 102, 103, 104, 105, 106, 107, 108, 109])).toBeCloseTo(8 / 104, 12);
  });

  it('a tight series is not noisy, a wide one is', () => {
    expect(measure(meta, [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]).noisy).toBe(false);
    const wide = measure(meta, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(wide.spread).toBeGreaterThan(NOISY_SPREAD);
    expect(wide.noisy).toBe(true);
  });

  it('exactly at the threshold is not noisy', () => {
    // p10 = 8, p50 = 10, p90 = 13: (13 − 8) / 10 = 0.5
    const m = measure(meta, [8, 9, 9, 9, 10, 10, 10, 10, 13, 20]);
    expect(m.spread).toBe(0.5);
    expect(m.noisy).toBe(false);
  });

  it('one outlier in a hundred does not make a series noisy', () => {
    const m = measure(meta, [...Array.from({ length: 99 }, (_, i) => 2 + (i % 5) * 0.01), 500]);
    expect(m.noisy).toBe(false);
    expect(m.p99).toBeLessThan(3);
  });

  it('fewer than two samples, or all equal: spread 0', () => {
    expect(spreadOf([])).toBe(0);
    expect(spreadOf([3])).toBe(0);
    expect(spreadOf([3, 3, 3])).toBe(0);
  });

  it('a median of 0 (a latency rounded to whole ms) measures the width against the mean: finite, flagged', () => {
    const m = measure(meta, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    expect(m.spread).toBeCloseTo(1 / 0.4, 12);
    expect(m.noisy).toBe(true);
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });
});

describe('validateRunFile', () => {
  const good = (): RunFile => ({
    version: 1,
    startedAt: '2026-11-27T10:00:00.000Z',
    finishedAt: '2026-11-27T10:01:00.000Z',
    machine: { cores: 2 },
    settings: { quick: true },
    measurements: [measure(meta, [1, 2, 3]), measure({ ...meta, runtime: 'workerd', params: { workers: 100 } }, [4])],
    targets: [{ target: 'p50 < 2 ms', measured: '2 ms', pass: false }, { target: 'shown', measured: '1', pass: null, note: 'n' }],
    notes: ['a note'],
  });
  const broken = (edit: (r: Record<string, any>) => void): unknown => {
    const r = JSON.parse(JSON.stringify(good())) as Record<string, any>;
    edit(r);
    return r;
  };

  it('accepts a good run (after a JSON round trip) and both committed fixtures', () => {
    const run = JSON.parse(JSON.stringify(good())) as unknown;
    expect(validateRunFile(run)).toBe(run);
    expect(validateRunFile(fixture('run-2026-11-27-quick.json')).measurements.length).toBeGreaterThan(50);
    expect(validateRunFile(fixture('synthetic-run.json')).settings.synthetic).toBe(true);
  });

  it.each([
    ['not an object', () => [good()], /RunFile: expected an object, got an array/],
    ['wrong version', (r: Record<string, any>) => void (r.version = 2), /RunFile\.version: expected 1, got 2/],
    ['bad date', (r: Record<string, any>) => void (r.startedAt = 'yesterday'), /RunFile\.startedAt: expected an ISO 8601 date, got "yesterday"/],
    ['machine missing', (r: Record<string, any>) => void delete r.machine, /RunFile\.machine: expected an object, got nothing/],
    ['p50 a string', (r: Record<string, any>) => void (r.measurements[1].p50 = '4'), /RunFile\.measurements\[1\]\.p50: expected a finite number, got "4"/],
    ['n zero', (r: Record<string, any>) => void (r.measurements[0].n = 0), /measurements\[0\]\.n: expected a whole number ≥ 1, got 0/],
    ['samples short', (r: Record<string, any>) => void r.measurements[0].samples.pop(), /measurements\[0\]\.samples: expected 3 samples \(n\) or none, got 2$/],
    ['a sample null', (r: Record<string, any>) => void (r.measurements[0].samples[2] = null), /measurements\[0\]\.samples\[2\]: expected a finite number, got null/],
    ['noisy missing', (r: Record<string, any>) => void delete r.measurements[0].noisy, /measurements\[0\]\.noisy: expected a boolean, got nothing/],
    ['spread negative', (r: Record<string, any>) => void (r.measurements[0].spread = -1), /measurements\[0\]\.spread: expected a number ≥ 0, got -1/],
    ['percentiles out of order', (r: Record<string, any>) => void (r.measurements[0].p90 = 0), /measurements\[0\]\.p90: expected p50 ≤ p90 ≤ p99/],
    ['params of an object', (r: Record<string, any>) => void (r.measurements[1].params.workers = { n: 1 }), /measurements\[1\]\.params\.workers: expected a number or a string, got an object/],
    ['pass a string', (r: Record<string, any>) => void (r.targets[0].pass = 'yes'), /RunFile\.targets\[0\]\.pass: expected true, false or null, got "yes"/],
    ['note a number', (r: Record<string, any>) => void (r.notes[0] = 3), /RunFile\.notes\[0\]: expected a string, got 3/],
  ])('names the first bad field: %s', (_, edit, message) => {
    const value = edit.length === 0 ? (edit as () => unknown)() : broken(edit as (r: Record<string, any>) => void);
    expect(() => validateRunFile(value)).toThrow(message);
  });
});
