// Loader for the WebSocket classes (websocket.js): evaluated on first use, like events.js; Response, the runtime and
// Durable Objects reach them through here. The runtime wires the host call they send with (setSocketCall).
import { DOMException } from './dom-exception.js';
import { structuredClone } from './structured-clone.js';
import { hostInvoke } from './internal/bridge.js';
import { events } from './events.js';
import { setWebSocketCheck } from './response.js';

/** @typedef {ReturnType<typeof import('./websocket.js').createWebSocketClasses>} SocketClasses */

/** @type {SocketClasses | null} */
let loaded = null;
/** @type {((op: 'ws.send' | 'ws.close' | 'ws.drop', arg: unknown) => void) | null} */
let sendCall = null;
/** @type {() => number} */
let currentRequest = () => 0;

/**
 * @param {(op: 'ws.send' | 'ws.close' | 'ws.drop', arg: unknown) => void} fn
 * @param {() => number} current  the request running now
 */
export function setSocketCall(fn, current) {
  sendCall = fn;
  currentRequest = current;
}

/** @param {number} reqId  a request that ended */
export function socketRequestEnded(reqId) {
  if (loaded !== null) loaded.requestEnded(reqId);
}

/** @returns {SocketClasses} */
export function webSockets() {
  if (loaded === null) {
    // eslint-disable-next-line no-undef
    loaded = require('./websocket.js').createWebSocketClasses({
      events: events(),
      call: (op, arg) => {
        if (sendCall === null) throw new TypeError('WebSocket: the host is not connected');
        sendCall(op, arg);
      },
      invoke: socketOp,
      currentRequest: () => currentRequest(),
      DOMException,
      structuredClone,
    });
  }
  return /** @type {SocketClasses} */ (loaded);
}

/**
 * A synchronous WebSocket host op (websocket.js, objects.js): its value, or a TypeError naming `what` and the
 * host's reason.
 * @param {string} op
 * @param {unknown} arg
 * @param {string} what  the API the guest called, for the error
 */
export function socketOp(op, arg, what) {
  const reply = /** @type {{ v?: unknown, x?: string }} */ (hostInvoke(/** @type {any} */ (op), arg));
  if (reply && 'v' in reply) return reply.v;
  throw new TypeError(`${what}: ${reply && 'x' in reply ? reply.x : 'the host refused'}`);
}

/**
 * `v instanceof WebSocket`, without loading the implementation (no WebSocket can exist before it is).
 * @param {unknown} v
 */
export function isWebSocket(v) {
  return loaded !== null && loaded.isWebSocket(v);
}

setWebSocketCheck(isWebSocket);

export const SOCKET_GLOBALS = ['WebSocket', 'WebSocketPair', 'MessageEvent', 'CloseEvent', 'WebSocketRequestResponsePair'];
