// WebSockets in plain workers, with real clients (the `ws` package) against a real host: WebSocketPair, a 101 with
// webSocket, accept(), send/close both ways, listeners that wait for host calls, many clients at once, a worker
// proxying another worker's WebSocket or talking to it as a client, the handshake's errors, limits and redeploys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { startTestHost, type TestHost } from './helpers/test-host.ts';
import type { TailEvent } from '../host/runtime/worker-types.ts';
import { connect } from './helpers/ws-client.ts';

const ECHO = `export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.headers.get('upgrade') !== 'websocket') return new Response('not a websocket', { status: 426 });
    const [client, server] = Object.values(new WebSocketPair());
    server.accept();
    // Sent before the client is connected: it waits for it.
    server.send('hello');
    server.addEventListener('message', async (e) => {
      if (e.data === 'bye') return server.close(4000, 'asked');
      if (e.data === 'digest') {
        // The listener waits for the host: its event lasts until it settles.
        const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode('abc'));
        return server.send([...new Uint8Array(d).slice(0, 4)].join(','));
      }
      if (e.data === 'spin') { const end = Date.now() + 5000; while (Date.now() < end); }
      server.send(typeof e.data === 'string' ? 'echo:' + e.data : e.data);
    });
    server.addEventListener('close', (e) => console.log('closed', e.code, e.reason, e.wasClean));
    const headers = { 'x-room': 'echo' };
    if (url.searchParams.has('proto')) headers['sec-websocket-protocol'] = url.searchParams.get('proto');
    return new Response(null, { status: 101, webSocket: client, headers });
  },
};`;

describe('WebSockets in a worker', () => {
  let t: TestHost;
  const tail: TailEvent[] = [];
  beforeAll(async () => {
    t = await startTestHost();
    t.host.logs.subscribeAll((e) => tail.push(e));
    for (const [name, code] of Object.entries({ echo: ECHO })) {
      const d = await t.deploy(name, { modules: { 'index.js': code } });
      expect(d.status, JSON.stringify(d.body)).toBe(201);
    }
  }, 60_000);
  afterAll(async () => t?.close());

  it('accepts an upgrade: text and binary both ways, a message sent before the client connected, the worker closing with a code', async () => {
    const c = await connect(t, 'echo');
    expect(c.headers['x-room']).toBe('echo');
    expect(await c.next()).toBe('hello');
    c.ws.send('a');
    expect(await c.next()).toBe('echo:a');
    c.ws.send(Buffer.from([1, 2, 3, 255]));
    expect(await c.next()).toEqual(Buffer.from([1, 2, 3, 255]));
    c.ws.send('bye');
    expect(await c.closed).toEqual({ code: 4000, reason: 'asked' });
  });

  it('a listener that waits for the host runs to its end; the client closing reaches the worker', async () => {
    const c = await connect(t, 'echo');
    await c.next();
    c.ws.send('digest');
    // SHA-256("abc") starts ba 78 16 bf.
    expect(await c.next()).toBe('186,120,22,191');
    c.ws.close(3001, 'done here');
    await c.closed;
    await expect.poll(() => tail.some((e) => e.worker === 'echo' && e.message === 'closed 3001 done here true'), { timeout: 10_000 }).toBe(true);
  });

  it('serves many clients at once, each in order', async () => {
    const clients = await Promise.all(Array.from({ length: 20 }, () => connect(t, 'echo')));
    await Promise.all(clients.map((c) => c.next()));
    for (let i = 0; i < 25; i++) clients.forEach((c, k) => c.ws.send(`${k}-${i}`));
    await Promise.all(
      clients.map(async (c, k) => {
        for (let i = 0; i < 25; i++) expect(await c.next()).toBe(`echo:${k}-${i}`);
      }),
    );
    for (const c of clients) c.ws.close();
    await Promise.all(clients.map((c) => c.closed));
    await expect.poll(() => t.host.runtime.sockets.size, { timeout: 10_000 }).toBe(0);
  });

  it('answers the subprotocol the worker chose from those the client offered', async () => {
    const c = await connect(t, 'echo', '/?proto=chat.v2', ['chat.v1', 'chat.v2']);
    expect(c.ws.protocol).toBe('chat.v2');
    c.ws.close();
  });

  it('an upgrade the worker answers without a WebSocket gets that response; a 101 to a plain request is an error', async () => {
    const plain = await t.get('echo', '/');
    expect(plain.status).toBe(426);
    const d = await t.deploy('no-upgrade', {
      modules: {
        'index.js': `export default { fetch(request) {
          const url = new URL(request.url);
          if (url.pathname === '/status') {
            try { new Response(null, { status: 101 }); } catch (e) { return new Response(e.constructor.name + ': ' + e.message); }
          }
          if (url.pathname === '/wrong-status') {
            try { new Response(null, { status: 200, webSocket: new WebSocketPair()[0] }); } catch (e) { return new Response(e.constructor.name + ': ' + e.message); }
          }
          if (url.pathname === '/refuse') return new Response('go away', { status: 403 });
          const [client, server] = Object.values(new WebSocketPair());
          server.accept();
          return new Response(null, { status: 101, webSocket: client });
        } };`,
      },
    });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    expect((await t.get('no-upgrade', '/status')).text).toMatch(/^RangeError: .*101.*webSocket/);
    expect((await t.get('no-upgrade', '/wrong-status')).text).toMatch(/^RangeError: A Response with a webSocket must have status 101/);
    const notAsked = await t.get('no-upgrade', '/');
    expect(notAsked.status).toBe(500);
    expect(notAsked.headers['x-edge-error']).toBe('E_WEBSOCKET');
    expect(notAsked.text).toContain('did not ask for one');
    await expect(connect(t, 'no-upgrade', '/refuse')).rejects.toMatchObject({ status: 403, body: 'go away' });
    await expect.poll(() => t.host.runtime.sockets.size, { timeout: 10_000 }).toBe(0);
  });

  it('send() before accept() and accept() twice throw TypeErrors naming the fix', async () => {
    const d = await t.deploy('ws-misuse', {
      modules: {
        'index.js': `export default { fetch() {
          const pair = new WebSocketPair();
          const out = [];
          try { pair[1].send('x'); } catch (e) { out.push(e.constructor.name + ': ' + e.message); }
          pair[1].accept();
          try { pair[1].accept(); } catch (e) { out.push(e.constructor.name + ': ' + e.message); }
          try { pair[1].close(1001); } catch (e) { out.push(e.name + ': ' + e.message); }
          try { new WebSocket('wss://example.com'); } catch (e) { out.push(e.constructor.name + ': ' + e.message); }
          out.push(String(pair[0].readyState === WebSocket.OPEN), Object.keys(pair).join());
          return Response.json(out);
        } };`,
      },
    });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    const out = JSON.parse((await t.get('ws-misuse', '/')).text) as string[];
    expect(out[0]).toBe('TypeError: You must call one of accept() or state.acceptWebSocket() on this WebSocket before sending messages.');
    expect(out[1]).toBe('TypeError: This WebSocket was already accepted.');
    expect(out[2]).toMatch(/^InvalidAccessError: The close code must be 1000 or in the range 3000-4999/);
    expect(out[3]).toMatch(/^TypeError: new WebSocket\(url\) .* use fetch\(url, \{ headers: \{ Upgrade: "websocket" \} \}\)/);
    expect(out.slice(4)).toEqual(['true', '0,1']);
  });

  it('a worker proxies another worker\'s WebSocket, or talks to it as a client', async () => {
    const d = await t.deploy('front', {
      modules: {
        'index.js': `export default { async fetch(request) {
          const url = new URL(request.url);
          const upstream = await fetch('http://echo.localhost/', { headers: { Upgrade: 'websocket' } });
          if (url.pathname === '/proxy') return upstream;
          // As a client: accept the response's WebSocket here and use it.
          const ws = upstream.webSocket;
          ws.accept();
          const got = [];
          const done = new Promise((resolve) => ws.addEventListener('message', (e) => { got.push(e.data); if (got.length === 2) resolve(); }));
          ws.send('from front');
          await done;
          ws.close(1000, 'thanks');
          return Response.json({ status: upstream.status, got });
        } };`,
      },
    });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    const c = await connect(t, 'front', '/proxy');
    expect(await c.next()).toBe('hello');
    c.ws.send('through');
    expect(await c.next()).toBe('echo:through');
    c.ws.close();
    await c.closed;
    const r = await t.get('front', '/client');
    expect(JSON.parse(r.text)).toEqual({ status: 101, got: ['hello', 'echo:from front'] });
    await expect.poll(() => tail.some((e) => e.worker === 'echo' && e.message === 'closed 1000 thanks true'), { timeout: 10_000 }).toBe(true);
  });

  it('a fast sender is slowed down: at most 64 of its messages are in the worker\'s hands at once, none lost', async () => {
    const d = await t.deploy('slow-handler', {
      modules: {
        'index.js': `let inHand = 0, most = 0, seen = 0;
        export default { fetch() {
          const [client, server] = Object.values(new WebSocketPair());
          server.accept();
          server.addEventListener('message', async (e) => {
            inHand++; seen++;
            most = Math.max(most, inHand);
            await new Promise((r) => setTimeout(r, 2));
            inHand--;
            if (e.data === 'last') server.send(JSON.stringify({ most, seen }));
          });
          return new Response(null, { status: 101, webSocket: client });
        } };`,
      },
    });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    const c = await connect(t, 'slow-handler');
    for (let i = 0; i < 999; i++) c.ws.send(`m${i}`);
    c.ws.send('last');
    const { most, seen } = JSON.parse(String(await c.next())) as { most: number; seen: number };
    expect(seen).toBe(1000);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(64 + 16);
    c.ws.close();
  });

  it('a message handler that breaks the CPU limit closes its socket with 1011; the worker goes on serving', async () => {
    const c = await connect(t, 'echo');
    await c.next();
    c.ws.send('spin');
    const closed = await c.closed;
    expect(closed.code).toBe(1011);
    await expect.poll(() => tail.some((e) => e.worker === 'echo' && e.code === 'E_CPU_LIMIT'), { timeout: 10_000 }).toBe(true);
    const again = await connect(t, 'echo');
    expect(await again.next()).toBe('hello');
    again.ws.close();
  });

  it('a redeploy closes the old version\'s WebSockets with 1012', async () => {
    const c = await connect(t, 'echo');
    await c.next();
    const d = await t.deploy('echo', { modules: { 'index.js': ECHO.replace("'hello'", "'hello v2'") } });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    expect((await c.closed).code).toBe(1012);
    const again = await connect(t, 'echo');
    expect(await again.next()).toBe('hello v2');
    again.ws.close();
  });
});

describe('fetch() with Upgrade: websocket to the network', () => {
  let t: TestHost;
  let server: WebSocketServer;
  let port = 0;
  beforeAll(async () => {
    // An origin WebSocket server on loopback: it greets, echoes upper-cased, and refuses /private with a 403.
    server = new WebSocketServer({ host: '127.0.0.1', port: 0, verifyClient: (info, cb) => (info.req.url === '/private' ? cb(false, 403, 'Forbidden') : cb(true)) });
    await new Promise((r) => server.once('listening', r));
    port = (server.address() as { port: number }).port;
    server.on('connection', (ws, req) => {
      ws.send(`origin sees ${req.headers['x-from'] ?? '-'}`);
      ws.on('message', (d, bin) => ws.send(bin ? d : d.toString().toUpperCase()));
    });
    t = await startTestHost({ egress: { allow: ['127.0.0.1/32'] } });
    const d = await t.deploy('ws-proxy', {
      modules: {
        'index.js': `export default { async fetch(request) {
          const url = new URL(request.url);
          const target = 'http://127.0.0.1:' + url.searchParams.get('port') + url.pathname;
          try {
            const res = await fetch(target, { headers: { Upgrade: 'websocket', 'x-from': 'edge' } });
            if (res.status !== 101) return new Response('origin said ' + res.status, { status: 502 });
            return res;
          } catch (e) { return new Response(e.message, { status: 599 }); }
        } };`,
      },
    });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await new Promise((r) => server?.close(r));
  });

  it('proxies a WebSocket to an origin the egress policy allows, frames both ways', async () => {
    const c = await connect(t, 'ws-proxy', `/chat?port=${port}`);
    expect(await c.next()).toBe('origin sees edge');
    c.ws.send('shout');
    expect(await c.next()).toBe('SHOUT');
    c.ws.send(Buffer.from([9, 8, 7]));
    expect(await c.next()).toEqual(Buffer.from([9, 8, 7]));
    c.ws.close(1000, 'done');
    expect(await c.closed).toEqual({ code: 1000, reason: 'done' });
    await expect.poll(() => t.host.runtime.sockets.size, { timeout: 10_000 }).toBe(0);
  });

  it('an origin refusing the upgrade answers as any fetch', async () => {
    const r = await t.get('ws-proxy', `/private?port=${port}`);
    expect(r.status).toBe(502);
    expect(r.text).toBe('origin said 403');
  });

  it('the egress policy applies: a private address is refused by default', async () => {
    const strict = await startTestHost();
    try {
      const d = await strict.deploy('ws-proxy', { modules: { 'index.js': `export default { async fetch(request) {
        try { await fetch('http://127.0.0.1:${port}/', { headers: { Upgrade: 'websocket' } }); return new Response('connected'); }
        catch (e) { return new Response(e.message, { status: 599 }); } } };` } });
      expect(d.status, JSON.stringify(d.body)).toBe(201);
      const r = await strict.get('ws-proxy', '/');
      expect(r.status).toBe(599);
      expect(r.text).toContain("private address, which workers may not reach (the host's egress policy)");
    } finally {
      await strict.close();
    }
  });
});
