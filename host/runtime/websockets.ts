// WebSockets as the host sees them: pairs of ends, each end held by whoever has it now (the isolate that made the
// pair, an isolate a response carried it to, a Durable Object that accepted it for hibernation, or the client's
// network socket), with what one end sends delivered to the holder of the other, in order.
//
// - An end is not `ready` until its holder can take events: a guest end once accept() or ctx.acceptWebSocket() ran,
//   a network end at once. Until then what is sent to it waits here (as Workers buffers what a server sends before
//   the client connected).
// - A hibernatable end (ctx.acceptWebSocket) is held by its object, not by an isolate: its tags and attachment live
//   here, so the object (even its whole isolate) may leave memory; the next event for it starts the object again.
// - A close sent from one end is delivered to the other, and the pair is gone once a close has reached each side
//   (a network end answers a close itself; between two guest ends the host answers for the receiver).
import { serialize } from 'node:v8';

/** A message's data: text, or binary (an ArrayBuffer in the guest). */
export type WsData = string | Uint8Array;

/** What one end sends the other. */
export type WsEvent = { t: 'message'; data: WsData } | { t: 'close'; code: number; reason: string; wasClean: boolean };

/** Whoever holds an end: events sent from the other end are delivered to it. */
export interface WsHolder {
  /** The worker a guest holder belongs to (its guest may name the end), or null for the network. */
  readonly worker: string | null;
  /** Delivers `ev`; a guest holder returns when its handlers are done with it (the sender's backpressure). */
  deliver(end: number, ev: WsEvent): Promise<void> | void;
}

/** A Durable Object, as the holder of its hibernatable ends. */
export interface ObjectAddress {
  className: string;
  id: string;
}

/** An object's ends as its guest sees them (ctx.getWebSockets). */
export interface HibernatableEnd {
  end: number;
  tags: string[];
}

/** Limits Workers documents for hibernatable WebSockets. */
export const MAX_TAGS = 10;
export const MAX_TAG_LENGTH = 256;
export const MAX_ATTACHMENT_BYTES = 2048;
/** A message larger than this is refused (the close code says so): Workers' limit for received messages. */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;
/** Events waiting for an end's holder to accept it, at most; beyond, the pair is closed (1011). */
const MAX_PENDING = 1024;

interface End {
  holder: WsHolder | null;
  ready: boolean;
  pending: WsEvent[];
  /** A close reached this end's holder (or it is gone): nothing more is delivered to it. */
  closed: boolean;
  /** Set when the end is hibernatable: the object holding it, its tags and attachment. */
  object: { worker: string; address: ObjectAddress; key: string; tags: string[]; attachment: unknown; autoResponseAt: number | null } | null;
}

/** Resolves a worker's serving instance (the runtime's instance()), to wake an object for its hibernatable ends. */
/** What an object's event carries of its end: the attachment (read when the event is handed over, before a close drops it). */
export interface ObjectEndState {
  attachment: unknown;
}

interface SocketEventTarget {
  socketEvent(end: number, ev: WsEvent, object?: ObjectAddress, state?: ObjectEndState): Promise<void>;
}

/** Resolves a worker's serving instance (the runtime's instance()), to wake an object for its hibernatable ends. */
export type WorkerResolver = (worker: string) => SocketEventTarget | Promise<SocketEventTarget> | null;

export class WebSocketHub {
  private nextPair = 1;
  private readonly ends = new Map<number, End>();
  /** `<worker>/<class>/<id>` -> the object's hibernatable ends, in the order they were accepted. */
  private readonly byObject = new Map<string, Set<number>>();
  /** `<worker>/<class>/<id>` -> its auto-response (a request text answered without waking it). */
  private readonly autoResponses = new Map<string, { request: string; response: string }>();
  private readonly objectHolders = new Map<string, WsHolder>();
  private readonly resolve: WorkerResolver;

  constructor(resolve: WorkerResolver) {
    this.resolve = resolve;
  }

  /** Open pairs' ends (for tests and metrics). */
  get size(): number {
    return this.ends.size;
  }

  /** A new pair whose two ends `holder` holds; returns their ids (the peer of end n is n ^ 1). */
  pair(holder: WsHolder): [number, number] {
    const p = this.nextPair++;
    const a = p * 2;
    const b = a + 1;
    for (const id of [a, b]) this.ends.set(id, { holder, ready: false, pending: [], closed: false, object: null });
    return [a, b];
  }

  holder(end: number): WsHolder | null {
    return this.ends.get(end)?.holder ?? null;
  }

  /** Whether `worker`'s guest may act on `end`: its instance holds it, or one of its objects does. */
  heldBy(end: number, worker: string, instance: WsHolder): boolean {
    const e = this.ends.get(end);
    if (!e || e.closed) return false;
    return e.holder === instance || (e.object !== null && e.object.worker === worker);
  }

  /** `end` passes to `holder` (a response carried it there); events wait until it is ready. */
  hold(end: number, holder: WsHolder, ready = false): boolean {
    const e = this.ends.get(end);
    if (!e || e.closed || e.object !== null) return false;
    e.holder = holder;
    e.ready = false;
    if (ready) this.ready(end);
    return true;
  }

  /** The holder takes events for `end` now: what waited is delivered, in order. */
  ready(end: number): void {
    const e = this.ends.get(end);
    if (!e || e.ready || e.closed) return;
    e.ready = true;
    const pending = e.pending.splice(0);
    for (const ev of pending) this.deliverTo(end, e, ev);
  }

  /**
   * `end` becomes hibernatable: held by the object at `address` of `worker` (whose isolate may go away), with `tags`.
   * Throws (for the guest) when the tags break Workers' limits.
   */
  hibernate(end: number, worker: string, address: ObjectAddress, tags: string[]): void {
    const e = this.ends.get(end);
    if (!e || e.closed) throw new TypeError('acceptWebSocket(): this WebSocket is closed or no longer held by this object.');
    if (tags.length > MAX_TAGS) throw new RangeError(`acceptWebSocket(): at most ${MAX_TAGS} tags per WebSocket; got ${tags.length}.`);
    for (const t of tags) {
      if (t.length > MAX_TAG_LENGTH) throw new RangeError(`acceptWebSocket(): a tag is at most ${MAX_TAG_LENGTH} characters; one has ${t.length}.`);
    }
    const key = `${worker}/${address.className}/${address.id}`;
    e.object = { worker, address: { className: address.className, id: address.id }, key, tags: [...new Set(tags)], attachment: undefined, autoResponseAt: null };
    e.holder = this.objectHolder(worker, address, key);
    let set = this.byObject.get(key);
    if (!set) this.byObject.set(key, (set = new Set()));
    set.add(end);
    this.ready(end);
  }

  /** The hibernatable ends of an object, with `tag` when given. */
  objectEnds(worker: string, address: ObjectAddress, tag?: string): HibernatableEnd[] {
    const set = this.byObject.get(`${worker}/${address.className}/${address.id}`);
    if (!set) return [];
    const out: HibernatableEnd[] = [];
    for (const end of set) {
      const o = this.ends.get(end)?.object;
      if (o && (tag === undefined || o.tags.includes(tag))) out.push({ end, tags: [...o.tags] });
    }
    return out;
  }

  /** serializeAttachment(): kept here, so that it survives the object leaving memory. */
  setAttachment(end: number, value: unknown): void {
    const o = this.ends.get(end)?.object;
    if (!o) return;
    o.attachment = value;
  }

  attachment(end: number): unknown {
    return this.ends.get(end)?.object?.attachment;
  }

  /** The size of a value as an attachment is measured (structured clone, as V8 serializes it). */
  static attachmentSize(value: unknown): number {
    return serialize(value).byteLength;
  }

  setAutoResponse(worker: string, address: ObjectAddress, pair: { request: string; response: string } | null): void {
    const key = `${worker}/${address.className}/${address.id}`;
    if (pair === null) this.autoResponses.delete(key);
    else this.autoResponses.set(key, pair);
  }

  autoResponseTimestamp(end: number): number | null {
    return this.ends.get(end)?.object?.autoResponseAt ?? null;
  }

  /**
   * `from` sends `ev` to its peer. A close ends the pair once each side has one. Returns, for a message delivered to
   * a guest, when its handlers are done with it (a network sender stops reading while too many are in flight).
   */
  send(from: number, ev: WsEvent): Promise<void> | void {
    const me = this.ends.get(from);
    if (!me || me.closed) return;
    const peerId = from ^ 1;
    const peer = this.ends.get(peerId);
    if (ev.t === 'close') {
      // This side said its last word; its holder hears the answering close (from the network, or from us below).
      if (!peer || peer.closed) return this.drop(from);
      this.deliverOrWait(peerId, peer, ev);
      if (peer.holder !== null && peer.holder.worker !== null) {
        // The receiver is a guest: the host answers the close for it, as a network client's library would.
        this.deliverOrWait(from, me, { t: 'close', code: ev.code, reason: ev.reason, wasClean: ev.wasClean });
      }
      return;
    }
    if (!peer || peer.closed) return;
    return this.deliverOrWait(peerId, peer, ev);
  }

  /**
   * `end` is over: its network socket closed (after a closing handshake, or not: `wasClean`), or its holder is gone
   * (an isolate disposed). Its peer hears the close unless it had one already, and the pair ends.
   */
  gone(end: number, code: number, reason: string, wasClean = false): void {
    const e = this.ends.get(end);
    if (!e) return;
    e.closed = true;
    const peerId = end ^ 1;
    const peer = this.ends.get(peerId);
    if (peer && !peer.closed) this.deliverOrWait(peerId, peer, { t: 'close', code, reason, wasClean });
    this.drop(end);
  }

  /** Ends `holder` holds (not hibernatable ones: those outlive their isolate). */
  heldEnds(holder: WsHolder): number[] {
    const out: number[] = [];
    for (const [id, e] of this.ends) if (e.holder === holder && e.object === null && !e.closed) out.push(id);
    return out;
  }

  /** Every end of `worker`'s guests, hibernatable or not (a redeploy closes them, as Workers does). */
  workerEnds(worker: string): number[] {
    const out: number[] = [];
    for (const [id, e] of this.ends) {
      if (e.closed) continue;
      if (e.object?.worker === worker || (e.holder !== null && e.holder.worker === worker)) out.push(id);
    }
    return out;
  }

  private deliverOrWait(id: number, e: End, ev: WsEvent): Promise<void> | void {
    if (e.closed) return;
    if (!e.ready || e.holder === null) {
      if (e.pending.length >= MAX_PENDING) {
        // Nobody takes this end's events: end the pair rather than hold messages without bound.
        e.pending.length = 0;
        this.gone(id, 1011, 'the WebSocket was not accepted');
        return;
      }
      e.pending.push(ev);
      return;
    }
    return this.deliverTo(id, e, ev);
  }

  private deliverTo(id: number, e: End, ev: WsEvent): Promise<void> | void {
    if (e.closed || e.holder === null) return;
    if (ev.t === 'message' && typeof ev.data === 'string' && e.object !== null) {
      // An object's auto-response answers a matching text message without waking it.
      const auto = this.autoResponses.get(e.object.key);
      if (auto !== undefined && auto.request === ev.data) {
        e.object.autoResponseAt = Date.now();
        this.send(id, { t: 'message', data: auto.response });
        return;
      }
    }
    // Nothing more reaches an end after a close.
    if (ev.t === 'close') e.closed = true;
    const done = e.holder.deliver(id, ev);
    if (e.closed) this.drop(id);
    return done;
  }

  /** Forgets `end`; the pair goes when both ends are gone. */
  private drop(end: number): void {
    const e = this.ends.get(end);
    if (!e) return;
    e.closed = true;
    e.pending.length = 0;
    if (e.object !== null) {
      const set = this.byObject.get(e.object.key);
      set?.delete(end);
      if (set && set.size === 0) {
        this.byObject.delete(e.object.key);
        this.objectHolders.delete(e.object.key);
      }
    }
    const peer = this.ends.get(end ^ 1);
    if (!peer || peer.closed) {
      this.ends.delete(end);
      this.ends.delete(end ^ 1);
    }
  }

  /**
   * The holder of an object's hibernatable ends: an event starts the worker's instance (and in it the object) if
   * needed. Events for one object are handed over in the order they came, even while its isolate is starting.
   */
  private objectHolder(worker: string, address: ObjectAddress, key: string): WsHolder {
    let h = this.objectHolders.get(key);
    if (h) return h;
    let chain: Promise<void> = Promise.resolve();
    const resolve = this.resolve;
    // The object cannot take the event: the other side hears a close.
    const lost = (end: number, message: string): void => this.gone(end, 1011, message);
    const ends = this.ends;
    h = {
      worker,
      deliver(end, ev) {
        // Read now: a close drops the end once it is handed over.
        const state: ObjectEndState = { attachment: ends.get(end)?.object?.attachment };
        let finished!: () => void;
        const done = new Promise<void>((r) => (finished = r));
        // The chain orders the handovers; the events themselves run as the object's gates let them.
        chain = chain.then(async () => {
          try {
            const got = resolve(worker);
            if (got === null) {
              finished();
              return lost(end, `worker "${worker}" is no longer deployed`);
            }
            const inst = got instanceof Promise ? await got : got;
            inst.socketEvent(end, ev, address, state).then(finished, finished);
          } catch (err) {
            finished();
            lost(end, `the Durable Object could not be started: ${(err as Error).message}`);
          }
        });
        return done;
      },
    };
    this.objectHolders.set(key, h);
    return h;
  }
}
