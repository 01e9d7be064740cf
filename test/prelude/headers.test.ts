import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPreludeIsolate, type PreludeIsolate } from '../helpers/prelude-isolate.ts';

let pi: PreludeIsolate;
beforeAll(async () => {
  pi = await createPreludeIsolate();
});
afterAll(() => pi.dispose());

describe('Headers', () => {
  it('is case-insensitive and combines appended values with ", "', async () => {
    expect(
      await pi.run(`
        const h = new Headers({ 'Content-Type': 'text/html' });
        h.append('X-Multi', 'a');
        h.append('x-multi', 'b');
        return [h.get('content-type'), h.get('CONTENT-TYPE'), h.has('Content-type'), h.get('X-MULTI'), h.get('missing')];
      `),
    ).toEqual(['text/html', 'text/html', true, 'a, b', null]);
  });

  it('iterates lowercase names in sorted order, set replaces and delete removes', async () => {
    expect(
      await pi.run(`
        const h = new Headers([['B', '2'], ['a', '1'], ['C', '3']]);
        h.set('b', 'two');
        h.delete('C');
        const seen = [];
        h.forEach((v, k, self) => seen.push([k, v, self === h]));
        return { entries: [...h], keys: [...h.keys()], values: [...h.values()], seen };
      `),
    ).toEqual({
      entries: [['a', '1'], ['b', 'two']],
      keys: ['a', 'b'],
      values: ['1', 'two'],
      seen: [['a', '1', true], ['b', 'two', true]],
    });
  });

  it('keeps Set-Cookie values separate for getSetCookie and iteration', async () => {
    expect(
      await pi.run(`
        const h = new Headers();
        h.append('Set-Cookie', 'a=1; Path=/');
        h.append('set-cookie', 'b=2, with comma');
        h.append('x', 'y');
        const before = { get: h.get('set-cookie'), all: h.getSetCookie(), entries: [...h] };
        h.set('set-cookie', 'c=3');
        const afterSet = h.getSetCookie();
        h.delete('Set-Cookie');
        return { before, afterSet, afterDelete: h.getSetCookie(), copied: new Headers(before.entries).getSetCookie() };
      `),
    ).toEqual({
      before: {
        get: 'a=1; Path=/, b=2, with comma',
        all: ['a=1; Path=/', 'b=2, with comma'],
        entries: [['set-cookie', 'a=1; Path=/'], ['set-cookie', 'b=2, with comma'], ['x', 'y']],
      },
      afterSet: ['c=3'],
      afterDelete: [],
      copied: ['a=1; Path=/', 'b=2, with comma'],
    });
  });

  it('constructs from another Headers without sharing state', async () => {
    expect(
      await pi.run(`
        const a = new Headers({ x: '1' });
        a.append('set-cookie', 'k=v');
        const b = new Headers(a);
        b.set('x', '2');
        b.append('set-cookie', 'k2=v2');
        return [a.get('x'), b.get('x'), a.getSetCookie(), b.getSetCookie()];
      `),
    ).toEqual(['1', '2', ['k=v'], ['k=v', 'k2=v2']]);
  });

  it('trims leading and trailing whitespace from values', async () => {
    expect(await pi.run(`return new Headers({ a: ' \\t x y \\t ' }).get('a')`)).toBe('x y');
  });

  it('rejects invalid names and values with a TypeError naming the header', async () => {
    expect(
      await pi.run(`
        const errors = [];
        for (const [n, v] of [['bad name', 'x'], ['', 'x'], ['é', 'x'], ['x-ok', 'a\\r\\nInjected: 1'], ['x-nul', 'a\\0b'], ['x-wide', '\\u20ac']]) {
          try { new Headers([[n, v]]); errors.push('no error'); } catch (e) { errors.push(e.constructor.name + ': ' + e.message); }
        }
        return errors;
      `),
    ).toEqual([
      'TypeError: Invalid header name: "bad name"',
      'TypeError: Invalid header name: ""',
      'TypeError: Invalid header name: "é"',
      expect.stringMatching(/^TypeError: Invalid header value for "x-ok"/),
      expect.stringMatching(/^TypeError: Invalid header value for "x-nul"/),
      expect.stringMatching(/^TypeError: Invalid header value for "x-wide"/),
    ]);
  });

  it('rejects malformed init values', async () => {
    expect(
      await pi.run(`
        const errors = [];
        for (const init of [[['a']], [['a', 'b', 'c']], 'str', 42]) {
          try { new Headers(init); errors.push('no error'); } catch (e) { errors.push(e.constructor.name); }
        }
        try { new Headers().append('a'); } catch (e) { errors.push(e.constructor.name); }
        return errors;
      `),
    ).toEqual(['TypeError', 'TypeError', 'TypeError', 'TypeError', 'TypeError']);
  });

  it('an incoming request has immutable headers', async () => {
    expect(
      await pi.run(`
        const req = new Request('https://example.com/');
        const h = new Headers({ a: '1' });
        const results = [];
        // Response.error() has immutable headers, the public way to reach the guard.
        const eh = Response.error().headers;
        for (const op of [() => eh.set('a', 'b'), () => eh.append('a', 'b'), () => eh.delete('a')]) {
          try { op(); results.push('mutated'); } catch (e) { results.push(e.constructor.name + ': ' + e.message); }
        }
        h.set('a', '2');
        return [results, h.get('a'), eh.get('a'), [...eh]];
      `),
    ).toEqual([
      ["TypeError: Can't modify immutable headers.", "TypeError: Can't modify immutable headers.", "TypeError: Can't modify immutable headers."],
      '2',
      null,
      [],
    ]);
  });

  it('has the Web IDL shape of a browser global', async () => {
    expect(
      await pi.run(`
        const d = Object.getOwnPropertyDescriptor(globalThis, 'Headers');
        return [d.writable, d.configurable, d.enumerable, Object.prototype.toString.call(new Headers()), typeof new Headers()[Symbol.iterator]];
      `),
    ).toEqual([true, true, false, '[object Headers]', 'function']);
  });
});
