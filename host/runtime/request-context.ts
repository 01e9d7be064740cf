// One request (or scheduled run) in flight on a worker instance: its limits, its body, its timers, the values the
// guest sends for it later, and how it fails; with the view of the instance that the per-request helpers get.
import type { Readable } from 'node:stream';
import type { FetchTarget } from '../bindings/capability.ts';
import type { EdgeError } from '../core/errors.ts';
import type { EntryCommand, EntryReturns } from '../core/isolate-protocol.ts';
import type { RequestLimitEnforcer } from './limits.ts';
import type { ComponentBodyOut } from './component-body-out.ts';
import type { LoadedVersion, SubrequestInit, SubrequestResult, TailEvent, TailKind } from './worker-types.ts';

export class RequestContext {
  readonly id: number;
  readonly limiter: RequestLimitEnforcer;
  readonly body: Readable | null;
  depth = 0;
  bodyIter: AsyncIterator<unknown> | null = null;
  /** The request body went on to the origin (passThroughOnException): finishing must not drain it. */
  bodyPassedOn = false;
  /** Bytes of a request-body chunk a component has not read yet. */
  bodyRest: Uint8Array | null = null;
  /** The response body a component writes through begin-response. */
  out: ComponentBodyOut | null = null;
  readonly timers = new Map<number, NodeJS.Timeout>();
  wallTimer: NodeJS.Timeout | null = null;
  failure: EdgeError | null = null;
  ended = false;
  /** The guest already dropped its state for this request: no 'end' entry is needed. */
  released = false;
  /** WebAssembly fuel the request used (metered components). */
  fuelUsed: number | undefined = undefined;
  /** Created on first use: most requests finish within their first entry and never wait. */
  private waiters: Map<string, { resolve(v: unknown): void; reject(e: unknown): void }> | null = null;
  /** Values delivered before anyone waited for them (a guest call can overtake the entry result it follows). */
  private delivered: Map<string, unknown> | null = null;
  private failListeners: Set<(e: EdgeError) => void> | null = null;
  private abort: AbortController | null = null;

  /** Aborted when the request ends or fails: host work done for it should stop. */
  get signal(): AbortSignal {
    this.abort ??= new AbortController();
    if (this.ended || this.failure) this.abort.abort(this.failure ?? new Error('the request ended'));
    return this.abort.signal;
  }

  /** The request ended (or failed): abort host work still running for it. */
  close(): void {
    this.abort?.abort(this.failure ?? new Error('the request ended'));
  }

  constructor(id: number, limiter: RequestLimitEnforcer, body: Readable | null) {
    this.id = id;
    this.limiter = limiter;
    this.body = body;
  }

  /** Waits for a value the guest sends later with call(reqId, key, value); rejects when the request fails. */
  wait<T>(key: string): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.delivered?.has(key)) {
      const v = this.delivered.get(key);
      this.delivered.delete(key);
      return Promise.resolve(v as T);
    }
    return new Promise<T>((resolve, reject) => {
      (this.waiters ??= new Map()).set(key, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  deliver(key: string, value: unknown): void {
    const w = this.waiters?.get(key);
    if (!w) {
      (this.delivered ??= new Map()).set(key, value);
      return;
    }
    this.waiters!.delete(key);
    w.resolve(value);
  }

  fail(err: EdgeError): void {
    if (this.failure) return;
    this.failure = err;
    this.abort?.abort(err);
    this.out?.fail(err);
    if (this.waiters) for (const w of this.waiters.values()) w.reject(err);
    this.waiters = null;
    if (this.failListeners) for (const l of this.failListeners) l(err);
  }

  /**
   * `p`, unless the request fails first. Unlike racing `failed()`, nothing is left behind once `p` settles: a
   * stream's loop that raced `failed()` for every chunk would keep every chunk reachable until the request ended.
   */
  race<T>(p: Promise<T>): Promise<T> {
    if (this.failure) {
      // Nobody waits for `p` now: its own failure (an entry into the isolate the breach disposed of) is not unhandled.
      p.catch(() => {});
      return Promise.reject(this.failure);
    }
    return new Promise<T>((resolve, reject) => {
      const listeners = (this.failListeners ??= new Set());
      listeners.add(reject);
      p.then(
        (v) => {
          listeners.delete(reject);
          resolve(v);
        },
        (e: unknown) => {
          listeners.delete(reject);
          reject(e);
        },
      );
    });
  }

  /** A promise that rejects when the request fails, for racing against guest work. */
  failed(): Promise<never> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<never>((_, reject) => {
      (this.failListeners ??= new Set()).add(reject);
    });
  }
}

/**
 * What the helpers working for a request (body streams, egress) need of the instance running it. The instance
 * hands them this view, not itself: entering its isolate, ending its requests and its tail log stay its own.
 */
export interface RequestRunner {
  readonly version: LoadedVersion;
  /** The isolate was discarded: nothing enters it any more. */
  readonly dead: boolean;
  /** Performs an outbound fetch of the worker (InstanceHooks.subrequest). */
  subrequest(init: SubrequestInit, depth: number): Promise<SubrequestResult>;
  /** The worker that the version's service binding `binding` calls; undefined when it has no such binding. */
  fetchTarget(binding: string): FetchTarget | undefined;
  /** Enters the isolate for `rc` (null: for no request), with the CPU accounting of WorkerInstance.enter. */
  enter<C extends EntryCommand>(rc: RequestContext | null, cmd: C): Promise<EntryReturns[C['t']]>;
  tail(level: TailEvent['level'], kind: TailKind, message: string, code?: string, stack?: string): void;
  /** Starts the request's wall-clock timer, once it goes on waiting past its first entry. */
  armWallTimer(rc: RequestContext): void;
  /** Ends the request once its waitUntil work (if any) settled. */
  finishAfter(rc: RequestContext, waitUntil: boolean): void;
  /** Ends the request with `err` (a limit breach goes to tail). */
  failRequest(rc: RequestContext, err: EdgeError): void;
  /** A response carried WebSocket end `end` to this isolate: it holds it now (false when the end is gone). */
  holdSocket(end: number): boolean;
}
