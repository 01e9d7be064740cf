// Live log events per worker (console output, exceptions, limit breaches), fanned out to `edge tail` clients. A line
// per request (method, URL, status, outcome) goes only to the listeners that ask for it (`edge tail`, `edge dev`).
import type { TailEvent } from './worker-types.ts';

export type TailListener = (event: TailEvent) => void;

export class LogHub {
  private readonly listeners = new Map<string, Set<TailListener>>();
  private readonly all = new Set<TailListener>();
  /** The listeners above that also hear a line per request. */
  private readonly requestListeners = new Set<TailListener>();
  private readonly requestWorkers = new Map<string, number>();
  private requestAll = 0;

  subscribe(worker: string, fn: TailListener, options: { requests?: boolean } = {}): () => void {
    let set = this.listeners.get(worker);
    if (!set) this.listeners.set(worker, (set = new Set()));
    set.add(fn);
    if (options.requests) {
      this.requestListeners.add(fn);
      this.requestWorkers.set(worker, (this.requestWorkers.get(worker) ?? 0) + 1);
    }
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.listeners.get(worker) === set) this.listeners.delete(worker);
      if (options.requests && this.requestListeners.delete(fn)) {
        const n = (this.requestWorkers.get(worker) ?? 1) - 1;
        if (n === 0) this.requestWorkers.delete(worker);
        else this.requestWorkers.set(worker, n);
      }
    };
  }

  /** Every worker's events (the host's own console in `edge dev`). */
  subscribeAll(fn: TailListener, options: { requests?: boolean } = {}): () => void {
    this.all.add(fn);
    if (options.requests) {
      this.requestListeners.add(fn);
      this.requestAll++;
    }
    return () => {
      this.all.delete(fn);
      if (options.requests && this.requestListeners.delete(fn)) this.requestAll--;
    };
  }

  /** Whether anyone asked for `worker`'s request lines: they are made only then. */
  listeningToRequests(worker: string): boolean {
    return this.requestAll > 0 || this.requestWorkers.has(worker);
  }

  /** A request's line, to the listeners that asked for them. */
  publishRequest(event: TailEvent): void {
    const set = this.listeners.get(event.worker);
    if (set) for (const fn of set) if (this.requestListeners.has(fn)) fn(event);
    for (const fn of this.all) if (this.requestListeners.has(fn)) fn(event);
  }

  publish(event: TailEvent): void {
    const set = this.listeners.get(event.worker);
    if (set) for (const fn of set) fn(event);
    for (const fn of this.all) fn(event);
  }

  subscribers(worker: string): number {
    return this.listeners.get(worker)?.size ?? 0;
  }
}
