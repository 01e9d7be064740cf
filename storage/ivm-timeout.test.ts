import { afterEach, describe, expect, it, vi } from 'vitest';
import { sharedDeadlineMs } from './ivm-timeout.ts';

describe('timeouts rounded to shared deadlines', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const at = (now: number, ms: number): number => {
    vi.spyOn(performance, 'now').mockReturnValue(now);
    return sharedDeadlineMs(ms);
  };

  it('gives a call at least the time it asked for, and at most one step and a millisecond more', () => {
    for (const now of [0, 0.4, 3.7, 9.99, 10, 12345.678]) {
      for (const ms of [1, 20, 120, 1000]) {
        const t = at(now, ms);
        expect(Number.isInteger(t)).toBe(true);
        expect(t).toBeGreaterThanOrEqual(ms);
        expect(t).toBeLessThanOrEqual(ms + 11);
      }
    }
  });

  it('ends the timeouts of calls made within one step within a millisecond of each other', () => {
    // Calls 0.1 ms apart over 9 ms, each allowed 120 ms: their deadlines (now + timeout) are all in [130, 131).
    const deadlines: number[] = [];
    for (let now = 1.05; now < 10; now += 0.1) deadlines.push(now + at(now, 120));
    expect(Math.min(...deadlines)).toBeGreaterThanOrEqual(130);
    expect(Math.max(...deadlines)).toBeLessThan(131);
    // Unrounded, they would have spread over the 9 ms the calls took.
    expect(new Set(deadlines.map((d) => Math.floor(d))).size).toBe(1);
  });
});
