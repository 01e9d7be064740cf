// The contract between the host and the isolate prelude (host/runtime/js/prelude): every value that crosses the
// isolate boundary, in both directions, as types only. The host side (host/runtime) imports these; the prelude, plain
// JS, names them in JSDoc (`@import`) and is type-checked against them (tsconfig.prelude.json). Everything here
// crosses as an isolated-vm copy (plain objects, arrays, strings, numbers, booleans, null, Uint8Array; never functions
// or class instances), but for the host functions themselves (References) and ComponentWorkerConfig (see there).
//
// The channels:
//   host -> isolate   `entry(cmd)`: one function the host enters the isolate through (runtime.js, createRuntime),
//                     with an EntryCommand; it returns an EntryEnvelope `{ r, o }` (a promise of one, to the host).
//   isolate -> host   `call(reqId, op, arg)`: fire-and-forget (GuestCalls); most travel in the envelope's outbox.
//                     `invoke(op, arg)`: synchronous (InvokeOps), for guests that cannot wait (components).
//                     `wait(ticket)`: the answer of an invoke the host could not give at once.
//                     `log`, `randomBytes`, `urlParse`: see HostFunctions.
// Everything a guest sends is untrusted: the host validates each field whatever these types say.

// ---------------------------------------------------------------------------------------------------------------
// Shared shapes

/**
 * What the guest sent where a T is expected, before the host checked it: every field may be missing or of any type.
 * The host reads guest arguments through this and validates each field it uses.
 */
export type Untrusted<T> = { [K in keyof T]?: unknown };

/** HTTP header pairs, in order, as [name, value]; Set-Cookie values each in their own pair. */
export type HeaderList = Array<[name: string, value: string]>;

/** An error thrown in the isolate, described for the host's tail log (runtime.js, describeError). */
export interface GuestErrorDescription {
  name: string;
  message: string;
  /** '' when the thrown value was not an Error. */
  stack: string;
}

/**
 * A limit breach the isolate detected and reports in an EntryFailure: 'E_MEMORY_LIMIT' (WebAssembly memory over the
 * worker's budget) or 'E_FUEL_LIMIT' (a component ran out of fuel). Taken from an error's `edgeLimit` property, which
 * guest code could set too: the host acts only on the codes it knows.
 */
export type GuestLimitCode = 'E_MEMORY_LIMIT' | 'E_FUEL_LIMIT' | (string & {});

/** The answer `{ deferred: true }` to an entry whose result was not ready within a few microtask turns: it follows as a GuestCall. */
export interface Deferred {
  deferred: true;
}

// ---------------------------------------------------------------------------------------------------------------
// Entry commands: host -> isolate

/** A request for the worker's fetch handler. Answered by a FetchEntryResult, or Deferred and then a 'response' call. */
export interface FetchCommand {
  t: 'fetch';
  reqId: number;
  /** Upper-case token, already validated by the host. */
  method: string;
  /** Absolute, serialized URL. */
  url: string;
  headers: HeaderList;
  /** The body is pulled with 'body.read' calls (answered by ChunkCommands) when the guest reads it. */
  hasBody: boolean;
  /** `request.cf`, when the host has one. */
  cf?: Record<string, unknown>;
  /** `request.cf` as JSON text instead (a synchronous entry's, SyncFetchArgs), parsed when the worker first reads it. */
  cfJson?: string;
  /** For a Durable Object of this worker: the event goes to that object (created if it is not alive). */
  object?: { className: string; id: string };
}

/** A cron trigger (or a manual one) for the worker's scheduled handler. Answered by a ScheduledEntryResult or Deferred. */
export interface ScheduledCommand {
  t: 'scheduled';
  reqId: number;
  /** The cron expression that fired ('' for a manual trigger without one). */
  cron: string;
  /** When the run was due, in ms since the epoch. */
  scheduledTime: number;
}

/**
 * What answers a pending pull of a byte stream: one chunk, its end, or its failure (settlePull in runtime.js). The
 * `?: undefined` members only let a reader test each field on the union.
 */
export type ChunkPayload =
  | { chunk: Uint8Array; done?: undefined; error?: undefined }
  | { done: true; chunk?: undefined; error?: undefined }
  | { error: string; chunk?: undefined; done?: undefined };

/** The next piece of the incoming request's body, answering the guest's 'body.read' call. */
export type ChunkCommand = { t: 'chunk'; reqId: number } & ChunkPayload;

/** A timer the guest set ('timer.set') fires. */
export interface TimerCommand {
  t: 'timer';
  reqId: number;
  /** The guest's timer id. */
  id: number;
}

/** The head of the response to a guest's fetch (the 'fetch' call), or why there is none. */
export type FetchReply =
  | {
      status: number;
      statusText: string;
      headers: HeaderList;
      /** The final URL, after redirects. */
      url: string;
      redirected: boolean;
      /** True when a body follows, read chunk by chunk with 'fetch.read' calls. */
      body: boolean;
      /** The whole (non-empty) body, when it came with the head (`body` is then false). */
      bytes?: Uint8Array;
      /** A 101 carrying a WebSocket: the end the guest now holds (response.webSocket). */
      ws?: number;
      error?: undefined;
    }
  | { error: string };

/**
 * Answers the guest's 'fetch' call. `reqId` is absent when the request already ended (the answer is only there so
 * that the guest's promise does not stay pending).
 */
export type FetchedCommand = { t: 'fetched'; reqId?: number; id: number } & FetchReply;

/** The next piece of a fetch's response body, answering a 'fetch.read' call; `reqId` absent when the request ended. */
export type FetchChunkCommand = { t: 'fchunk'; reqId?: number; id: number } & ChunkPayload;

/** Settles the guest's pending host op (HostOpRequest) `id`. `reqId` is 0 for an op from the global scope. */
export type SettledCommand = { t: 'settled'; reqId: number; id: number } & HostOpOutcome;

/**
 * Settles several host ops of no request (reqId 0: a Durable Object's storage writes) at once: those a group commit
 * made durable together go in one entry rather than one each.
 */
export interface SettledAllCommand {
  t: 'settledAll';
  items: Array<{ id: number } & HostOpOutcome>;
}

/** Asks a guest stream for its next chunk: a response body (EntryResult `stream`) or a fetch's request body (FetchRequest `stream`). */
export interface PullCommand {
  t: 'pull';
  reqId: number;
  /** The stream id the guest gave. */
  id: number;
}

/** The host no longer wants a guest stream (the client went away, the upstream failed): the guest cancels it. */
export interface CancelCommand {
  t: 'cancel';
  reqId: number;
  id: number;
}

/** The request is over on the host side: the guest drops what it still holds for it (timers, streams, fetches, host ops). */
export interface EndCommand {
  t: 'end';
  reqId: number;
}

/** Asks whether WebAssembly memories exceed the isolate's budget; also the pool's warm-up entry. */
export interface MemoryCommand {
  t: 'memory';
}

/**
 * The host's synchronous entries (worker-instance.ts, enterSync): `sync` runs `cmd` on the host's thread and keeps its
 * outcome in the isolate, `take` hands it over (pending while the entry's promise has not settled), and `await`, an
 * asynchronous entry, waits for a pending one.
 */
export interface SyncCommand {
  t: 'sync';
  cmd: EntryCommand;
}
/**
 * A request's synchronous entry, the most frequent one, as primitive arguments instead of a SyncCommand to copy (a
 * structured copy of its object, headers and `cf` cost more than running a small handler), its text fields as one
 * string of lines: `entry(SYNC_FETCH, reqId, hasBody, "method\nurl\ncfJson ('' for none)\nname\nvalue...")`.
 * Not for a Durable Object's request (`object`), nor for one with a line feed in a field: those go as a SyncCommand.
 */
export const SYNC_FETCH = 1;
export type SyncFetchArgs = [typeof SYNC_FETCH, number, boolean, string];

/** A synchronous entry's `take` as a primitive argument (the same as a TakeCommand). */
export const SYNC_TAKE = 2;

/**
 * What `take` returns for a plain response (a ResponseResult of only ok, status, statusText, headers, a whole body or
 * none, and released) with no guest calls in its outbox: `[SYNC_FLAT, status, statusText, released, body, name,
 * value, name, value, ...]`, which crosses for less than the SyncOutcome object and its header pairs.
 */
export const SYNC_FLAT = 3;
export type FlatResponse = [typeof SYNC_FLAT, number, string, boolean, Uint8Array | null, ...string[]];
/**
 * And for one whose body is small (at most 16 KiB) and whose statusText and header values hold no line feed, a
 * string: `status \n released (0|1) \n hasBody (0|1) \n statusText (\n name \n value)* \n \n body`, the body one
 * char per byte (latin1). A string crosses for a fraction of what a Uint8Array's copy costs (a new ArrayBuffer).
 */
export type FlatResponseText = string;

export interface TakeCommand {
  t: 'take';
}
export interface AwaitCommand {
  t: 'await';
}

/** What `take` returns: the envelope, the message the entry failed with, or pending. */
export type SyncOutcome = { done: EntryEnvelope; failed?: undefined; pending?: undefined } | { failed: string; done?: undefined; pending?: undefined } | { pending: true; done?: undefined; failed?: undefined };

/** What one WebSocket end sends the other (host/runtime/websockets.ts WsEvent). */
export type SocketEvent = { t: 'message'; data: string | Uint8Array } | { t: 'close'; code: number; reason: string; wasClean: boolean };

/**
 * An event for a WebSocket end the guest holds: a message from the other end, or its close. Answered like a scheduled
 * run (SocketEntryResult or Deferred): the event's handlers and the work they wait for are its request.
 */
export interface SocketCommand {
  t: 'ws';
  reqId: number;
  /** The end's id (websocket.js keeps the guest's WebSocket for it). */
  end: number;
  ev: SocketEvent;
  /** A hibernatable end's Durable Object: the event goes to its webSocketMessage/Close handler (started if need be). */
  object?: { className: string; id: string };
  /** With `object`: the end's attachment (serializeAttachment), for a WebSocket made after the object left memory. */
  attachment?: unknown;
}

/** Every command the host enters the isolate with, discriminated by `t`. */
export type EntryCommand =
  | FetchCommand
  | ScheduledCommand
  | SocketCommand
  | ChunkCommand
  | TimerCommand
  | FetchedCommand
  | FetchChunkCommand
  | SettledCommand
  | SettledAllCommand
  | PullCommand
  | CancelCommand
  | EndCommand
  | MemoryCommand;

/** The entry kinds, by `t`. */
export type EntryKind = EntryCommand['t'];

/** The command of one entry kind. */
export type EntryCommandOf<K extends EntryKind> = Extract<EntryCommand, { t: K }>;

// ---------------------------------------------------------------------------------------------------------------
// Entry results: isolate -> host, in the envelope's `r`

/** The worker's response (runtime.js, toHostResponse). */
export interface ResponseResult {
  ok: true;
  /** 0 (with statusText '' and no headers) when `streamed`: the head went out through 'resp.begin'. */
  status: number;
  statusText: string;
  headers: HeaderList;
  /** The whole body, or null when there is none or one of `stream`, `forward`, `streamed` carries it. */
  body: Uint8Array | null;
  /** The body is this guest stream: the host pulls it (PullCommand) as the client reads. */
  stream?: number;
  /** The body is that of this guest fetch, untouched: the host forwards it from the upstream without the guest. */
  forward?: number;
  /** The body is a host stream the guest never read (HostBodyRef): the host sends it without the guest. */
  hostBody?: HostBodyRef;
  /** A component wrote its body through 'resp.begin'/'resp.write' while it ran: it went out already. */
  streamed?: true;
  /** waitUntil() work goes on after the response; a 'waitUntil.done' call reports when it settled. */
  waitUntil?: true;
  /** The guest kept nothing of the request: the host must send no EndCommand. */
  released?: true;
  /** WebAssembly fuel the request used, when metered. */
  fuel?: number;
  /** A 101 with `webSocket`: the id of the end the response hands over (its pair's other end stays with its holder). */
  ws?: number;
}

/** A WebSocket event whose handlers completed (runtime.js, dispatchSocket). */
export interface SocketSuccess {
  ok: true;
  waitUntil?: true;
  released?: true;
}

/** A scheduled handler that completed (runtime.js, dispatchScheduled). */
export interface ScheduledSuccess {
  ok: true;
  /** The handler called controller.noRetry(). */
  noRetry: boolean;
  waitUntil?: true;
  released?: true;
}

/** A handler that threw, rejected, returned no Response, or broke a limit the isolate checks (runtime.js, failure). */
export interface EntryFailure {
  ok: false;
  error: GuestErrorDescription & { limit?: GuestLimitCode };
  /** The worker has no handler for this kind of event. */
  noHandler?: 'fetch' | 'scheduled';
  /** ctx.passThroughOnException() was called: the host sends the request on to the origin. */
  passThrough?: true;
  /** With passThrough: a service-worker script's listeners did not respond (no exception to report). */
  quiet?: true;
  /** With passThrough: waitUntil work goes on (see ResponseResult). */
  waitUntil?: true;
  /** With passThrough: the guest kept nothing of the request. */
  released?: true;
  /** Of a scheduled run: the handler called controller.noRetry() before it failed. */
  noRetry?: boolean;
}

/** What a FetchCommand produces (directly, or later as the 'response' call's argument). */
export type FetchEntryResult = ResponseResult | EntryFailure;

/** What a ScheduledCommand produces (directly, or later as the 'response' call's argument). */
export type ScheduledEntryResult = ScheduledSuccess | EntryFailure;

/** What a SocketCommand produces (directly, or later as the 'response' call's argument). */
export type SocketEntryResult = SocketSuccess | EntryFailure;

/** The outcome of a fetch, scheduled or WebSocket entry. */
export type EntryResult = FetchEntryResult | ScheduledEntryResult | SocketEntryResult;

/** One pull of a guest stream (runtime.js, readStream): a chunk, the end, or the stream's failure. */
/** `rest`: further chunks the stream had ready, taken out in the same entry (they follow `chunk`). */
export type PullResult = { done: false; chunk: Uint8Array; rest?: Uint8Array[]; error?: undefined } | { done: true; chunk?: undefined; error?: GuestErrorDescription };

/** What each entry kind returns in the envelope's `r`. */
export interface EntryReturns {
  fetch: FetchEntryResult | Deferred;
  scheduled: ScheduledEntryResult | Deferred;
  ws: SocketEntryResult | Deferred;
  chunk: undefined;
  timer: undefined;
  fetched: undefined;
  fchunk: undefined;
  settled: undefined;
  settledAll: undefined;
  pull: PullResult | Deferred;
  cancel: undefined;
  end: undefined;
  /** True when WebAssembly memories exceed the budget. */
  memory: boolean;
}

/**
 * What an entry returns: its result, and the guest's calls made while it ran (and in the microtask turns right
 * after), which travel with it instead of each crossing on its own. The host handles the outbox first, in order.
 */
export interface EntryEnvelope<R = EntryReturns[EntryKind]> {
  r: R;
  /** Flattened GuestCall triples: reqId, op, arg, reqId, op, arg, ... */
  o: unknown[];
}

/**
 * The prelude's entry function (what __edgeInit returns, kept by the host as a Reference); also takes the
 * SyncCommand, TakeCommand and AwaitCommand of synchronous entries. It throws (and the host
 * disposes the isolate) with a message containing `__EDGE_LIMIT__:E_MEMORY_LIMIT` when WebAssembly memories exceed
 * the budget at the end of an entry; the outbox is flushed through `call` first.
 */
export type EntryFunction = <C extends EntryCommand>(cmd: C) => EntryEnvelope<EntryReturns[C['t']]> | Promise<EntryEnvelope<EntryReturns[C['t']]>>;

// ---------------------------------------------------------------------------------------------------------------
// Guest calls: isolate -> host, `call(reqId, op, arg)`, answered (if at all) by later entries

/** An asynchronous host op the guest asks for (internal/async.js hostAsync), answered by a SettledCommand. */
export interface HostOpRequest {
  /** The request the op belongs to; 0 from the global scope. */
  reqId: number;
  /** The guest's id for this op, echoed in the SettledCommand. */
  id: number;
  /** A name registered in the host's HostOps (e.g. 'crypto.digest', 'cache.match'). */
  op: string;
  /** A copy of the guest's argument: untrusted, validated by the handler. */
  arg: unknown;
}

/** A host op's failure, rejecting the guest's promise with an error of that name (TypeError, RangeError, a DOMException name, or Error). */
export interface HostOpFailure {
  name: string;
  message: string;
}

/** How a host op ended: its value, or its failure. */
export type HostOpOutcome = { v: unknown; e?: undefined } | { e: HostOpFailure };

/** A guest's outbound fetch (runtime.js, outboundFetch). At most one of `body`, `stream`, `incoming`. */
export interface FetchRequest {
  /** The guest's fetch id: FetchedCommand, 'fetch.read', 'fetch.cancel' and FetchChunkCommand name it. */
  id: number;
  method: string;
  url: string;
  headers: HeaderList;
  redirect: 'follow' | 'manual' | 'error';
  /** The service binding's name, for a Fetcher's fetch (the host maps it to a worker). */
  service?: string;
  /** A Durable Object stub's fetch: the object's id (the binding names its class). */
  object?: string;
  /** The whole request body. */
  body?: Uint8Array;
  /** The request body is this guest stream, pulled by the host (PullCommand) as the upstream takes it. */
  stream?: number;
  /** The request body is the client's incoming body, untouched: the host sends it on without the guest. */
  incoming?: true;
}

/**
 * A body whose bytes are still on the host, handed back unread by the guest (prelude host-streams.js): the incoming
 * request's own body, the response body of a fetch the request made (`id` its FetchRequest id), a capability resource
 * with a `read(max)` method (an R2 object body), `first` being the bytes that came into the isolate with it already (h
 * is 0 when they were all of it), or bytes the host holds for the request (HeldBody: a KV value read as a stream, a
 * Cache API match's body).
 */
export type HostBodyRef =
  | { k: 'incoming'; reqId: number }
  | { k: 'fetched'; reqId: number; id: number }
  | { k: 'cap'; i: string; r: string; h: number; first: Uint8Array }
  | { k: 'held'; id: number };

/**
 * Bytes the host keeps for a request instead of copying them into the isolate (host/runtime/held-bodies.ts), where a
 * host op's result would have carried them: the guest makes a host stream of it (prelude host-streams.js), read with
 * 'body.take' only if the worker reads it.
 */
export interface HeldBody {
  __held: number;
  /** Its length in bytes. */
  size: number;
}

/**
 * The 'body.whole' host op: a host body the guest reads whole (arrayBuffer(), text(), ... of a host stream nobody
 * read), read by the host into one buffer of its own, at most the worker's memory limit (else a RangeError). Kept for
 * the request until the guest takes it with the synchronous 'body.whole.take', which moves the buffer into the
 * isolate without a copy: no chunk enters, and the isolate concatenates nothing.
 */
export interface WholeBodyRead {
  ref: HostBodyRef;
}

/** What 'body.whole' settles with: the kept buffer's id, its length, and the request it is kept for. */
export interface WholeBody {
  id: number;
  size: number;
  reqId: number;
}

/** The 'body.take' host op: up to `max` bytes of held body `id`, in order; null once all were taken. */
export interface HeldBodyTake {
  id: number;
  max: number;
}

/**
 * The 'cap.held' host op: a capability call ('cap') whose bytes stay on the host. `bodies`: host bodies the guest
 * handed over unread, each read whole by the host (at most `max` bytes, else the call fails with `tooLarge` as an
 * Error) and passed as argument `arg`; `hold`: the result's field `hold.field`, when bytes longer than
 * `hold.inline`, comes back as a HeldBody instead.
 */
export interface HeldCapCall {
  call: CapabilityCall;
  bodies?: Array<{ arg: number; ref: HostBodyRef; max: number; tooLarge: string }>;
  hold?: { field: string; inline: number };
}

/**
 * The 'body.pipe' host op: the host writes host body `from` into the capability resource `to` (one with a
 * `write(chunk)` method, an R2 object writer), chunk by chunk as it takes them; settles once all is written.
 */
export interface HostBodyPipe {
  from: HostBodyRef;
  to: { i: string; r: string; h: number };
}

/** Every `call` op the guest makes, with its argument. */
export interface GuestCalls {
  /** The late result of a fetch or scheduled entry that answered Deferred. */
  response: EntryResult;
  /** The late result of a PullCommand that answered Deferred, with the stream's id. */
  pulled: { id: number } & PullResult;
  /** An error nobody caught (a timer callback, waitUntil work), for the tail log. */
  exception: GuestErrorDescription;
  /** The request's waitUntil work settled; true when the guest dropped the request as well (no EndCommand needed). */
  'waitUntil.done': boolean;
  /** An asynchronous host op. */
  op: HostOpRequest;
  /** Sets a timer of the request: fired with a TimerCommand after `delay` ms (every `delay` ms when `interval`). */
  'timer.set': [id: number, delay: number, interval: boolean];
  /** Clears a timer by id. */
  'timer.clear': number;
  /** Wants the next chunk of the incoming request's body (a ChunkCommand answers). */
  'body.read': null;
  /** The guest cancelled the incoming request's body. */
  'body.cancel': null;
  /** An outbound fetch (a FetchedCommand answers). */
  fetch: FetchRequest;
  /** Wants the next chunk of fetch `arg`'s response body (a FetchChunkCommand answers). */
  'fetch.read': number;
  /** The guest aborted fetch `arg` or cancelled its response body: the host releases the upstream. */
  'fetch.cancel': number;
  /** A WebSocket end the guest holds sends a message to the other end (after the output gate, in an object). */
  'ws.send': { end: number; data: string | Uint8Array };
  /** A WebSocket end the guest holds closes. */
  'ws.close': { end: number; code: number; reason: string };
  /** Pairs whose request ended with neither end accepted nor handed over: the host forgets them. */
  'ws.drop': number[];
}

/** A guest call op. */
export type GuestCallOp = keyof GuestCalls;

/** One guest call as the outbox carries it. */
export type GuestCall = { [K in GuestCallOp]: [reqId: number, op: K, arg: GuestCalls[K]] }[GuestCallOp];

// ---------------------------------------------------------------------------------------------------------------
// Synchronous host ops: isolate -> host, `invoke(op, arg)`

/**
 * The reply of a synchronous op: a value, a WIT error payload (the guest throws it as a CapabilityError, jco's glue
 * hands it to the component), or a host failure message (the guest throws an Error).
 */
export type InvokeReply<V = unknown, E = unknown> = { v: V } | { e: E } | { x: string };

/** The reply `invoke` gives when the host's answer is asynchronous: the guest blocks on `wait(p)`. */
export interface InvokeTicket {
  p: number;
}

/** A call of a capability's implementation (capabilities.js): a function, a static, a constructor, a method or a drop. */
export interface CapabilityCall {
  /** Interface id, e.g. 'acme:geo/lookup'. */
  i: string;
  /** Free function, or resource class name. */
  r: string;
  /** Member name for resources ('' for free functions). */
  m: string;
  k: 'fn' | 'static' | 'method' | 'constructor' | 'drop';
  /** Handle of `self` for methods and drops (0 otherwise). */
  h: number;
  /** The arguments, resources among them encoded as `{ __h: handle }`. */
  a: unknown[];
}

/**
 * The error payloads of a component's request and response bodies (edge:platform/http-types `body-error`), as far
 * as the host sends them (it never sends `too-large`).
 */
export type BodyError = { tag: 'closed' } | { tag: 'io'; val: string };

/** Every `invoke` op, with its argument and the reply the guest gets (before a ticket is waited on). */
export interface InvokeOps {
  /** A capability call that returns a value. */
  cap: { arg: CapabilityCall; reply: InvokeReply };
  /** A capability call without a result (sent with applyIgnored): failures go to the worker's log. */
  'cap!': { arg: CapabilityCall; reply: undefined };
  /** A component trapped: the host releases what its resources held. */
  'cap.reset': { arg: null; reply: undefined };
  /** A component reads up to `max` bytes of its request body; `v: null` at its end. */
  'body.read': { arg: { reqId: number; max: number }; reply: InvokeReply<Uint8Array | null, BodyError> };
  /**
   * The buffer a 'body.whole' host op of request `reqId` kept (WholeBody `id`), moved into the isolate: the bytes, or
   * a failure when the request has none of that id (taken already, or the request ended).
   */
  'body.whole.take': { arg: { reqId: number; id: number }; reply: InvokeReply<Uint8Array, never> };
  /** A component sends its response head now (begin-response); its body follows with 'resp.write'. */
  'resp.begin': { arg: { reqId: number; status: number; headers: HeaderList }; reply: InvokeReply<null, BodyError> };
  /** A component writes a chunk of its begun response; blocks (a ticket) while the client is slower. */
  'resp.write': { arg: { reqId: number; chunk: Uint8Array }; reply: InvokeReply<null, BodyError> };
  /**
   * A host op (HostOps, as HostOpRequest names them) the guest waits for synchronously: a Durable Object's
   * `ctx.storage.sql` and `ctx.storage.kv`. Not tied to a request; a failure comes back as `e`.
   */
  op: { arg: { op: string; arg: unknown }; reply: InvokeReply<unknown, HostOpFailure> };
  /**
   * HTMLRewriter's first rewrite in an isolate: lol-html's wasm module, compiled once by the host with its memory
   * capped at the worker's budget: a WebAssembly.Module, which crosses compiled (the one object here that is not plain
   * data; typed as `object` because the host and the prelude are checked against different WebAssembly declarations).
   */
  'htmlrewriter.module': { arg: null; reply: InvokeReply<object, never> };
  /**
   * A wasi:http/proxy component's outgoing-handler: a worker's fetch (the egress policy, the subrequest limit), its
   * request body whole; answers with the response head (`body`: whether one follows, read with 'wasi.fetch.read').
   * A failure is a wasi:http error-code.
   */
  'wasi.fetch': {
    arg: { reqId: number; method: string; url: string; headers: HeaderList; body: Uint8Array | null };
    reply: InvokeReply<{ id: number; status: number; headers: HeaderList; body: boolean }, { tag: string; val?: unknown }>;
  };
  /** Up to `max` bytes of an outgoing-handler response's body; `v: null` at its end. */
  'wasi.fetch.read': { arg: { reqId: number; id: number; max: number }; reply: InvokeReply<Uint8Array | null, { tag: string; val?: unknown }> };
  /** wasi:io/poll waiting for a timer: the guest's thread sleeps `ms` (at most its request's remaining wall time). */
  'wasi.sleep': { arg: { ms: number }; reply: InvokeReply<null, never> };
  /** `new WebSocketPair()`: the ids of its two ends, both held by this isolate. */
  'ws.pair': { arg: null; reply: InvokeReply<[number, number], never> };
  /**
   * accept() of an end this isolate holds (events for it start flowing), or, with `object`, a Durable Object's
   * ctx.acceptWebSocket(ws, tags): the end becomes hibernatable, held by the object rather than the isolate.
   */
  'ws.accept': { arg: { end: number; object?: { className: string; id: string }; tags?: string[] }; reply: InvokeReply<null, never> };
  /** ctx.getWebSockets(tag): the object's hibernatable ends (with `tag`), oldest first, with their tags. */
  'ws.list': { arg: { object: { className: string; id: string }; tag?: string }; reply: InvokeReply<Array<{ end: number; tags: string[] }>, never> };
  /** ws.serializeAttachment(value): kept by the host (it outlives the object in memory); at most 2,048 bytes. */
  'ws.attach': { arg: { end: number; value: unknown }; reply: InvokeReply<null, never> };
  /** ws.deserializeAttachment() of an end whose guest object was made after hibernation. */
  'ws.attachment': { arg: { end: number }; reply: InvokeReply<unknown, never> };
  /** ctx.setWebSocketAutoResponse(pair), or its removal (null); or, with `end`, the time of that end's last auto-response. */
  'ws.auto': { arg: { object: { className: string; id: string }; pair?: { request: string; response: string } | null; end?: number }; reply: InvokeReply<number | null, never> };
}

/** A synchronous op's name. */
export type InvokeOp = keyof InvokeOps;

/** What `invoke` returns for op K: the reply, or a ticket to wait on for it. */
/** A primitive that crosses the isolate boundary as it is. */
export type FlatArg = string | number | bigint | boolean | null | undefined;

export type InvokeAnswer<K extends InvokeOp = InvokeOp> = InvokeOps[K]['reply'] | InvokeTicket;

// ---------------------------------------------------------------------------------------------------------------
// Start-up: __edgeInit

/** A URL as the host's parser (WHATWG, Ada) splits it, for the prelude's URL class. */
export interface UrlRecord {
  href: string;
  origin: string;
  protocol: string;
  username: string;
  password: string;
  host: string;
  hostname: string;
  port: string;
  pathname: string;
  search: string;
  hash: string;
}

/**
 * The host functions the prelude gets, each as an isolated-vm Reference (internal/bridge.js says which apply
 * flavour it uses). Arguments and results are copies.
 */
export interface HostFunctions {
  /** Console output, to `edge tail`. */
  log(level: string, text: string): void;
  /** CSPRNG bytes, n <= 65536. */
  randomBytes(n: number): Uint8Array;
  /** WHATWG URL parsing; null when the input is not a valid URL. */
  urlParse(input: string, base?: string): UrlRecord | null;
  /** A guest call (GuestCalls), outside an entry's outbox. */
  call<K extends GuestCallOp>(reqId: number, op: K, arg: GuestCalls[K]): void;
  /** A synchronous op (InvokeOps). */
  invoke<K extends InvokeOp>(op: K, arg: InvokeOps[K]['arg']): InvokeAnswer<K>;
  // Also `invoke('cap.flat', interface, resource, method, handle, ...args)`: a capability method call whose arguments
  // are all primitives (FlatArg), which cross without a copy of a call object; answered with the value itself when it
  // is a primitive, else as 'cap' would be (a reply, or a ticket). (internal/bridge.js, hostInvokeFlat.)
  /** The reply of an invoke that answered with a ticket. */
  wait(ticket: number): Promise<InvokeReply>;
}

/** The options __edgeInit gets, as its last argument. */
export interface EdgeInitOptions {
  /** The isolate's memory budget in bytes, shared by the JS heap and WebAssembly memories. */
  memoryBytes: number;
  /**
   * The platform's caps the prelude checks itself, by name (host/core/limits.ts, PRELUDE_CAPS); absent in test
   * harnesses. Not typed as PreludeCaps: limits.ts pulls in storage types that need Node's, which the prelude's
   * type check has not.
   */
  caps?: Readonly<Record<string, number>>;
  /**
   * The UTF-8 codec module (host/runtime/utf8-codec.ts), compiled by the host with V8's stringref operations, which
   * TextEncoder and TextDecoder use for large inputs; absent where this V8 has none (the prelude's own encoder and
   * decoder then do the work).
   */
  utf8Codec?: unknown;
}

/**
 * What the host's bootstrap module passes to the prelude's `createComponentWorker(instantiate, config)` (component.js)
 * for a WebAssembly component worker, `instantiate` being jco's glue export. Made inside the isolate: the host writes
 * the JSON fields into the bootstrap module's source and hands `wasm` over as the global `__edgeWasm`.
 */
export interface ComponentWorkerConfig {
  /** Descriptors of the WIT interfaces the component imports and its manifest grants (host/bindings/describe.ts). */
  interfaces: object[];
  /** Fuel per request; null when not metered. */
  fuel: number | null;
  /** The global each metered core module exports its fuel counter as; null for the default, '__edge_fuel'. */
  fuelExport: string | null;
  /** The core modules by the name the glue asks for: WebAssembly.Module objects compiled by the host (bytes are compiled in the isolate). */
  wasm: Record<string, unknown>;
  /** The world it exports: our own (edge:platform/worker), or the standard wasi:http/proxy. Absent: our own. */
  world?: ComponentWorld;
  /** wasi:cli/environment: the worker's [vars] as strings. */
  environment?: Record<string, string>;
  /**
   * The Durable Object classes its manifest declares (`[[migrations]]`), served by its `durable-handler` export
   * (world edge:platform/durable-object; prelude component-objects.js). Absent or empty: none.
   */
  objectClasses?: string[];
}

/** The worlds a component worker may target. */
export type ComponentWorld = 'edge:platform/worker' | 'wasi:http/proxy';

/**
 * The arguments of `globalThis.__edgeInit(log, randomBytes, urlParse, call, invoke, wait, options)`, defined by the
 * prelude (index.js) and called once per context by the host (isolate-pool.ts): each function crosses as an
 * isolated-vm Reference to it, the options as a copy. It deletes itself and returns the EntryFunction, which the
 * host keeps a Reference to.
 */
export type EdgeInitArgs = [
  log: HostFunctions['log'],
  randomBytes: HostFunctions['randomBytes'],
  urlParse: HostFunctions['urlParse'],
  call: HostFunctions['call'],
  invoke: HostFunctions['invoke'],
  wait: HostFunctions['wait'],
  options: EdgeInitOptions,
];
