// Cron triggers: runs each active version's `[triggers] crons` (UTC, minute granularity, as Workers) through its
// scheduled handler. One timer per worker and expression, armed for the next due time computed by croner.
//
// Decisions worth knowing:
// - No pile-up: when a run of an expression is still going at its next due time, that firing is skipped (and
//   logged to tail), not queued; a slow `* * * * *` handler runs at most once at a time.
// - No catch-up: after the host was down or the clock jumped, an expression fires once for the latest due time
//   it passed, not once per missed minute.
// - Time is injectable (`now`), so a test can stand just before a minute boundary instead of waiting for one.
import { Cron } from 'croner';
import type { ScheduledEventInit, ScheduledOutcome } from './worker-types.ts';

export interface CronSchedulerOptions {
  /** Runs `worker`'s scheduled handler for one event (its active version, cold-starting it when needed). */
  run(worker: string, event: ScheduledEventInit): Promise<ScheduledOutcome>;
  /** Reports what the scheduler did on its own (skipped or failed firings) to the worker's tail. */
  log(worker: string, version: string, level: 'info' | 'warn' | 'error', message: string): void;
  /** The clock, in ms since the epoch (default Date.now); timers wait for the difference to the due time. */
  now?: () => number;
}

/** Timers wait at most this long before looking at the clock again (setTimeout caps at ~24.8 days; clocks jump). */
const MAX_SLEEP_MS = 60 * 60_000;

interface CronJob {
  worker: string;
  version: string;
  expr: string;
  pattern: Cron;
  dueAt: number;
  timer: ReturnType<typeof setTimeout> | null;
  running: boolean;
}

export class CronScheduler {
  private readonly options: CronSchedulerOptions;
  private readonly now: () => number;
  private readonly jobs = new Map<string, CronJob[]>();
  private readonly runs = new Set<Promise<unknown>>();
  private closed = false;

  constructor(options: CronSchedulerOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** Schedules `worker`'s cron expressions (of its newly active `version`), replacing what it had. */
  set(worker: string, version: string, crons: readonly string[]): void {
    this.remove(worker);
    if (this.closed || crons.length === 0) return;
    const jobs: CronJob[] = [];
    for (const expr of crons) {
      // Validated at deploy (manifest.ts cronProblem), with the same options.
      const pattern = new Cron(expr, { paused: true, timezone: 'UTC', legacyMode: true });
      jobs.push({ worker, version, expr, pattern, dueAt: 0, timer: null, running: false });
    }
    this.jobs.set(worker, jobs);
    for (const job of jobs) this.arm(job);
  }

  /** Stops `worker`'s triggers (deleted); a run already going finishes. */
  remove(worker: string): void {
    const jobs = this.jobs.get(worker);
    if (!jobs) return;
    this.jobs.delete(worker);
    for (const job of jobs) if (job.timer) clearTimeout(job.timer);
  }

  /** The next due time of each of `worker`'s expressions, in ms since the epoch (for `edge list`-style diagnostics). */
  upcoming(worker: string): Array<{ cron: string; at: number }> {
    return (this.jobs.get(worker) ?? []).map((j) => ({ cron: j.expr, at: j.dueAt }));
  }

  /** Stops every timer; waits for runs in progress to end. */
  async close(): Promise<void> {
    this.closed = true;
    for (const name of [...this.jobs.keys()]) this.remove(name);
    await Promise.allSettled([...this.runs]);
  }

  private arm(job: CronJob): void {
    const now = this.now();
    const next = job.pattern.nextRun(new Date(now));
    if (!next) return;
    job.dueAt = next.getTime();
    const timer = setTimeout(() => this.wake(job), Math.min(MAX_SLEEP_MS, Math.max(0, job.dueAt - now)));
    // A host with nothing but cron triggers left is held open by its servers, not by these timers.
    (timer as { unref?: () => void }).unref?.();
    job.timer = timer;
  }

  private wake(job: CronJob): void {
    job.timer = null;
    if (this.closed || !this.jobs.get(job.worker)?.includes(job)) return;
    // Early (a long sleep's check, or a timer a millisecond ahead of the clock): sleep again.
    if (this.now() < job.dueAt) return this.arm(job);
    const event: ScheduledEventInit = { cron: job.expr, scheduledTime: job.dueAt };
    if (job.running) {
      this.options.log(job.worker, job.version, 'warn', `scheduled ${JSON.stringify(job.expr)} due ${new Date(job.dueAt).toISOString()} skipped: the previous run of this trigger is still going.`);
    } else {
      job.running = true;
      const run = this.options
        .run(job.worker, event)
        .catch((err: unknown) => {
          this.options.log(job.worker, job.version, 'error', `scheduled ${JSON.stringify(job.expr)} due ${new Date(event.scheduledTime).toISOString()} could not run: ${err instanceof Error ? err.message : String(err)}`);
        })
        .finally(() => {
          job.running = false;
          this.runs.delete(run);
        });
      this.runs.add(run);
    }
    this.arm(job);
  }
}
