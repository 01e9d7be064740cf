// A chat room over WebSockets: the worker serves a small page and hands each WebSocket upgrade to the room's
// Durable Object, which accepts it for hibernation (ctx.acceptWebSocket): the room may leave memory while its members
// stay connected, and the next message wakes it with their names intact (serializeAttachment). Messages are kept in
// the room's SQLite database; a newcomer gets the last HISTORY of them.
//
//   GET /                          the page
//   GET /rooms/<room>/websocket?name=<name>   (Upgrade: websocket) join the room
//   GET /rooms/<room>/members      who is connected (JSON)
//   GET /rooms/<room>/history      the last messages (JSON)
// Over the socket the client sends {"text": "..."} (or the text "ping", answered "pong" without waking the room);
// it receives {"type": "history" | "message" | "join" | "leave", ...}.
import { DurableObject } from 'cloudflare:workers';

const ROOM = /^[a-z0-9-]{1,32}$/;
const NAME = /^[\p{L}\p{N} _.-]{1,24}$/u;
const MAX_TEXT = 1000;

export class ChatRoom extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, name TEXT NOT NULL, text TEXT NOT NULL)`);
    // Keep-alive pings are answered by the host: they never wake the room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'));
  }

  async fetch(request) {
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') return new Response('Expected a WebSocket upgrade', { status: 426 });
    const name = new URL(request.url).searchParams.get('name') ?? '';
    if (!NAME.test(name)) return new Response('A name is 1 to 24 letters, digits, spaces, _ . or -', { status: 400 });
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server, [name]);
    server.serializeAttachment({ name, joined: Date.now() });
    server.send(JSON.stringify({ type: 'history', messages: this.history() }));
    this.broadcast({ type: 'join', name, members: this.members() });
    return new Response(null, { status: 101, webSocket: client });
  }

  async webSocketMessage(ws, message) {
    const { name } = ws.deserializeAttachment();
    let text;
    try {
      text = typeof message === 'string' ? JSON.parse(message).text : undefined;
    } catch {
      // not JSON
    }
    if (typeof text !== 'string' || text.length === 0 || text.length > MAX_TEXT) {
      ws.send(JSON.stringify({ type: 'error', error: `send {"text": "..."} with 1 to ${MAX_TEXT} characters` }));
      return;
    }
    const at = Date.now();
    const { id } = this.ctx.storage.sql.exec('INSERT INTO messages (at, name, text) VALUES (?, ?, ?) RETURNING id', at, name, text).one();
    this.broadcast({ type: 'message', id, at, name, text });
  }

  async webSocketClose(ws, code, reason) {
    const { name } = ws.deserializeAttachment();
    ws.close(1000, 'bye');
    this.broadcast({ type: 'leave', name, members: this.members() });
  }

  /** The names of the members connected now. */
  members() {
    return this.ctx.getWebSockets().filter((ws) => ws.readyState === WebSocket.OPEN).map((ws) => this.ctx.getTags(ws)[0]);
  }

  history() {
    const limit = Math.max(0, Number(this.env.HISTORY) || 50);
    return this.ctx.storage.sql.exec('SELECT id, at, name, text FROM messages ORDER BY id DESC LIMIT ?', limit).toArray().reverse();
  }

  broadcast(event) {
    const data = JSON.stringify(event);
    for (const ws of this.ctx.getWebSockets()) {
      if (ws.readyState === WebSocket.OPEN) ws.send(data);
    }
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/') return new Response(PAGE, { headers: { 'content-type': 'text/html; charset=utf-8' } });
    const m = /^\/rooms\/([^/]+)\/(websocket|members|history)$/.exec(url.pathname);
    if (!m || !ROOM.test(m[1])) return new Response('Not found', { status: 404 });
    const room = env.ROOMS.getByName(m[1]);
    if (m[2] === 'websocket') return room.fetch(request);
    if (m[2] === 'members') return Response.json(await room.members());
    return Response.json(await room.history());
  },
};

const PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chat</title>
<style>
  body { font: 15px system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
  #log { border: 1px solid #ccc; height: 22rem; overflow-y: auto; padding: .5rem; }
  #log p { margin: .2rem 0; } .note { color: #777; font-style: italic; } b { margin-right: .4rem; }
  form { display: flex; gap: .5rem; margin-top: .5rem; } input[name=text] { flex: 1; }
</style>
<form id="join"><input name="room" placeholder="room" value="lobby" pattern="[a-z0-9-]{1,32}" required><input name="name" placeholder="your name" maxlength="24" required><button>Join</button></form>
<div id="log"></div>
<form id="say" hidden><input name="text" maxlength="1000" autocomplete="off" required><button>Send</button></form>
<script>
const log = document.getElementById('log');
function line(who, text, note) {
  const p = document.createElement('p');
  if (note) p.className = 'note';
  if (who) { const b = document.createElement('b'); b.textContent = who; p.append(b); }
  p.append(document.createTextNode(text));
  log.append(p);
  log.scrollTop = log.scrollHeight;
}
let ws;
document.getElementById('join').onsubmit = (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const url = new URL('/rooms/' + f.get('room') + '/websocket?name=' + encodeURIComponent(f.get('name')), location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  ws = new WebSocket(url);
  ws.onopen = () => { e.target.hidden = true; document.getElementById('say').hidden = false; };
  ws.onclose = () => line('', 'disconnected', true);
  ws.onmessage = (m) => {
    if (m.data === 'pong') return;
    const ev = JSON.parse(m.data);
    if (ev.type === 'history') ev.messages.forEach((x) => line(x.name, x.text));
    if (ev.type === 'message') line(ev.name, ev.text);
    if (ev.type === 'join' || ev.type === 'leave') line('', ev.name + (ev.type === 'join' ? ' joined' : ' left') + ' (' + ev.members.length + ' here)', true);
    if (ev.type === 'error') line('', ev.error, true);
  };
  setInterval(() => ws.readyState === 1 && ws.send('ping'), 30000);
};
document.getElementById('say').onsubmit = (e) => {
  e.preventDefault();
  ws.send(JSON.stringify({ text: e.target.text.value }));
  e.target.reset();
};
</script>
`;
