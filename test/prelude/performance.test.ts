// performance and navigator, as Workers has them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPreludeIsolate, type PreludeIsolate } from '../helpers/prelude-isolate.ts';

let pi: PreludeIsolate;
beforeAll(async () => {
  pi = await createPreludeIsolate();
});
afterAll(() => pi.dispose());

describe('performance', () => {
  it('timeOrigin is 0 and now() is the wall clock in milliseconds, not going backwards', async () => {
    const [origin, now, later, json, tag, illegal] = await pi.run<[number, number, number, unknown, string, string]>(`
      const a = performance.now();
      const b = performance.now();
      let illegal;
      try { new Performance(); } catch (e) { illegal = e.constructor.name; }
      return [performance.timeOrigin, a, b, performance.toJSON(), String(performance), illegal];
    `);
    expect(origin).toBe(0);
    expect(Math.abs(now - Date.now())).toBeLessThan(5000);
    expect(later).toBeGreaterThanOrEqual(now);
    expect(json).toEqual({ timeOrigin: 0 });
    expect(tag).toBe('[object Performance]');
    expect(illegal).toBe('TypeError');
  });
});

describe('navigator', () => {
  it('says Cloudflare-Workers, the value libraries sniff for Workers', async () => {
    expect(await pi.run(`return [navigator.userAgent, navigator.hardwareConcurrency, String(navigator), Object.keys(globalThis).includes('navigator')]`)).toEqual([
      'Cloudflare-Workers',
      1,
      '[object Navigator]',
      false,
    ]);
  });
});

describe('lazy globals', () => {
  it('event, abort and compression classes are globals that load on first access and can be replaced', async () => {
    expect(
      await pi.run(`
        const names = ['EventTarget', 'Event', 'CustomEvent', 'AbortController', 'AbortSignal', 'CompressionStream', 'DecompressionStream', 'Blob', 'File', 'FormData'];
        const types = names.map((n) => typeof globalThis[n]);
        const d = Object.getOwnPropertyDescriptor(globalThis, 'AbortController');
        globalThis.CompressionStream = 1;
        return [types, 'value' in d, d.enumerable, globalThis.CompressionStream];
      `),
    ).toEqual([Array(10).fill('function'), true, false, 1]);
  });
});
