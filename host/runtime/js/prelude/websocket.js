// WebSocket, WebSocketPair, MessageEvent and CloseEvent as Workers has them (loaded on first use, like events.js).
// A guest WebSocket is one end of a pair the host keeps (host/runtime/websockets.ts): what it sends goes to the host
// with a 'ws.send' call, and the host delivers the other end's messages and close as 'ws' entries (runtime.js
// dispatchSocket), each a request of its own for the limits. An end must be accepted before it sends or receives:
// accept() here, or a Durable Object's ctx.acceptWebSocket() (objects.js), which makes it hibernatable: its tags and
// attachment are kept by the host, and after the object left memory a new WebSocket stands for the same end.
// Prelude code: what it needs of the eager modules is passed in.

const INTERNAL = Symbol('internal');
const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const MAX_REASON_BYTES = 123;

/**
 * @param {object} deps
 * @param {any} deps.events  the event classes (events.js)
 * @param {(op: 'ws.send' | 'ws.close' | 'ws.drop', arg: unknown) => void} deps.call  a guest call to the host (runtime.js hostCall)
 * @param {() => number} deps.currentRequest  the request running now (its pairs are dropped when it ends unused)
 * @param {(op: string, arg: unknown, what: string) => unknown} deps.invoke  a synchronous host op: its value, or it throws naming `what`
 * @param {any} deps.DOMException
 * @param {(v: unknown) => unknown} deps.structuredClone
 */
export function createWebSocketClasses({ events, call, invoke, DOMException, structuredClone, currentRequest }) {
  const { EventTarget, Event } = events;
  /** end -> the guest's WebSocket for it, while this isolate has one. @type {Map<number, WebSocket>} */
  const byEnd = new Map();
  /** Promises returned by listeners of the event being dispatched (they extend its request, like waitUntil). */
  /** @type {Promise<unknown>[] | null} */
  let collecting = null;
  /** WebSockets each request made or received, until it ends: those it neither accepted nor handed over are dropped then. @type {Map<number, WebSocket[]>} */
  const madeBy = new Map();
  function track(ws) {
    const reqId = currentRequest();
    let list = madeBy.get(reqId);
    if (list === undefined) madeBy.set(reqId, (list = []));
    list.push(ws);
    return ws;
  }
  /** listener -> its wrapper (which collects a returned promise). @type {WeakMap<Function, Function>} */
  const wrappers = new WeakMap();

  function wrap(fn) {
    let w = wrappers.get(fn);
    if (w === undefined) {
      w = /** @this {unknown} */ function (ev) {
        const r = fn.call(this, ev);
        if (collecting !== null && r !== null && typeof r === 'object' && typeof r.then === 'function') collecting.push(Promise.resolve(r));
        return r;
      };
      wrappers.set(fn, w);
    }
    return w;
  }

  class MessageEvent extends Event {
    #data;
    /** @param {string} type @param {{ data?: unknown, bubbles?: boolean, cancelable?: boolean }} [init] */
    constructor(type, init = undefined) {
      super(type, init);
      this.#data = init?.data ?? null;
    }
    get data() {
      return this.#data;
    }
  }
  Object.defineProperty(MessageEvent.prototype, Symbol.toStringTag, { value: 'MessageEvent', configurable: true });

  class CloseEvent extends Event {
    #code;
    #reason;
    #wasClean;
    /** @param {string} type @param {{ code?: number, reason?: string, wasClean?: boolean, bubbles?: boolean, cancelable?: boolean }} [init] */
    constructor(type, init = undefined) {
      super(type, init);
      this.#code = Number(init?.code ?? 0);
      this.#reason = String(init?.reason ?? '');
      this.#wasClean = init?.wasClean === true;
    }
    get code() {
      return this.#code;
    }
    get reason() {
      return this.#reason;
    }
    get wasClean() {
      return this.#wasClean;
    }
  }
  Object.defineProperty(CloseEvent.prototype, Symbol.toStringTag, { value: 'CloseEvent', configurable: true });

  class WebSocket extends EventTarget {
    static CONNECTING = CONNECTING;
    static OPEN = OPEN;
    static CLOSING = CLOSING;
    static CLOSED = CLOSED;
    #end = 0;
    /** 'new' (not accepted), 'accepted', 'hibernatable', 'handed' (given away in a Response) */
    #mode = 'new';
    #readyState = OPEN;
    /** A Durable Object's output gate: sends wait until its writes before them are durable. @type {(() => Promise<unknown>) | null} */
    #gate = null;
    /** @type {Promise<unknown>} */
    #chain = Promise.resolve();
    #hasAttachment = false;
    /** @type {unknown} */
    #attachment = undefined;
    /** @type {Record<string, Function | null>} */
    #handlers = { message: null, close: null, error: null, open: null };

    /** @param {unknown} [url] @param {unknown} [protocols] */
    constructor(url = undefined, protocols = undefined) {
      super();
      if (url !== INTERNAL) {
        throw new TypeError('new WebSocket(url) (an outgoing WebSocket) is not supported on this host: use fetch(url, { headers: { Upgrade: "websocket" } }) and accept() the response\'s webSocket.');
      }
      this.#end = /** @type {number} */ (/** @type {unknown} */ (protocols));
      byEnd.set(this.#end, this);
    }

    get readyState() {
      return this.#readyState;
    }
    get url() {
      return null;
    }
    get protocol() {
      return '';
    }
    get extensions() {
      return '';
    }
    get binaryType() {
      return 'arraybuffer';
    }
    set binaryType(v) {
      if (v !== 'arraybuffer' && v !== 'blob') throw new SyntaxError(`binaryType must be "arraybuffer" or "blob", not ${String(v)}`);
    }
    get bufferedAmount() {
      return 0;
    }

    /** Takes this end's events here: the other end's messages start arriving. */
    accept(options = undefined) {
      if (this.#mode !== 'new') throw new TypeError(this.#mode === 'handed' ? 'This WebSocket was given away in a Response; it cannot be accepted here.' : 'This WebSocket was already accepted.');
      invoke('ws.accept', { end: this.#end }, 'WebSocket.accept()');
      this.#mode = 'accepted';
      void options;
    }

    /** @param {string | ArrayBuffer | ArrayBufferView} message */
    send(message) {
      if (this.#mode === 'new' || this.#mode === 'handed') {
        throw new TypeError('You must call one of accept() or state.acceptWebSocket() on this WebSocket before sending messages.');
      }
      if (this.#readyState !== OPEN) throw new TypeError("Can't call WebSocket send() after close().");
      let data;
      if (typeof message === 'string') data = message;
      else if (message instanceof ArrayBuffer) data = new Uint8Array(message.slice(0));
      else if (ArrayBuffer.isView(message)) data = new Uint8Array(message.buffer.slice(message.byteOffset, message.byteOffset + message.byteLength));
      else data = String(message);
      this.#post('ws.send', { end: this.#end, data });
    }

    /**
     * @param {number} [code]  1000, or 3000-4999
     * @param {string} [reason]  at most 123 bytes of UTF-8
     */
    close(code = undefined, reason = undefined) {
      if (code !== undefined) {
        code = Math.trunc(Number(code));
        if (code !== 1000 && !(code >= 3000 && code <= 4999)) throw new DOMException(`The close code must be 1000 or in the range 3000-4999; got ${code}.`, 'InvalidAccessError');
      }
      const r = reason === undefined ? '' : String(reason);
      if (utf8Length(r) > MAX_REASON_BYTES) throw new DOMException(`The close reason must be at most ${MAX_REASON_BYTES} bytes of UTF-8.`, 'SyntaxError');
      if (this.#readyState === CLOSING || this.#readyState === CLOSED) return;
      if (this.#mode === 'new' || this.#mode === 'handed') throw new TypeError('You must call one of accept() or state.acceptWebSocket() on this WebSocket before closing it.');
      this.#readyState = CLOSING;
      this.#post('ws.close', { end: this.#end, code: code ?? 1000, reason: r });
    }

    /** Keeps `value` (structured-cloneable, at most 2,048 bytes) with this WebSocket; it survives hibernation. */
    serializeAttachment(value) {
      const copy = structuredClone(value);
      if (this.#mode === 'hibernatable') invoke('ws.attach', { end: this.#end, value: copy }, 'serializeAttachment()');
      this.#attachment = copy;
      this.#hasAttachment = true;
    }

    /** A copy of what serializeAttachment() kept, or null. */
    deserializeAttachment() {
      if (!this.#hasAttachment && this.#mode === 'hibernatable' && this.#readyState !== CLOSED) {
        this.#attachment = invoke('ws.attachment', { end: this.#end }, 'deserializeAttachment()');
        this.#hasAttachment = true;
      }
      return this.#hasAttachment ? structuredClone(this.#attachment) ?? null : null;
    }

    addEventListener(type, listener, options = undefined) {
      super.addEventListener(type, typeof listener === 'function' ? wrap(listener) : listener, options);
    }

    removeEventListener(type, listener, options = undefined) {
      super.removeEventListener(type, (typeof listener === 'function' && wrappers.get(listener)) || listener, options);
    }

    get onmessage() {
      return this.#handlers.message;
    }
    set onmessage(fn) {
      this.#setHandler('message', fn);
    }
    get onclose() {
      return this.#handlers.close;
    }
    set onclose(fn) {
      this.#setHandler('close', fn);
    }
    get onerror() {
      return this.#handlers.error;
    }
    set onerror(fn) {
      this.#setHandler('error', fn);
    }
    get onopen() {
      return this.#handlers.open;
    }
    set onopen(fn) {
      this.#setHandler('open', fn);
    }

    #setHandler(type, fn) {
      const old = this.#handlers[type];
      if (old) this.removeEventListener(type, old);
      this.#handlers[type] = typeof fn === 'function' ? fn : null;
      if (typeof fn === 'function') this.addEventListener(type, fn);
    }

    #post(op, arg) {
      const gate = this.#gate;
      if (gate === null) return call(op, arg);
      // In a Durable Object, what it sends leaves once the writes it made before are durable (the output gate).
      this.#chain = Promise.all([this.#chain, gate()]).then(() => call(op, arg));
      this.#chain.catch(() => {});
    }

    static {
      internals.endOf = (ws) => ws.#end;
      internals.modeOf = (ws) => ws.#mode;
      internals.setMode = (ws, mode, gate) => {
        ws.#mode = mode;
        if (gate !== undefined) ws.#gate = gate;
      };
      internals.setAttachment = (ws, value) => {
        ws.#attachment = value;
        ws.#hasAttachment = true;
      };
      internals.pushAttachment = (ws) => {
        if (ws.#hasAttachment) invoke('ws.attach', { end: ws.#end, value: ws.#attachment }, 'serializeAttachment()');
      };
      internals.closed = (ws) => {
        ws.#readyState = CLOSED;
        byEnd.delete(ws.#end);
      };
    }
  }
  for (const [k, v] of Object.entries({ CONNECTING, OPEN, CLOSING, CLOSED })) Object.defineProperty(WebSocket.prototype, k, { value: v, enumerable: true });
  Object.defineProperty(WebSocket.prototype, Symbol.toStringTag, { value: 'WebSocket', configurable: true });

  class WebSocketPair {
    constructor() {
      const [a, b] = /** @type {[number, number]} */ (invoke('ws.pair', null, 'new WebSocketPair()'));
      this[0] = track(new WebSocket(INTERNAL, a));
      this[1] = track(new WebSocket(INTERNAL, b));
    }
  }
  Object.defineProperty(WebSocketPair.prototype, Symbol.toStringTag, { value: 'WebSocketPair', configurable: true });

  /** ctx.setWebSocketAutoResponse()'s argument: a text message answered by the host without waking the object. */
  class WebSocketRequestResponsePair {
    #request;
    #response;
    constructor(request, response) {
      if (typeof request !== 'string' || typeof response !== 'string') throw new TypeError('WebSocketRequestResponsePair: the request and the response must be strings.');
      this.#request = request;
      this.#response = response;
    }
    get request() {
      return this.#request;
    }
    get response() {
      return this.#response;
    }
  }

  return {
    WebSocket,
    WebSocketPair,
    MessageEvent,
    CloseEvent,
    WebSocketRequestResponsePair,
    isWebSocket: (v) => v instanceof WebSocket,
    endOf: (ws) => internals.endOf(ws),
    /** Whether a WebSocket can still be given away in a Response (not accepted here, not given already). */
    transferable: (ws) => internals.modeOf(ws) === 'new',
    /** The WebSocket leaves in a Response: its end is the host's to give to whoever takes the response. */
    handOver(ws) {
      if (internals.modeOf(ws) !== 'new') throw new TypeError('A WebSocket returned in a Response must not have been accepted (return the client end of a WebSocketPair, or a fetched response\'s webSocket).');
      internals.setMode(ws, 'handed');
      byEnd.delete(internals.endOf(ws));
      return internals.endOf(ws);
    },
    /** A response carried end `end` here (a fetched response's webSocket). */
    received: (end) => byEnd.get(end) ?? track(new WebSocket(INTERNAL, end)),
    /**
     * ctx.acceptWebSocket(): the end becomes hibernatable, held by the object at `address`; its sends pass `gate`.
     * @param {WebSocket} ws
     */
    hibernate(ws, address, tags, gate) {
      if (internals.modeOf(ws) !== 'new') throw new TypeError('acceptWebSocket(): this WebSocket was already accepted (or given away).');
      invoke('ws.accept', { end: internals.endOf(ws), object: address, tags }, 'acceptWebSocket()');
      internals.setMode(ws, 'hibernatable', gate);
      internals.pushAttachment(ws);
    },
    /**
     * The guest WebSocket for an object's hibernatable end (a new one after the object left memory, with the
     * attachment the host kept, when the event brings it).
     * @param {number} end
     * @param {() => Promise<unknown>} gate
     * @param {unknown} [attachment]
     */
    hibernated(end, gate, attachment = undefined) {
      let ws = byEnd.get(end);
      if (ws === undefined) {
        ws = new WebSocket(INTERNAL, end);
        internals.setMode(ws, 'hibernatable', gate);
        if (attachment !== undefined) internals.setAttachment(ws, attachment);
      }
      return ws;
    },
    /**
     * Delivers a message or close to the end's listeners; returns the promises they returned (the event lasts until
     * they settle). For an end this isolate no longer has, nothing happens.
     * @param {number} end
     * @param {import('../../../core/isolate-protocol.ts').SocketEvent} ev
     * @returns {Promise<unknown>[]}
     */
    deliver(end, ev) {
      const ws = byEnd.get(end);
      if (ws === undefined) return [];
      const out = [];
      const saved = collecting;
      collecting = out;
      try {
        ws.dispatchEvent(eventOf(ws, ev));
      } finally {
        collecting = saved;
      }
      return out;
    },
    /** The event object for `ev` (a close also marks the WebSocket closed). */
    eventOf,
    /**
     * Request `reqId` ended: the WebSockets it made or received and neither accepted nor handed over are dropped (the
     * host forgets their ends, their peers hear 1006), so that an unused pair holds nothing and pins no isolate.
     */
    requestEnded(reqId) {
      const list = madeBy.get(reqId);
      if (list === undefined) return;
      madeBy.delete(reqId);
      const unused = [];
      for (const ws of list) {
        if (internals.modeOf(ws) !== 'new') continue;
        internals.setMode(ws, 'handed');
        internals.closed(ws);
        unused.push(internals.endOf(ws));
      }
      if (unused.length > 0) call('ws.drop', unused);
    },
  };

  function eventOf(ws, ev) {
    if (ev.t === 'close') {
      internals.closed(ws);
      return new CloseEvent('close', { code: ev.code, reason: ev.reason, wasClean: ev.wasClean });
    }
    return new MessageEvent('message', { data: messageData(ev.data) });
  }
}

/** The length of `s` in UTF-8 (lone surrogates count as U+FFFD, 3 bytes). */
function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** A message's data as Workers gives it: a string, or an ArrayBuffer. */
export function messageData(data) {
  if (typeof data === 'string') return data;
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data.buffer : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
}

/** Access to WebSocket's private state for the functions above (set in its static block). */
const internals = /** @type {{ endOf: (ws: any) => number, modeOf: (ws: any) => string, setMode: (ws: any, mode: string, gate?: (() => Promise<unknown>) | null) => void, setAttachment: (ws: any, value: unknown) => void, pushAttachment: (ws: any) => void, closed: (ws: any) => void }} */ ({});
