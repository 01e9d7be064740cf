import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPreludeIsolate, type PreludeIsolate } from '../helpers/prelude-isolate.ts';

let pi: PreludeIsolate;
beforeAll(async () => {
  pi = await createPreludeIsolate();
});
afterAll(() => pi.dispose());

describe('EventTarget, Event, CustomEvent', () => {
  it('dispatches to listeners in order, honours once, handleEvent objects, removeEventListener and signal', async () => {
    expect(
      await pi.run(`
        const t = new EventTarget();
        const seen = [];
        const obj = { handleEvent(e) { seen.push('obj:' + e.type); } };
        const removed = () => seen.push('removed');
        const controller = new AbortController();
        t.addEventListener('x', (e) => seen.push('a:' + (e.target === t) + ':' + (e.currentTarget === t)));
        t.addEventListener('x', () => seen.push('once'), { once: true });
        t.addEventListener('x', obj);
        t.addEventListener('x', removed);
        t.addEventListener('x', () => seen.push('signalled'), { signal: controller.signal });
        t.removeEventListener('x', removed);
        t.dispatchEvent(new Event('x'));
        controller.abort();
        t.dispatchEvent(new Event('x'));
        return seen;
      `),
    ).toEqual(['a:true:true', 'once', 'obj:x', 'signalled', 'a:true:true', 'obj:x']);
  });

  it('reports preventDefault through dispatchEvent, and a throwing listener does not stop the others', async () => {
    expect(
      await pi.run(`
        const t = new EventTarget();
        const seen = [];
        t.addEventListener('c', (e) => { e.preventDefault(); throw new Error('listener failed'); });
        t.addEventListener('c', () => seen.push('second'));
        const notCancelled = t.dispatchEvent(new Event('c', { cancelable: true }));
        return [notCancelled, seen];
      `),
    ).toEqual([false, ['second']]);
    expect(pi.logs.some((l) => l.level === 'error' && l.text.includes('listener failed'))).toBe(true);
  });

  it('CustomEvent carries detail; subclasses of EventTarget work', async () => {
    expect(
      await pi.run(`
        class Bus extends EventTarget {}
        const b = new Bus();
        let got;
        b.addEventListener('msg', (e) => { got = [e.detail, e instanceof Event, e.type]; });
        b.dispatchEvent(new CustomEvent('msg', { detail: { n: 1 } }));
        return [got, new CustomEvent('x').detail, String(new CustomEvent('x'))];
      `),
    ).toEqual([[{ n: 1 }, true, 'msg'], null, '[object CustomEvent]']);
  });
});

describe('AbortController and AbortSignal', () => {
  it('abort() sets aborted and reason, fires abort once (listener and onabort), throwIfAborted throws the reason', async () => {
    expect(
      await pi.run(`
        const c = new AbortController();
        const s = c.signal;
        const seen = [];
        s.addEventListener('abort', (e) => seen.push('listener:' + e.type + ':' + s.aborted));
        s.onabort = () => seen.push('onabort');
        const before = [s.aborted, s.reason];
        s.throwIfAborted();
        c.abort();
        c.abort('again');
        let thrown;
        try { s.throwIfAborted(); } catch (e) { thrown = e; }
        return [before, s.aborted, s.reason.name, s.reason.message, s.reason instanceof DOMException, thrown === s.reason, seen, String(s), String(c)];
      `),
    ).toEqual([[false, null], true, 'AbortError', 'This operation was aborted', true, true, ['listener:abort:true', 'onabort'], '[object AbortSignal]', '[object AbortController]']);
  });

  it('a custom reason is kept; AbortSignal.abort() is born aborted; new AbortSignal() is illegal', async () => {
    expect(
      await pi.run(`
        const c = new AbortController();
        c.abort(new RangeError('mine'));
        const s = AbortSignal.abort('why');
        let illegal;
        try { new AbortSignal(); } catch (e) { illegal = e.constructor.name; }
        return [c.signal.reason.message, s.aborted, s.reason, AbortSignal.abort().reason.name, illegal, c.signal instanceof EventTarget];
      `),
    ).toEqual(['mine', true, 'why', 'AbortError', 'TypeError', true]);
  });

  it('AbortSignal.any() follows the first source to abort, or is born aborted', async () => {
    expect(
      await pi.run(`
        const a = new AbortController(), b = new AbortController();
        const any = AbortSignal.any([a.signal, b.signal]);
        const seen = [];
        any.addEventListener('abort', () => seen.push(any.reason));
        const before = any.aborted;
        b.abort('b first');
        a.abort('a later');
        const born = AbortSignal.any([new AbortController().signal, AbortSignal.abort('already')]);
        let bad;
        try { AbortSignal.any([a.signal, {}]); } catch (e) { bad = e.message; }
        return [before, any.aborted, any.reason, seen, born.aborted, born.reason, bad, AbortSignal.any([]).aborted];
      `),
    ).toEqual([false, true, 'b first', ['b first'], true, 'already', 'AbortSignal.any(): item 1 is not an AbortSignal.', false]);
  });

  it('AbortSignal.timeout() validates its delay', async () => {
    expect(
      await pi.run(`
        const out = [];
        for (const v of [-1, NaN, Infinity, 'x']) {
          try { AbortSignal.timeout(v); out.push('no error'); } catch (e) { out.push(e.constructor.name); }
        }
        const s = AbortSignal.timeout(1000);
        return [out, s.aborted];
      `),
    ).toEqual([['TypeError', 'TypeError', 'TypeError', 'TypeError'], false]);
  });

  it('request.signal: a never-aborted signal by default, the one given in init, refused when not a signal', async () => {
    expect(
      await pi.run(`
        const r = new Request('https://x/');
        const c = new AbortController();
        const withSignal = new Request('https://x/', { signal: c.signal });
        const copied = new Request(withSignal);
        let bad;
        try { new Request('https://x/', { signal: {} }); } catch (e) { bad = e.message; }
        c.abort();
        return [r.signal instanceof AbortSignal, r.signal.aborted, r.signal === r.signal, withSignal.signal === c.signal, copied.signal.aborted, withSignal.clone().signal.aborted, bad, new Request(withSignal, { signal: null }).signal.aborted];
      `),
    ).toEqual([true, false, true, true, true, true, "Failed to construct 'Request': member signal is not of type AbortSignal.", false]);
  });
});
