import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPreludeIsolate, type PreludeIsolate } from '../helpers/prelude-isolate.ts';

let pi: PreludeIsolate;
beforeAll(async () => {
  pi = await createPreludeIsolate();
});
afterAll(() => pi.dispose());
beforeEach(() => {
  pi.logs.length = 0;
});

async function logOf(expr: string): Promise<string> {
  pi.logs.length = 0;
  await pi.run(expr);
  return pi.logs.map((l) => l.text).join('\n');
}

describe('console', () => {
  it('sends each method at its level', async () => {
    await pi.run(`console.log('l'); console.info('i'); console.warn('w'); console.error('e'); console.debug('d');`);
    expect(pi.logs).toEqual([
      { level: 'log', text: 'l' },
      { level: 'info', text: 'i' },
      { level: 'warn', text: 'w' },
      { level: 'error', text: 'e' },
      { level: 'debug', text: 'd' },
    ]);
  });

  it('prints strings as-is and other values inspected, space separated', async () => {
    expect(await logOf(`console.log('a', 1, -0, 2n, true, null, undefined, Symbol('s'), 'b')`)).toBe('a 1 -0 2n true null undefined Symbol(s) b');
  });

  it('applies printf-style substitutions to a leading string', async () => {
    expect(await logOf(`console.log('%s is %d years, %i%% sure, pi=%f, %j %o %O %c|%x', 'Bob', 42.5, 99.9, '3.14', { a: 1 }, 'q', [1], 'color: red', 'rest')`)).toBe(
      "Bob is 42.5 years, 99% sure, pi=3.14, {\"a\":1} 'q' [ 1 ] |%x rest",
    );
    expect(await logOf(`console.log('%s and %s', 'only one')`)).toBe('only one and %s');
    expect(await logOf(`console.log('%s', { a: { b: 1 } })`)).toBe('{ a: [Object] }');
    expect(await logOf(`const o = {}; o.o = o; console.log('%j', o)`)).toBe('[Circular]');
  });

  it('inspects objects compactly with quotes, nesting limit and cycles', async () => {
    expect(await logOf(`const o = { a: 1, 'b-c': 'str', nested: { d: { e: { f: 1 } } }, arr: [1, 'two', [3, [4, [5]]]] }; o.self = o; console.log(o)`)).toBe(
      "{ a: 1, 'b-c': 'str', nested: { d: { e: [Object] } }, arr: [ 1, 'two', [ 3, [Array] ] ], self: [Circular] }",
    );
  });

  it('formats built-in types', async () => {
    const text = await logOf(`
      class Point { constructor() { this.x = 1; } }
      console.log([
        new Map([['k', { v: 1 }]]), new Set([1, 'a']), new Uint8Array([1, 2]), new ArrayBuffer(2), new Date(0), /re/g,
        function named() {}, () => {}, class K {}, async function af() {}, new Point(), Object.create(null), [1, , 3],
        new Number(3), new String('s'), Promise.resolve(), new WeakMap(), { get g() { throw new Error('nope'); } }, { [Symbol('k')]: 1 },
      ]);
    `);
    expect(text).toBe(
      "[ Map(1) { 'k' => { v: 1 } }, Set(2) { 1, 'a' }, Uint8Array(2) [ 1, 2 ], ArrayBuffer { [Uint8Contents]: <00 00>, byteLength: 2 }, " +
        '1970-01-01T00:00:00.000Z, /re/g, [Function: named], [Function (anonymous)], [class K], [AsyncFunction: af], Point { x: 1 }, ' +
        "[Object: null prototype] {}, [ 1, <1 empty item>, 3 ], [Number: 3], [String: 's'], Promise { <unknown> }, WeakMap { <items unknown> }, " +
        '{ g: [Getter] }, { [Symbol(k)]: 1 } ]',
    );
  });

  it('prints errors with their stack and extra properties', async () => {
    const text = await logOf(`const e = new RangeError('bad'); e.code = 'E_X'; console.error('failed:', e)`);
    expect(text).toMatch(/^failed: RangeError: bad\n\s+at .*\{ code: 'E_X' \}$/s);
  });

  it('prints Web API objects usefully', async () => {
    expect(await logOf(`console.log(new Headers({ A: '1' }), new URL('https://e.com/p'), new URLSearchParams('a=1'))`)).toBe(
      "Headers { 'a': '1' } URL { href: 'https://e.com/p' } URLSearchParams { 'a' => '1' }",
    );
    expect(await logOf(`console.log(new Response('x', { status: 201 }))`)).toBe(
      "Response { status: 201, statusText: '', headers: Headers { 'content-type': 'text/plain;charset=UTF-8' }, bodyUsed: false }",
    );
  });

  it('never throws, even on throwing Proxies and toString', async () => {
    const text = await logOf(`
      const p = new Proxy({}, { ownKeys() { throw new Error('trap'); }, get() { throw new Error('trap'); }, getPrototypeOf() { throw new Error('trap'); } });
      const bad = { toString() { throw new Error('x'); }, [Symbol.toPrimitive]() { throw new Error('y'); } };
      console.log(p);
      console.log('%s %d', bad, bad);
      console.log(bad);
      return 'survived';
    `);
    expect(text.split('\n')).toHaveLength(3);
    expect(await pi.run(`return 'still fine'`)).toBe('still fine');
  });

  it('caps output per call and items per collection', async () => {
    const long = await logOf(`console.log('x'.repeat(100000))`);
    expect(long.length).toBeLessThan(17 * 1024);
    expect(long.endsWith('… [truncated]')).toBe(true);
    const arr = await logOf(`console.log(Array.from({ length: 250 }, (_, i) => i))`);
    expect(arr.endsWith('99, ... 150 more items ]')).toBe(true);
    const huge = await logOf(`console.log(Array.from({ length: 100 }, () => ({ s: 'y'.repeat(900) })))`);
    expect(huge.length).toBeLessThan(17 * 1024);
  });

  it('has assert, count, time, group, trace, dir and table', async () => {
    const text = await logOf(`
      console.assert(true, 'not shown');
      console.assert(false, 'shown %s', 'here');
      console.count(); console.count(); console.count('x'); console.countReset(); console.count();
      console.time('t'); console.timeEnd('t'); console.timeEnd('missing');
      console.group('G'); console.log('inside'); console.groupEnd(); console.log('outside');
      console.dir({ a: 'b' });
      console.table([{ a: 1, b: 'x' }, { a: 2 }]);
    `);
    expect(text.split('\n').slice(0, 11)).toEqual([
      'Assertion failed: shown here',
      'default: 1',
      'default: 2',
      'x: 1',
      'default: 1',
      expect.stringMatching(/^t: \d+ms$/),
      "No such label 'missing' for console.timeEnd()",
      'G',
      '  inside',
      'outside',
      "{ a: 'b' }",
    ]);
    expect(text).toContain("│ (index) │ a │ b   │");
    expect(text).toContain("│ 0       │ 1 │ 'x' │");
    pi.logs.length = 0;
    await pi.run(`function where() { console.trace('here'); } where();`);
    expect(pi.logs[0]!.text).toMatch(/^Trace: here\n\s+at where/);
  });

  it('methods work detached from console', async () => {
    expect(await logOf(`const { log } = console; log('detached')`)).toBe('detached');
  });
});

describe('queueMicrotask', () => {
  it('runs callbacks in order before the next task and reports thrown errors', async () => {
    expect(
      await pi.run(`
        const order = [];
        queueMicrotask(() => order.push(1));
        queueMicrotask(() => { throw new Error('in microtask'); });
        queueMicrotask(() => order.push(2));
        order.push(0);
        await Promise.resolve();
        await Promise.resolve();
        let err = null;
        try { queueMicrotask('nope'); } catch (e) { err = e.constructor.name; }
        return [order, err];
      `),
    ).toEqual([[0, 1, 2], 'TypeError']);
    expect(pi.logs).toEqual([{ level: 'error', text: expect.stringMatching(/^Uncaught Error: in microtask\n/) }]);
  });
});
