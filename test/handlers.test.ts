// Handler features beyond a plain fetch, on a real host: ctx.waitUntil work outliving the response (and its
// bound), ctx.passThroughOnException() sending the request on to a loopback origin, and the service-worker syntax
// (addEventListener('fetch' | 'scheduled'), bindings as globals).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';
import { request } from './helpers/http.ts';
import type { TailEvent } from '../host/runtime/worker-types.ts';

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('handlers', () => {
  let t: TestHost;
  let origin: Server;
  let originPort = 0;
  const events: TailEvent[] = [];
  beforeAll(async () => {
    // The origin behind the worker's route: says what reached it.
    origin = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.setHeader('x-from', 'origin');
        res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, via: req.headers['x-edge-pass-through'], body: Buffer.concat(parts).toString() }));
      });
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    originPort = (origin.address() as { port: number }).port;
    t = await startTestHost({ egress: { allow: ['127.0.0.1/32'] } });
    t.host.logs.subscribeAll((e) => events.push(e));
  });
  afterAll(async () => {
    await t.close();
    await new Promise((r) => origin.close(r));
  });

  const of = (worker: string) => events.filter((e) => e.worker === worker);
  const onRoute = (hostHeader: string, path: string, init: { method?: string; body?: string } = {}) => request(`${t.host.dataUrl}${path}`, { host: hostHeader, ...init });

  describe('ctx.waitUntil', () => {
    it('runs work after the response, including work added by other waitUntil work', async () => {
      await t.deploy('later', {
        modules: {
          'index.js': `export default { fetch(req, env, ctx) {
            ctx.waitUntil(new Promise((r) => setTimeout(r, 30)).then(() => {
              console.log('first');
              ctx.waitUntil(new Promise((r) => setTimeout(r, 30)).then(() => console.log('second')));
            }));
            return new Response('sent');
          } };`,
        },
      });
      const res = await t.get('later');
      expect(res.text).toBe('sent');
      expect(of('later')).toEqual([]);
      await until('both pieces of work', () => of('later').length === 2);
      expect(of('later').map((e) => e.message)).toEqual(['first', 'second']);
    });

    it('cuts off work that never settles with a tail warning, without delaying the response', async () => {
      await t.deploy('forever', {
        toml: manifestFor('forever', 'index.js', '[limits]\nwall_ms = 400'),
        modules: {
          'index.js': `export default { fetch(req, env, ctx) {
            ctx.waitUntil(new Promise(() => { setInterval(() => console.log('tick'), 40); }));
            return new Response('not delayed');
          } };`,
        },
      });
      const res = await t.get('forever');
      expect(res.status).toBe(200);
      expect(res.text).toBe('not delayed');
      // The response came back while the work was still running: nothing was cut off yet.
      expect(of('forever').some((e) => e.code === 'E_WAIT_UNTIL_TIMEOUT')).toBe(false);
      await until('the cut-off warning', () => of('forever').some((e) => e.code === 'E_WAIT_UNTIL_TIMEOUT'));
      const warning = of('forever').find((e) => e.code === 'E_WAIT_UNTIL_TIMEOUT')!;
      expect(warning.level).toBe('warn');
      expect(warning.message).toMatch(/waitUntil\(\) work of worker "forever" had not settled \d+ ms after the response and was cancelled/);
      expect(warning.message).toMatch(/30 s after the response, here less: the request's wall-clock limit of 400 ms/);
      expect(of('forever').some((e) => e.message === 'tick')).toBe(true);
      // Cancelled means cancelled: its timers stop.
      const ticks = of('forever').filter((e) => e.message === 'tick').length;
      await new Promise((r) => setTimeout(r, 200));
      expect(of('forever').filter((e) => e.message === 'tick').length).toBe(ticks);
      // The isolate serves on.
      expect((await t.get('forever')).text).toBe('not delayed');
    });
  });

  describe('ctx.passThroughOnException()', () => {
    beforeAll(async () => {
      const res = await t.deploy('pass', {
        toml: manifestFor('pass', 'index.js', 'routes = ["127.0.0.1/*", "10.255.255.1/*"]'),
        modules: {
          'index.js': `export default { async fetch(req, env, ctx) {
            ctx.passThroughOnException();
            const path = new URL(req.url).pathname;
            if (path === '/ok') return new Response('from the worker');
            ctx.waitUntil(new Promise((r) => setTimeout(r, 20)).then(() => console.log('waitUntil after passing on ' + path)));
            if (path === '/read') await req.text();
            if (path === '/forward') await (await fetch(new URL('/seen', req.url), { method: 'POST', body: req.body, duplex: 'half' })).text();
            throw new Error('worker broke on ' + path);
          } };`,
        },
      });
      expect(res.status).toBe(201);
    });

    it('sends the request on to the origin (method, path, headers, body) when the handler throws', async () => {
      expect((await onRoute(`127.0.0.1:${originPort}`, '/ok')).text).toBe('from the worker');
      const res = await onRoute(`127.0.0.1:${originPort}`, '/fail?q=1', { method: 'POST', body: 'the payload' });
      expect(res.status).toBe(200);
      expect(res.headers['x-from']).toBe('origin');
      expect(JSON.parse(res.text)).toEqual({ method: 'POST', url: '/fail?q=1', host: `127.0.0.1:${originPort}`, via: 'pass', body: 'the payload' });
      const ex = of('pass').find((e) => e.kind === 'exception');
      expect(ex?.message).toBe('Uncaught Error: worker broke on /fail (passing the request on to the origin)');
      // The request went on, and so did its waitUntil work.
      await until('the waitUntil work', () => of('pass').some((e) => e.message === 'waitUntil after passing on /fail'));
    });

    it('fails clearly when there is no origin, the body was read, the origin is refused, or it routes back into the worker', async () => {
      const local = await t.get('pass', '/fail');
      expect(local.status).toBe(502);
      expect(local.headers['x-edge-error']).toBe('E_NO_ORIGIN');
      expect(local.text).toMatch(/pass\.localhost:\d+ has no origin behind the worker/);

      const read = await onRoute(`127.0.0.1:${originPort}`, '/read', { method: 'POST', body: 'eaten' });
      expect(read.status).toBe(500);
      expect(read.headers['x-edge-error']).toBe('E_PASS_THROUGH_BODY_USED');
      const forwarded = await onRoute(`127.0.0.1:${originPort}`, '/forward', { method: 'POST', body: 'sent once' });
      expect(forwarded.status).toBe(500);
      expect(forwarded.headers['x-edge-error']).toBe('E_PASS_THROUGH_BODY_USED');

      const refused = await onRoute('10.255.255.1', '/fail');
      expect(refused.status).toBe(502);
      expect(refused.headers['x-edge-error']).toBe('E_ORIGIN_UNREACHABLE');
      expect(refused.text).toMatch(/private address/);

      // The origin named by the Host header is this host itself: the request would come back into the same worker.
      const loop = await onRoute(`127.0.0.1:${t.port}`, '/fail');
      expect(loop.status).toBe(502);
      expect(loop.headers['x-edge-error']).toBe('E_NO_ORIGIN');
      expect(loop.text).toMatch(/routes back into the worker itself/);
    });
  });

  describe('service-worker syntax', () => {
    it('dispatches fetch events to addEventListener listeners, with bindings as globals', async () => {
      const res = await t.deploy('sw', {
        toml: manifestFor('sw', 'index.js', '[vars]\nGREETING = "hello"\nfetch = "shadowed"'),
        modules: {
          'index.js': `const atStart = GREETING;
            const topThis = this;
            addEventListener('fetch', (event) => {
              event.waitUntil(Promise.resolve().then(() => console.log('sw waitUntil')));
              if (new URL(event.request.url).pathname === '/skip') return;
              if (new URL(event.request.url).pathname === '/late') {
                try { addEventListener('fetch', () => {}); } catch (e) { return event.respondWith(new Response(e.name + ': ' + e.message)); }
              }
              event.respondWith(handle(event));
              try { event.respondWith(new Response('again')); } catch (e) { twice = e.name; }
              event.waitUntil(new Promise((r) => setTimeout(r, 0)).then(() => {
                try { event.respondWith(new Response('late')); } catch (e) { console.log('late respondWith: ' + e.message); }
              }));
            });
            let twice;
            self.addEventListener('scheduled', {
              handleEvent(event) {
                event.waitUntil(Promise.resolve().then(() => console.log([event.type, event.cron, event.scheduledTime, event instanceof ScheduledEvent, GREETING].join(' '))));
              },
            });
            async function handle(event) {
              await null;
              return Response.json({ atStart, greeting: GREETING, shadowed: fetch, topThis: typeof topThis, self: self === globalThis,
                event: Object.prototype.toString.call(event), isFetchEvent: event instanceof FetchEvent, type: event.type,
                method: event.request.method, twice, name: FetchEvent.name });
            }`,
        },
      });
      expect(res.status).toBe(201);
      const r = await t.get('sw', '/hi');
      expect(r.status, r.text + JSON.stringify(of('sw'))).toBe(200);
      expect(JSON.parse(r.text)).toEqual({
        atStart: 'hello',
        greeting: 'hello',
        shadowed: 'shadowed',
        topThis: 'undefined',
        self: true,
        event: '[object FetchEvent]',
        isFetchEvent: true,
        type: 'fetch',
        method: 'GET',
        twice: 'InvalidStateError',
        name: 'FetchEvent',
      });
      await until('waitUntil work', () => of('sw').some((e) => e.message === 'sw waitUntil'));

      expect((await t.get('sw', '/late')).text).toMatch(/^TypeError: addEventListener\("fetch"\): listeners can only be added while the worker's global scope is evaluated/);

      // No listener responded: as Workers, the request goes on to the origin (here there is none), with no exception.
      const skip = await t.get('sw', '/skip');
      expect(skip.status).toBe(502);
      expect(skip.headers['x-edge-error']).toBe('E_NO_ORIGIN');
      expect(of('sw').some((e) => e.kind === 'exception')).toBe(false);
      await until('the late respondWith', () => of('sw').some((e) => e.message.startsWith('late respondWith')));
      expect(of('sw').find((e) => e.message.startsWith('late respondWith'))?.message).toMatch(/must be called synchronously in the "fetch" listener/);

      const run = await t.admin('POST', '/v1/workers/sw/scheduled', { cron: '30 2 * * *', scheduledTime: 1_700_000_000_000 });
      expect(run.body).toMatchObject({ outcome: 'ok' });
      expect(of('sw').some((e) => e.message === 'scheduled 30 2 * * * 1700000000000 true hello')).toBe(true);
    });

    it('keeps bindings off the global object of a module worker', async () => {
      await t.deploy('mod-env', {
        toml: manifestFor('mod-env', 'index.js', '[vars]\nGREETING = "hello"\nfetch = "shadowed"'),
        modules: { 'index.js': `export default { fetch(req, env) { return Response.json({ global: typeof GREETING, env: env.GREETING, fetch: typeof fetch }); } };` },
      });
      expect(JSON.parse((await t.get('mod-env')).text)).toEqual({ global: 'undefined', env: 'hello', fetch: 'function' });
    });

    it('rejects a script with no listeners and no default export, and listeners for unknown events', async () => {
      const none = await t.deploy('sw-none', { modules: { 'index.js': `console.log('nothing here');` } });
      expect(none.status).toBe(400);
      expect(none.body.error.code).toBe('E_NO_FETCH_HANDLER');
      expect(none.body.error.message).toMatch(/addEventListener\('fetch', \.\.\.\)/);
      const unknown = await t.deploy('sw-message', { modules: { 'index.js': `addEventListener('message', () => {});` } });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.message).toMatch(/addEventListener\("message"\): a worker's global scope receives only "fetch" and "scheduled" events/);
    });

    it('passes a failing service-worker request through with event.passThroughOnException()', async () => {
      await t.deploy('sw-pass', {
        modules: { 'index.js': `addEventListener('fetch', (event) => { event.passThroughOnException(); event.respondWith(Promise.reject(new TypeError('sw broke'))); });` },
      });
      const local = await t.get('sw-pass');
      expect(local.headers['x-edge-error']).toBe('E_NO_ORIGIN');
      expect(of('sw-pass').find((e) => e.kind === 'exception')?.message).toBe('Uncaught TypeError: sw broke (passing the request on to the origin)');
    });
  });
});
