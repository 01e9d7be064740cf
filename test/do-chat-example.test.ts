// examples/do-chat, deployed from its directory: a chat room Durable Object holding its members' WebSockets with
// hibernation, driven by several real clients (the `ws` package). The room leaves memory (its whole isolate is
// evicted) while they stay connected, and the next message wakes it with their names (attachments and tags) intact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectUpload } from '../host/deploy/upload.ts';
import { startTestHost, type TestHost } from './helpers/test-host.ts';
import { connect } from './helpers/ws-client.ts';

type Event = { type: string; name?: string; text?: string; members?: string[]; messages?: Array<{ name: string; text: string }>; error?: string };

describe('examples/do-chat', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost();
    const res = await t.admin('POST', '/v1/workers', await collectUpload('examples/do-chat'));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const join = async (room: string, name: string) => {
    const c = await connect(t, 'do-chat', `/rooms/${room}/websocket?name=${encodeURIComponent(name)}`);
    const next = async (): Promise<Event> => JSON.parse(String(await c.next())) as Event;
    /** The next event of `type`, skipping the others (joins of later members, say). */
    const nextOf = async (type: string): Promise<Event> => {
      for (;;) {
        const e = await next();
        if (e.type === type) return e;
      }
    };
    return { ...c, raw: c.next, next, nextOf, say: (text: string) => c.ws.send(JSON.stringify({ text })) };
  };

  it('serves its page', async () => {
    const r = await t.get('do-chat', '/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.text).toContain("new WebSocket(url)");
  });

  it('broadcasts to every member, with names, joins and leaves; a newcomer gets the history', async () => {
    const alice = await join('lobby', 'alice');
    expect(await alice.next()).toEqual({ type: 'history', messages: [] });
    expect(await alice.next()).toMatchObject({ type: 'join', name: 'alice', members: ['alice'] });
    const bob = await join('lobby', 'bob');
    expect((await bob.next()).type).toBe('history');
    expect(await alice.next()).toMatchObject({ type: 'join', name: 'bob', members: ['alice', 'bob'] });
    const carol = await join('lobby', 'carol');
    alice.say('hi all');
    for (const c of [alice, bob, carol]) expect(await c.nextOf('message')).toMatchObject({ type: 'message', name: 'alice', text: 'hi all' });
    bob.say('hey <b>alice</b>');
    for (const c of [alice, bob, carol]) expect(await c.nextOf('message')).toMatchObject({ name: 'bob', text: 'hey <b>alice</b>' });
    expect(JSON.parse((await t.get('do-chat', '/rooms/lobby/members')).text)).toEqual(['alice', 'bob', 'carol']);
    // Another room hears nothing of this one.
    const dave = await join('other', 'dave');
    expect(await dave.next()).toEqual({ type: 'history', messages: [] });
    // A newcomer gets what was said, from the room's SQLite history.
    const erin = await join('lobby', 'erin');
    expect((await erin.next()).messages!.map((m) => `${m.name}: ${m.text}`)).toEqual(['alice: hi all', 'bob: hey <b>alice</b>']);
    bob.ws.close();
    await bob.closed;
    expect(await alice.nextOf('leave')).toMatchObject({ name: 'bob', members: ['alice', 'carol', 'erin'] });
    // A bad message gets an error, to its sender only.
    carol.ws.send('not json');
    expect(await carol.nextOf('error')).toMatchObject({ error: expect.stringContaining('{"text": "..."}') });
    for (const c of [alice, carol, dave, erin]) c.ws.close();
    await Promise.all([alice, carol, dave, erin].map((c) => c.closed));
  });

  it('refuses a bad name or a plain request with a clear status', async () => {
    await expect(connect(t, 'do-chat', '/rooms/lobby/websocket?name=')).rejects.toMatchObject({ status: 400 });
    expect((await t.get('do-chat', '/rooms/lobby/websocket?name=x')).status).toBe(426);
    expect((await t.get('do-chat', '/rooms/Not_A_Room/websocket')).status).toBe(404);
  });

  it('hibernates: the room leaves memory while members stay connected; a message wakes it with their names', async () => {
    const a = await join('quiet', 'ann');
    expect(await a.nextOf('join')).toMatchObject({ name: 'ann' });
    const b = await join('quiet', 'ben');
    expect(await a.nextOf('join')).toMatchObject({ name: 'ben' });
    expect(await b.nextOf('join')).toMatchObject({ name: 'ben' });
    a.say('before');
    expect(await b.nextOf('message')).toMatchObject({ name: 'ann', text: 'before' });
    expect(await a.nextOf('message')).toMatchObject({ name: 'ann', text: 'before' });
    // The whole isolate goes (the room with it); the sockets stay open, held by the host for the room.
    expect(t.host.runtime.evict('do-chat')).toBe(true);
    expect(t.host.runtime.warmInstance('do-chat')).toBeUndefined();
    // A ping is answered by the host (setWebSocketAutoResponse) without waking the room.
    a.ws.send('ping');
    expect(await a.raw()).toBe('pong');
    expect(t.host.runtime.warmInstance('do-chat')).toBeUndefined();
    // A message wakes it: a new instance, the room constructed again, the names from the sockets' attachments.
    b.say('after');
    expect(await a.nextOf('message')).toMatchObject({ name: 'ben', text: 'after' });
    expect(await b.nextOf('message')).toMatchObject({ name: 'ben', text: 'after' });
    expect(t.host.runtime.warmInstance('do-chat')).toBeDefined();
    expect(JSON.parse((await t.get('do-chat', '/rooms/quiet/members')).text)).toEqual(['ann', 'ben']);
    expect(JSON.parse((await t.get('do-chat', '/rooms/quiet/history')).text).map((m: { text: string }) => m.text)).toEqual(['before', 'after']);
    // A member leaving a hibernated room wakes it too.
    t.host.runtime.evict('do-chat');
    a.ws.close(1000);
    expect(await b.nextOf('leave')).toMatchObject({ name: 'ann', members: ['ben'] });
    b.ws.close();
    await b.closed;
    await expect.poll(() => t.host.runtime.sockets.size, { timeout: 10_000 }).toBe(0);
  });
});
