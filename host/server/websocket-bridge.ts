// The client's side of a worker's WebSocket: the host terminates the connection (the `ws` package does the
// handshake and the framing) and holds the end the worker handed over in its 101 response, carrying messages and
// closes between the two (host/runtime/websockets.ts delivers them to the worker's side).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { EdgeError } from '../core/errors.ts';
import { MAX_MESSAGE_BYTES, type WebSocketHub, type WsEvent, type WsHolder } from '../runtime/websockets.ts';
import type { WorkerResponse } from '../runtime/worker-types.ts';

/** An upgrade request as the data plane routes it: the connection it came on, and what was read past its head. */
export type UpgradeRequest = IncomingMessage & { [WebSocketBridge.UPGRADE]?: { socket: Duplex; head: Buffer } };

/** Headers the handshake writes itself (or that describe the connection): a worker's values for them are not sent. */
const HANDSHAKE_HEADERS = new Set(['upgrade', 'connection', 'sec-websocket-accept', 'sec-websocket-extensions', 'sec-websocket-protocol', 'content-length', 'transfer-encoding', 'keep-alive']);
const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** Messages of one connection a worker may have in hand at once before the host stops reading more. */
const MAX_IN_FLIGHT = 64;

export class WebSocketBridge {
  static readonly UPGRADE: unique symbol = Symbol('edge.upgrade') as never;
  private readonly server: WebSocketServer;
  /** Per handshake: the worker's response (its headers and chosen subprotocol go into the 101). */
  private readonly answers = new WeakMap<IncomingMessage, WorkerResponse>();
  private readonly sockets: WebSocketHub;
  /** The clients connected now (closed with 1001 when the host shuts down). */
  private readonly clients = new Set<WebSocket>();

  constructor(sockets: WebSocketHub) {
    this.sockets = sockets;
    this.server = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_MESSAGE_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
      // The worker chose the subprotocol in its response (it must be one the client offered).
      handleProtocols: (offered, req) => {
        const chosen = header(this.answers.get(req), 'sec-websocket-protocol');
        return chosen !== undefined && offered.has(chosen) ? chosen : false;
      },
    });
    this.server.on('headers', (headers, req) => {
      const res = this.answers.get(req);
      if (!res) return;
      for (const [k, v] of res.headers) if (!HANDSHAKE_HEADERS.has(k.toLowerCase()) && !/[\r\n]/.test(v)) headers.push(`${k}: ${v}`);
    });
  }

  /**
   * Completes the client's upgrade with the worker's 101, and holds `end` for the client. Returns the error to
   * answer with instead (the end is closed then) when the request was no WebSocket handshake or the response no 101.
   */
  accept(req: UpgradeRequest, res: WorkerResponse, end: number): EdgeError | null {
    const up = req[WebSocketBridge.UPGRADE];
    let refusal: EdgeError | null = null;
    if (res.status !== 101) refusal = new EdgeError('E_WEBSOCKET', `The worker returned a WebSocket with status ${res.status}; a response carrying a WebSocket must have status 101.`, { status: 500 });
    else if (!up) refusal = new EdgeError('E_WEBSOCKET', 'The worker returned a WebSocket (status 101) to a request that did not ask for one (no `Upgrade: websocket`).', { status: 500 });
    else if (req.method !== 'GET' || !/^websocket$/i.test(String(req.headers.upgrade ?? '')) || !KEY.test(String(req.headers['sec-websocket-key'] ?? '')) || !['8', '13'].includes(String(req.headers['sec-websocket-version'] ?? ''))) {
      refusal = new EdgeError('E_WEBSOCKET', 'The WebSocket handshake is malformed (it needs GET, Upgrade: websocket, a Sec-WebSocket-Key and Sec-WebSocket-Version: 13).', { status: 400 });
    }
    if (refusal !== null || !up) {
      this.sockets.gone(end, 1011, refusal?.message ?? 'no handshake');
      return refusal;
    }
    this.answers.set(req, res);
    this.server.handleUpgrade(req, up.socket, up.head, (ws) => this.connect(ws, end));
    return null;
  }

  /** The host is shutting down: every client is told (1001, going away). */
  closeAll(): void {
    for (const ws of this.clients) closeClient(ws, 1001, 'the host is shutting down');
    // Those that do not answer the close are cut when the server stops.
    const stragglers = [...this.clients];
    setTimeout(() => stragglers.forEach((ws) => ws.terminate()), 1000).unref();
  }

  private connect(ws: WebSocket, end: number): void {
    this.clients.add(ws);
    ws.on('close', () => this.clients.delete(ws));
    bridgeSocket(ws, end, this.sockets);
  }
}

/**
 * Carries frames between a network WebSocket (a client of the data plane, or a server a worker's fetch() connected
 * to) and `end`, which it holds from now on.
 */
export function bridgeSocket(ws: WebSocket, end: number, sockets: WebSocketHub): void {
  const holder: WsHolder = {
    worker: null,
    deliver(_end, ev) {
      if (ev.t === 'message') {
        if (ws.readyState === ws.OPEN) ws.send(ev.data, { binary: typeof ev.data !== 'string' });
        return;
      }
      closeClient(ws, ev.code, ev.reason);
    },
  };
  ws.binaryType = 'nodebuffer';
  // Backpressure: while the worker has MAX_IN_FLIGHT of the connection's messages in hand, the next ones wait here and
  // the host stops reading the connection (TCP then slows the sender): what waits is at most what one read brought.
  let inFlight = 0;
  const waiting: WsEvent[] = [];
  const deliver = (ev: WsEvent): void => {
    const done = sockets.send(end, ev);
    if (done === undefined) return;
    inFlight++;
    done.then(settled, settled);
  };
  /** The connection closed while messages still waited: its close goes after them. */
  let closed: (() => void) | null = null;
  const settled = (): void => {
    inFlight--;
    while (inFlight < MAX_IN_FLIGHT && waiting.length > 0) deliver(waiting.shift()!);
    if (waiting.length > 0) return;
    if (closed !== null) {
      closed();
      closed = null;
    } else if (ws.isPaused) ws.resume();
  };
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const ev: WsEvent = isBinary ? { t: 'message', data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) } : { t: 'message', data: data.toString('utf8') };
    if (inFlight < MAX_IN_FLIGHT && waiting.length === 0) return deliver(ev);
    waiting.push(ev);
    if (!ws.isPaused) ws.pause();
  });
  ws.on('close', (code: number, reason: Buffer) => {
    const gone = (): void => sockets.gone(end, code, reason.toString('utf8'), code !== 1006);
    if (waiting.length > 0) closed = gone;
    else gone();
  });
  // The close event follows an error (with 1006, or the code the error closed it with).
  ws.on('error', () => {});
  if (!sockets.hold(end, holder, true)) closeClient(ws, 1011, 'the worker\'s WebSocket is gone');
}

function header(res: WorkerResponse | undefined, name: string): string | undefined {
  return res?.headers.find(([k]) => k.toLowerCase() === name)?.[1];
}

/** Codes a close frame may carry: 1000-1003, 1007-1014, 3000-4999 (1005 and 1006 are only ever reported). */
function sendable(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

function closeClient(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === ws.CLOSED || ws.readyState === ws.CLOSING) return;
  if (code === 1006) return ws.terminate();
  // A close reason is at most 123 bytes.
  let r = Buffer.from(reason, 'utf8');
  if (r.byteLength > 123) r = r.subarray(0, 123);
  if (sendable(code)) ws.close(code, r.toString('utf8').replace(/\uFFFD$/, ''));
  else ws.close();
}
