// A WebSocket client (the `ws` package) for a worker of a test host: its messages in order, its close, its
// handshake's response headers; a refused upgrade rejects with the response's status and body.
import WebSocket from 'ws';
import type { TestHost } from './test-host.ts';

export interface Client {
  ws: WebSocket;
  messages: Array<string | Buffer>;
  /** Resolves with the next message (or one already received and not yet taken). */
  next(): Promise<string | Buffer>;
  closed: Promise<{ code: number; reason: string }>;
  headers: Record<string, string | string[] | undefined>;
}

export function connect(t: TestHost, name: string, path = '/', protocols?: string[]): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}${path}`, protocols, { headers: { host: `${name}.localhost:${t.port}` } });
    const messages: Array<string | Buffer> = [];
    let taken = 0;
    const waiting: Array<(m: string | Buffer) => void> = [];
    let headers: Client['headers'] = {};
    ws.on('upgrade', (res) => (headers = res.headers));
    ws.on('message', (d: Buffer, bin) => {
      const m = bin ? Buffer.from(d) : d.toString();
      messages.push(m);
      const w = waiting.shift();
      if (w) {
        taken++;
        w(m);
      }
    });
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('open', () =>
      resolve({
        ws,
        messages,
        headers,
        closed,
        next: () => (taken < messages.length ? Promise.resolve(messages[taken++]!) : new Promise((r) => waiting.push(r))),
      }),
    );
    ws.on('error', reject);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => reject(Object.assign(new Error(`unexpected response ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
    });
  });
}
