import { describe, expect, it } from 'vitest';
import { exactBytes } from './exact-bytes.ts';

describe('exactBytes', () => {
  it('gives a view of a larger buffer a buffer of its own, keeping its type and bytes', () => {
    const pool = Buffer.allocUnsafe(4096).fill(9);
    const view = pool.subarray(100, 103);
    view.set([1, 2, 3]);
    const out = exactBytes(view);
    expect(out).not.toBe(view);
    expect(out).toBeInstanceOf(Uint8Array);
    expect(out.buffer.byteLength).toBe(3);
    expect([...out]).toEqual([1, 2, 3]);
    const words = new Uint16Array(new ArrayBuffer(64), 8, 2);
    words.set([513, 1027]);
    const w = exactBytes(words);
    expect(w).toBeInstanceOf(Uint16Array);
    expect([w.buffer.byteLength, ...w]).toEqual([4, 513, 1027]);
    const dv = exactBytes(new DataView(new ArrayBuffer(16), 4, 8));
    expect(dv).toBeInstanceOf(DataView);
    expect(dv.buffer.byteLength).toBe(8);
  });

  it('leaves values without such views as they are, the very objects', () => {
    const whole = new Uint8Array([1, 2, 3]);
    const reply = { v: { body: whole, size: 3, tags: ['a', 'b'], nested: [[1, 2], { x: null }] } };
    expect(exactBytes(reply)).toBe(reply);
    expect(exactBytes(whole)).toBe(whole);
    for (const p of [null, undefined, 0, 'text', 10n, true]) expect(exactBytes(p)).toBe(p);
    // Not plain data (a class instance, a compiled module): passed on untouched.
    class Thing {
      bytes = Buffer.from('x').subarray(0, 1);
    }
    const thing = new Thing();
    expect(exactBytes(thing)).toBe(thing);
  });

  it('copies only the containers on the way to a view it replaced, never changing the caller\'s', () => {
    const pool = Buffer.from('secret-of-another-request:0123456789');
    const view = pool.subarray(pool.indexOf(':') + 1);
    const shared = { keep: 'me' };
    const reply = { v: { rows: [[1, view], [2, null]], meta: shared }, e: undefined };
    const out = exactBytes(reply);
    expect(out).not.toBe(reply);
    expect(out.v.rows[1]).toBe(reply.v.rows[1]);
    expect(out.v.meta).toBe(shared);
    const bytes = out.v.rows[0]![1] as Uint8Array;
    expect(Buffer.from(bytes).toString()).toBe('0123456789');
    expect(bytes.buffer.byteLength).toBe(10);
    // The caller's reply still holds its own view.
    expect(reply.v.rows[0]![1]).toBe(view);
  });
});
