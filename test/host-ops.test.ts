// The generic asynchronous host ops (host/runtime/host-ops.ts, prelude internal/async.js, 'op' calls and
// 'settled' entries) through a real host. The guest reaches them through crypto.subtle.digest, whose host op the
// test replaces (HostOptions.ops registered first are kept) with one that behaves as each case needs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost, type TestHost } from './helpers/test-host.ts';
import { HostOpError, type HostOpContext } from '../host/core/host-ops.ts';

const worker = `
const dec = new TextDecoder();
const op = (name) => crypto.subtle.digest({ name }, new Uint8Array([1, 2, 3]));
// Started while the module is evaluated: attributed to no request (reqId 0).
const early = op('global');
export default {
  fetch(req, env, ctx) {
    const mode = new URL(req.url).searchParams.get('mode');
    if (mode === 'released') {
      // Runs after the (synchronous) response let the request go.
      Promise.resolve().then(() => op('ok').then(() => console.log('late op resolved'), (e) => console.log('late op ' + e.name + ': ' + e.message)));
      return new Response('sync');
    }
    return this.handle(mode, ctx);
  },
  async handle(mode, ctx) {
    const caught = async (name) => { try { await op(name); return 'resolved'; } catch (e) { return { dom: e instanceof DOMException, type: e instanceof TypeError, name: e.name, message: e.message, code: e.code ?? null }; } };
    switch (mode) {
      case 'ok': return new Response(dec.decode(await op('ok')));
      case 'global': return new Response(dec.decode(await early));
      case 'parallel': return Response.json((await Promise.all([0, 1, 2, 3, 4].map((i) => op('echo' + i)))).map((b) => dec.decode(b)));
      case 'errors': return Response.json([await caught('dom'), await caught('type'), await caught('plain'), await caught('throws')]);
      case 'orphan':
        op('slow').then(() => console.log('orphan resolved'), (e) => console.log('orphan rejected ' + e.message));
        return new Response('left early');
      case 'waitUntil':
        ctx.waitUntil(op('later').then((b) => console.log('waitUntil got ' + dec.decode(b))));
        return new Response('answered');
    }
    return new Response('unknown mode', { status: 400 });
  },
};
`;

describe('asynchronous host ops', () => {
  let t: TestHost;
  const seen: Array<{ name: string; ctx: HostOpContext; aborted?: boolean }> = [];
  let slowDone: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    t = await startTestHost({
      ops: {
        'crypto.digest': (arg, ctx) => {
          const name = String((arg as { algorithm: { name: string } }).algorithm.name);
          const entry: { name: string; ctx: HostOpContext; aborted?: boolean } = { name, ctx };
          seen.push(entry);
          const reply = (s: string): Uint8Array => new TextEncoder().encode(s);
          if (name === 'ok' || name === 'global') return reply(`${name} for ${ctx.worker} req ${ctx.reqId === 0 ? 0 : 'n'} depth ${ctx.depth}`);
          if (name.startsWith('echo')) {
            // Answers out of order: each promise must still get its own value.
            const i = Number(name.slice(4));
            return new Promise((r) => setTimeout(() => r(reply(name)), (5 - i) * 10));
          }
          if (name === 'dom') throw new HostOpError('QuotaExceededError', 'too much');
          if (name === 'type') return Promise.reject(new HostOpError('TypeError', 'bad argument'));
          if (name === 'plain') return Promise.reject(new Error('host failure'));
          if (name === 'throws') throw new RangeError('out of range');
          if (name === 'later') return new Promise((r) => setTimeout(() => r(reply('late value')), 50));
          if (name === 'slow') {
            // Answers only after the request ended: the answer must be dropped, not delivered.
            slowDone = new Promise((done) => {
              ctx.signal.addEventListener('abort', () => {
                entry.aborted = true;
                setTimeout(done, 20);
              });
            }).then(() => undefined);
            return slowDone.then(() => reply('too late'));
          }
          return reply('?');
        },
      },
    });
    expect((await t.deploy('ops', { modules: { 'index.js': worker } })).status).toBe(201);
  });
  afterAll(() => t.close());

  it('resolves with the handler\'s value, attributed to the request (or to none in the global scope)', async () => {
    expect((await t.get('ops', '/?mode=ok')).text).toBe('ok for ops req n depth 0');
    expect((await t.get('ops', '/?mode=global')).text).toBe('global for ops req 0 depth 0');
    const ok = seen.find((s) => s.name === 'ok')!;
    expect(ok.ctx.reqId).toBeGreaterThan(0);
    expect(ok.ctx.manifest.name).toBe('ops');
    expect(seen.find((s) => s.name === 'global')!.ctx.reqId).toBe(0);
  });

  it('settles concurrent ops each with its own answer, whatever the order they finish in', async () => {
    expect(JSON.parse((await t.get('ops', '/?mode=parallel')).text)).toEqual(['echo0', 'echo1', 'echo2', 'echo3', 'echo4']);
  });

  it('rejects with a DOMException of the HostOpError name, TypeError/RangeError as those classes, other errors as Error', async () => {
    expect(JSON.parse((await t.get('ops', '/?mode=errors')).text)).toEqual([
      { dom: true, type: false, name: 'QuotaExceededError', message: 'too much', code: 22 },
      { dom: false, type: true, name: 'TypeError', message: 'bad argument', code: null },
      { dom: false, type: false, name: 'Error', message: 'host failure', code: null },
      { dom: false, type: false, name: 'RangeError', message: 'out of range', code: null },
    ]);
  });

  it('keeps a request alive for an op in waitUntil and delivers its answer', async () => {
    const logs: string[] = [];
    const off = t.host.logs.subscribe('ops', (e) => logs.push(e.message));
    expect((await t.get('ops', '/?mode=waitUntil')).text).toBe('answered');
    await expect.poll(() => logs.join('\n'), { timeout: 2000 }).toContain('waitUntil got late value');
    off();
  });

  it('rejects an op started by code that runs on after its request was let go', async () => {
    const logs: string[] = [];
    const off = t.host.logs.subscribe('ops', (e) => logs.push(e.message));
    expect((await t.get('ops', '/?mode=released')).text).toBe('sync');
    await expect.poll(() => logs.join('\n'), { timeout: 2000 }).toContain('late op TypeError: crypto.digest: the request has ended.');
    off();
  });

  it('aborts the signal of an op whose request ended and drops its answer; the worker keeps serving', async () => {
    const logs: string[] = [];
    const off = t.host.logs.subscribe('ops', (e) => logs.push(e.message));
    expect((await t.get('ops', '/?mode=orphan')).text).toBe('left early');
    await expect.poll(() => seen.find((s) => s.name === 'slow')?.aborted, { timeout: 2000 }).toBe(true);
    await slowDone;
    await new Promise((r) => setTimeout(r, 50));
    expect((await t.get('ops', '/?mode=ok')).text).toBe('ok for ops req n depth 0');
    expect(logs.join('\n')).not.toContain('orphan');
    off();
  });
});
