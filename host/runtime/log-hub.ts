// Live log events per worker (console output, exceptions, limit breaches), fanned out to `edge tail` clients.
import type { TailEvent } from './worker-types.ts';

export type TailListener = (event: TailEvent) => void;

export class LogHub {
  private readonly listeners = new Map<string, Set<TailListener>>();
  private readonly all = new Set<TailListener>();

  subscribe(worker: string, fn: TailListener): () => void {
    let set = this.listeners.get(worker);
    if (!set) this.listeners.set(worker, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.listeners.get(worker) === set) this.listeners.delete(worker);
    };
  }

  /** Every worker's events (the host's own console in `edge dev`). */
  subscribeAll(fn: TailListener): () => void {
    this.all.add(fn);
    return () => this.all.delete(fn);
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
