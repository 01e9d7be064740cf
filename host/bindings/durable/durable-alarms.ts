// Durable Object alarms: `ctx.storage.setAlarm(time)` stores the time with the object's storage (durable, so it
// survives a restart); this scheduler wakes the object at that time by delivering an alarm event through its worker,
// as any other event (the input and output gates hold). The handler runs at least once: when it throws (or the event
// fails), it is retried with exponential backoff (2 s, 4 s, ... up to 6 retries, as on Workers); when it succeeds the
// alarm is cleared, unless the handler set a new one.
import type { DurableStore } from '../../../storage/durable/durable-store.ts';

/** Delivers the alarm event to the object; resolves with whether the handler succeeded. */
export type AlarmDeliver = (object: { worker: string; className: string; id: string }, info: { retryCount: number; isRetry: boolean }) => Promise<boolean>;

export const ALARM_RETRIES = 6;
/** What an alarm event looks like to the object's runtime (objects.js): a POST here, `x-edge-alarm` the retry info. */
export const ALARM_URL = 'http://durable-object.alarm/';
const FIRST_BACKOFF_MS = 2000;
/** setTimeout's longest delay; later alarms are re-armed when it fires. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class DurableAlarms {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly store: DurableStore;
  private deliver: AlarmDeliver | null = null;
  private closed = false;
  /** Backoff between retries (tests shorten it). */
  firstBackoffMs = FIRST_BACKOFF_MS;

  constructor(store: DurableStore) {
    this.store = store;
  }

  /** Starts delivering: every alarm the store holds is armed (those already due run now). */
  start(deliver: AlarmDeliver): void {
    this.deliver = deliver;
    for (const [object, time] of this.store.alarms()) this.arm(object, time, 0);
  }

  /** The object's alarm changed (a durable write): arm it, or disarm it (null). */
  changed(object: string, time: number | null): void {
    if (time === null) {
      clearTimeout(this.timers.get(object));
      this.timers.delete(object);
      return;
    }
    this.arm(object, time, 0);
  }

  private arm(object: string, time: number, retryCount: number): void {
    if (this.closed || this.deliver === null) return;
    clearTimeout(this.timers.get(object));
    const delay = Math.max(0, time - Date.now());
    const timer = setTimeout(() => {
      this.timers.delete(object);
      if (delay > MAX_DELAY_MS) return this.arm(object, time, retryCount);
      void this.fire(object, time, retryCount);
    }, Math.min(delay, MAX_DELAY_MS));
    timer.unref();
    this.timers.set(object, timer);
  }

  private async fire(object: string, time: number, retryCount: number): Promise<void> {
    // Replaced or deleted meanwhile.
    if (this.store.getAlarm(object) !== time || this.deliver === null) return;
    const [worker, className, id] = object.split('/') as [string, string, string];
    let ok = false;
    try {
      ok = await this.deliver({ worker, className, id }, { retryCount, isRetry: retryCount > 0 });
    } catch {
      ok = false;
    }
    if (this.closed) return;
    if (ok) {
      // Cleared, unless the handler set another alarm.
      if (this.store.getAlarm(object) === time) await this.store.write(object, [], { alarm: null }).catch(() => {});
      return;
    }
    if (retryCount >= ALARM_RETRIES) {
      if (this.store.getAlarm(object) === time) await this.store.write(object, [], { alarm: null }).catch(() => {});
      return;
    }
    const backoff = this.firstBackoffMs * 2 ** retryCount;
    clearTimeout(this.timers.get(object));
    const timer = setTimeout(() => {
      this.timers.delete(object);
      void this.fire(object, time, retryCount + 1);
    }, backoff);
    timer.unref();
    this.timers.set(object, timer);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
