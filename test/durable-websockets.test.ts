// The Durable Object WebSocket API beyond the chat example: tags and their limits, attachments and theirs, the
// auto-response and its timestamp, a handler that throws (the socket stays), accept() without hibernation inside an
// object, and a message from a hibernated object's socket after the object left memory within a live isolate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';
import { connect } from './helpers/ws-client.ts';
import type { TailEvent } from '../host/runtime/worker-types.ts';

const WORKER = `import { DurableObject } from 'cloudflare:workers';
export class Room extends DurableObject {
  async fetch(request) {
    const url = new URL(request.url);
    const [client, server] = Object.values(new WebSocketPair());
    if (url.searchParams.has('plain')) {
      // accept() without hibernation: the object keeps the socket (and stays in memory) and its listeners run.
      server.accept();
      server.addEventListener('message', (e) => server.send('plain:' + e.data));
      return new Response(null, { status: 101, webSocket: client });
    }
    const tags = (url.searchParams.get('tags') ?? '').split(',').filter(Boolean);
    try {
      this.ctx.acceptWebSocket(server, tags);
    } catch (e) {
      return new Response(e.constructor.name + ': ' + e.message, { status: 400 });
    }
    return new Response(null, { status: 101, webSocket: client });
  }
  async webSocketMessage(ws, message) {
    const [cmd, arg] = String(message).split(' ');
    const out = (v) => ws.send(JSON.stringify(v));
    if (cmd === 'tags') return out(this.ctx.getTags(ws));
    if (cmd === 'count') return out(this.ctx.getWebSockets(arg).length);
    if (cmd === 'attach') {
      try {
        ws.serializeAttachment(arg === 'big' ? 'x'.repeat(3000) : arg === 'fn' ? { f() {} } : { value: arg });
        return out('ok');
      } catch (e) { return out(e.name + ': ' + e.message); }
    }
    if (cmd === 'read') return out(ws.deserializeAttachment());
    if (cmd === 'stamp') { const t = this.ctx.getWebSocketAutoResponseTimestamp(ws); return out(t instanceof Date ? 'date' : String(t)); }
    if (cmd === 'auto') { this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong')); return out('ok'); }
    if (cmd === 'throw') throw new Error('handler failed');
    if (cmd === 'count-put') { const n = ((await this.ctx.storage.get('n')) ?? 0) + 1; await this.ctx.storage.put('n', n); return out(n); }
    out('unknown ' + cmd);
  }
}
export default { fetch(request, env) { return env.ROOMS.getByName(new URL(request.url).pathname.slice(1) || 'r').fetch(request); } };`;

describe('Durable Object WebSockets', () => {
  let t: TestHost;
  const tail: TailEvent[] = [];
  beforeAll(async () => {
    t = await startTestHost();
    t.host.logs.subscribeAll((e) => tail.push(e));
    const toml = manifestFor('rooms', 'index.js', '[[durable_objects.bindings]]\nname = "ROOMS"\nclass_name = "Room"\n[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["Room"]\n');
    const d = await t.deploy('rooms', { toml, modules: { 'index.js': WORKER } });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
  }, 60_000);
  afterAll(async () => t?.close());

  const ask = async (c: Awaited<ReturnType<typeof connect>>, msg: string): Promise<unknown> => {
    c.ws.send(msg);
    return JSON.parse(String(await c.next()));
  };

  it('tags: getTags, getWebSockets(tag), and the limits on them', async () => {
    const a = await connect(t, 'rooms', '/tags?tags=red,blue');
    const b = await connect(t, 'rooms', '/tags?tags=blue');
    expect(await ask(a, 'tags')).toEqual(['red', 'blue']);
    expect(await ask(a, 'count blue')).toBe(2);
    expect(await ask(a, 'count red')).toBe(1);
    expect(await ask(b, 'count')).toBe(2);
    const eleven = Array.from({ length: 11 }, (_, i) => `t${i}`).join(',');
    await expect(connect(t, 'rooms', `/tags?tags=${eleven}`)).rejects.toMatchObject({ status: 400, body: expect.stringContaining('at most 10 tags per WebSocket; got 11') });
    await expect(connect(t, 'rooms', `/tags?tags=${'x'.repeat(257)}`)).rejects.toMatchObject({ status: 400, body: expect.stringContaining('a tag is at most 256 characters') });
    a.ws.close();
    b.ws.close();
    await Promise.all([a.closed, b.closed]);
    await expect.poll(() => t.host.runtime.sockets.size, { timeout: 10_000 }).toBe(0);
  });

  it('attachments: kept across the object leaving memory, at most 2,048 bytes, structured-cloneable', async () => {
    const a = await connect(t, 'rooms', '/attach');
    expect(await ask(a, 'read')).toBe(null);
    expect(await ask(a, 'attach hello')).toBe('ok');
    expect(await ask(a, 'attach big')).toMatch(/^TypeError: serializeAttachment\(\): .*3\d{3} bytes serialized; at most 2048/);
    expect(await ask(a, 'attach fn')).toMatch(/^DataCloneError/);
    t.host.runtime.evict('rooms');
    expect(await ask(a, 'read')).toEqual({ value: 'hello' });
    a.ws.close();
    await a.closed;
  });

  it('the auto-response answers without the object, and stamps the socket', async () => {
    const a = await connect(t, 'rooms', '/auto');
    expect(await ask(a, 'stamp')).toBe('null');
    expect(await ask(a, 'auto')).toBe('ok');
    a.ws.send('ping');
    expect(await a.next()).toBe('pong');
    expect(await ask(a, 'stamp')).toBe('date');
    a.ws.close();
    await a.closed;
  });

  it('a handler that throws is reported; the socket stays open and the next message is handled; storage works in handlers', async () => {
    const a = await connect(t, 'rooms', '/throw');
    a.ws.send('throw');
    await expect.poll(() => tail.some((e) => e.worker === 'rooms' && e.message.includes('handler failed') && e.message.includes('WebSocket message handler')), { timeout: 10_000 }).toBe(true);
    expect(await ask(a, 'count-put')).toBe(1);
    expect(await ask(a, 'count-put')).toBe(2);
    t.host.runtime.evict('rooms');
    expect(await ask(a, 'count-put')).toBe(3);
    a.ws.close();
    await a.closed;
  });

  it('accept() without hibernation inside an object: its listeners run', async () => {
    const a = await connect(t, 'rooms', '/plain?plain');
    a.ws.send('x');
    expect(await a.next()).toBe('plain:x');
    // Its isolate going away closes the socket (1001): nothing holds it but that isolate.
    t.host.runtime.evict('rooms');
    expect((await a.closed).code).toBe(1001);
  });
});
