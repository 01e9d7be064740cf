// What `cloudflare:workers` exports besides `env` (the host's bootstrap links the module: host/runtime/guest-modules.ts):
// the base classes Workers code extends. A default export that is a WorkerEntrypoint class is dispatched as Workers
// does: a new instance per event, with `this.env` and `this.ctx`, its `fetch(request)` / `scheduled(controller)` called.

/** Base class of a worker written as a class (`export default class extends WorkerEntrypoint { fetch(request) {...} }`). */
export class WorkerEntrypoint {
  /**
   * @param {unknown} ctx
   * @param {Record<string, unknown>} env
   */
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}

/** Base class of a Durable Object class (`constructor(ctx, env)`); the Durable Objects runtime makes the instances. */
export class DurableObject {
  /**
   * @param {unknown} ctx
   * @param {Record<string, unknown>} env
   */
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}

/** Marks a class whose instances may be passed over RPC; a plain base class here. */
export class RpcTarget {}

/**
 * The handlers for a worker's default export: a class extending WorkerEntrypoint becomes an object whose `fetch` and
 * `scheduled` (those the class has) make an instance with (ctx, env) and call its method; anything else is returned as is.
 * @param {unknown} exported
 * @returns {unknown}
 */
export function entrypointHandlers(exported) {
  if (typeof exported !== 'function' || !(exported.prototype instanceof WorkerEntrypoint)) return exported;
  const Entrypoint = /** @type {new (ctx: unknown, env: Record<string, unknown>) => Record<string, unknown>} */ (/** @type {unknown} */ (exported));
  /** @type {Record<string, (event: unknown, env: Record<string, unknown>, ctx: unknown) => unknown>} */
  const handlers = {};
  for (const name of ['fetch', 'scheduled']) {
    if (typeof exported.prototype[name] !== 'function') continue;
    handlers[name] = (event, env, ctx) => {
      const instance = new Entrypoint(ctx, env);
      return /** @type {(event: unknown) => unknown} */ (instance[name]).call(instance, event);
    };
  }
  return handlers;
}
