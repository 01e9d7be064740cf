// Scheduled (cron) events as Workers hands them to a worker: `ScheduledController` for the module syntax's
// `scheduled(controller, env, ctx)`, `ScheduledEvent` for the service-worker syntax's
// `addEventListener('scheduled', (event) => ...)`. Both are made by the runtime only.
const INTERNAL = Symbol('edge.scheduled');

export class ScheduledController {
  #cron;
  #scheduledTime;
  #noRetry;

  constructor(token, init) {
    if (token !== INTERNAL) throw new TypeError('Illegal constructor: ScheduledController is created by the runtime.');
    this.#cron = init.cron;
    this.#scheduledTime = init.scheduledTime;
    this.#noRetry = init.noRetry;
  }

  get type() {
    return 'scheduled';
  }

  /** The cron expression that fired, as written in `[triggers] crons` ('' when triggered by hand without one). */
  get cron() {
    return this.#cron;
  }

  /** When the run was due, in milliseconds since the epoch (UTC). */
  get scheduledTime() {
    return this.#scheduledTime;
  }

  /** Asks the host not to retry this run if it fails (recorded in the run's outcome). */
  noRetry() {
    this.#noRetry();
  }
}

export class ScheduledEvent {
  #controller;
  #waitUntil;

  constructor(token, controller, waitUntil) {
    if (token !== INTERNAL) throw new TypeError('Illegal constructor: ScheduledEvent is created by the runtime.');
    this.#controller = controller;
    this.#waitUntil = waitUntil;
  }

  get type() {
    return 'scheduled';
  }

  get cron() {
    return this.#controller.cron;
  }

  get scheduledTime() {
    return this.#controller.scheduledTime;
  }

  noRetry() {
    this.#controller.noRetry();
  }

  /** Keeps the run alive until `promise` settles (bounded by the worker's wall-clock limit). */
  waitUntil(promise) {
    this.#waitUntil(promise);
  }
}

// Literal names: the prelude is minified.
for (const [cls, name] of /** @type {Array<[Function, string]>} */ ([[ScheduledController, 'ScheduledController'], [ScheduledEvent, 'ScheduledEvent']])) {
  Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: name, configurable: true });
}

export function createScheduledController(cron, scheduledTime, noRetry) {
  return new ScheduledController(INTERNAL, { cron, scheduledTime, noRetry });
}

export function createScheduledEvent(controller, waitUntil) {
  return new ScheduledEvent(INTERNAL, controller, waitUntil);
}
