import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPreludeIsolate, type PreludeIsolate } from '../helpers/prelude-isolate.ts';

let pi: PreludeIsolate;
beforeAll(async () => {
  pi = await createPreludeIsolate();
});
afterAll(() => pi.dispose());

describe('crypto', () => {
  it('getRandomValues fills integer typed arrays in place and returns them', async () => {
    expect(
      await pi.run(`
        const out = [];
        for (const T of [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array]) {
          const a = new T(64);
          out.push(crypto.getRandomValues(a) === a && a.some((x) => x != 0));
        }
        const view = new Uint8Array(new ArrayBuffer(16), 4, 8);
        crypto.getRandomValues(view);
        const whole = new Uint8Array(view.buffer);
        out.push(whole.slice(0, 4).every((x) => x === 0) && whole.slice(12).every((x) => x === 0));
        out.push(crypto.getRandomValues(new Uint8Array(0)).length, crypto.getRandomValues(new Uint8Array(65536)).length);
        return out;
      `),
    ).toEqual([true, true, true, true, true, true, true, true, true, true, 0, 65536]);
  });

  it('rejects float arrays (TypeMismatchError), > 65536 bytes (QuotaExceededError) and non-views (TypeError)', async () => {
    expect(
      await pi.run(`
        const out = [];
        for (const arg of [new Float32Array(4), new Float64Array(4), new DataView(new ArrayBuffer(4)), new Uint8Array(65537), new Uint32Array(16385), [1, 2], new ArrayBuffer(4)]) {
          try { crypto.getRandomValues(arg); out.push('ok'); } catch (e) { out.push(e instanceof DOMException ? e.name + ':' + e.code : e.constructor.name); }
        }
        return out;
      `),
    ).toEqual(['TypeMismatchError:17', 'TypeMismatchError:17', 'TypeMismatchError:17', 'QuotaExceededError:22', 'QuotaExceededError:22', 'TypeError', 'TypeError']);
  });

  it('randomUUID returns distinct version 4 UUIDs', async () => {
    const ids = await pi.run<string[]>(`return Array.from({ length: 100 }, () => crypto.randomUUID())`);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(100);
  });

  it('is a Crypto whose subtle is the one SubtleCrypto (its operations are tested through a host in test/webcrypto.test.ts)', async () => {
    expect(
      await pi.run(`return [crypto.subtle instanceof SubtleCrypto, crypto.subtle === crypto.subtle, Object.prototype.toString.call(crypto), crypto instanceof Crypto, typeof crypto.subtle.timingSafeEqual]`),
    ).toEqual([true, true, '[object Crypto]', true, 'function']);
  });
});
