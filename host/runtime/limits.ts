// The one seam through which every per-request limit is enforced (after workerd's LimitEnforcer): the
// runtime calls these hooks when it enters and leaves the isolate for a request, when a subrequest
// starts and when the request completes; no limit check lives anywhere else.
import { EdgeError } from '../core/errors.ts';
import type { WorkerLimits } from '../core/manifest.ts';

export type LimitCode = 'E_CPU_LIMIT' | 'E_WALL_LIMIT' | 'E_MEMORY_LIMIT' | 'E_SUBREQUEST_LIMIT' | 'E_FUEL_LIMIT';

export class LimitExceededError extends EdgeError {
  declare readonly code: LimitCode;
  constructor(code: LimitCode, message: string) {
    super(code, message, { status: code === 'E_WALL_LIMIT' ? 504 : 503 });
    this.name = 'LimitExceededError';
  }
}

/** Hooks the runtime calls for one request. */
export interface LimitEnforcer {
  /** Nanoseconds of CPU left to the request. */
  cpuRemainingNs(): number;
  /** An entry for this request finished, having used `cpuNs` of isolate CPU time. */
  exitJs(cpuNs: number): void;
  /** An entry was terminated by its timeout: the request is over its CPU limit. */
  cpuExceeded(): LimitExceededError;
  /** A subrequest (outbound fetch, service call) is about to start; throws when over the limit. */
  newSubrequest(): void;
  /** Milliseconds until the wall-clock limit of the request ends it. */
  wallRemainingMs(): number;
  wallExceeded(): LimitExceededError;
  memoryExceeded(detail?: string): LimitExceededError;
  /** The WebAssembly guest ran out of the fuel its request was given (a deterministic instruction budget). */
  fuelExceeded(): LimitExceededError;
  /** CPU used so far, in nanoseconds. */
  readonly cpuUsedNs: number;
  /** Entries into the isolate so far (exitJs calls): a body streamed through the isolate takes one per chunk. */
  readonly entries: number;
  readonly subrequests: number;
}

export class RequestLimitEnforcer implements LimitEnforcer {
  private readonly limits: WorkerLimits;
  private readonly worker: string;
  private readonly startedAt: number;
  cpuUsedNs = 0;
  entries = 0;
  subrequests = 0;

  constructor(worker: string, limits: WorkerLimits, now = performance.now()) {
    this.worker = worker;
    this.limits = limits;
    this.startedAt = now;
  }

  cpuRemainingNs(): number {
    return this.limits.cpuMs * 1e6 - this.cpuUsedNs;
  }

  exitJs(cpuNs: number): void {
    this.cpuUsedNs += cpuNs;
    this.entries++;
  }

  cpuExceeded(): LimitExceededError {
    return new LimitExceededError(
      'E_CPU_LIMIT',
      `Worker "${this.worker}" exceeded its CPU time limit of ${this.limits.cpuMs} ms for this request (raise [limits] cpu_ms in the manifest if the work is legitimate).`,
    );
  }

  newSubrequest(): void {
    if (this.subrequests >= this.limits.subrequests) {
      throw new LimitExceededError(
        'E_SUBREQUEST_LIMIT',
        `Worker "${this.worker}" exceeded its limit of ${this.limits.subrequests} subrequests for this request ([limits] subrequests).`,
      );
    }
    this.subrequests++;
  }

  wallRemainingMs(): number {
    return Math.max(0, this.limits.wallMs - (performance.now() - this.startedAt));
  }

  wallExceeded(): LimitExceededError {
    return new LimitExceededError(
      'E_WALL_LIMIT',
      `Worker "${this.worker}" did not finish this request within its wall-clock limit of ${this.limits.wallMs} ms ([limits] wall_ms).`,
    );
  }

  memoryExceeded(detail?: string): LimitExceededError {
    return new LimitExceededError(
      'E_MEMORY_LIMIT',
      `Worker "${this.worker}" exceeded its memory limit of ${this.limits.memoryMb} MB${detail ? ` (${detail})` : ''}; its isolate was discarded ([limits] memory_mb).`,
    );
  }

  fuelExceeded(): LimitExceededError {
    return new LimitExceededError(
      'E_FUEL_LIMIT',
      `Worker "${this.worker}" used all ${this.limits.fuel ?? 0} units of fuel its request was given ([limits] fuel); the component instance was recreated.`,
    );
  }
}

/** Something running guest code whose CPU use the watchdog checks while it is busy. */
export interface CpuWatched {
  /** Compares the CPU of the entry running now against what its request has left; ends it when over. */
  checkCpu(): void;
}

/**
 * Checks every busy isolate's running entry every few milliseconds. Cheaper than an isolated-vm timeout per
 * entry (which costs ~10 us of CPU each), and it sees CPU, not wall time: a request waiting for I/O is not
 * charged, a request spinning is stopped within one period of its limit.
 */
export class CpuWatchdog {
  private readonly busy = new Set<CpuWatched>();
  private timer: NodeJS.Timeout | null = null;
  private readonly periodMs: number;

  constructor(periodMs = 4) {
    this.periodMs = periodMs;
  }

  watch(w: CpuWatched): void {
    this.busy.add(w);
    if (!this.timer) {
      this.timer = setInterval(() => this.check(), this.periodMs);
      this.timer.unref();
    }
  }

  unwatch(w: CpuWatched): void {
    this.busy.delete(w);
  }

  private idleTicks = 0;

  private check(): void {
    // Under load isolates go busy and idle thousands of times a second: keep the timer while traffic lasts.
    if (this.busy.size === 0) {
      if (++this.idleTicks > 250 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
      return;
    }
    this.idleTicks = 0;
    for (const w of this.busy) w.checkCpu();
  }
}

export const cpuWatchdog = new CpuWatchdog();
