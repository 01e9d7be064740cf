// Asynchronous host operations a JS worker's prelude may ask for (WebCrypto, the Cache API, ...): one registry
// that features add their handlers to, and that the runtime knows nothing specific about. The guest calls
// `hostAsync(op, arg)` (prelude internal/async.js) and gets a promise; the host runs the handler and answers with
// a later entry into the isolate, attributed (CPU and wall clock) to the request that asked.
//
// Handlers receive a copy of the guest's argument (untrusted: validate every field) and return a value
// isolated-vm can copy (plain objects, arrays, strings, numbers, Uint8Array/ArrayBuffer). Throwing a HostOpError
// rejects the guest's promise with that error name (TypeError, RangeError, or a DOMException name such as
// "OperationError"); any other throw is reported as a plain Error with its message.
import type { DeployManifest } from './manifest.ts';
import type { HeldBody } from './isolate-protocol.ts';

export interface HostOpContext {
  worker: string;
  version: string;
  manifest: DeployManifest;
  /** The request the op belongs to; 0 when called from the worker's global scope. */
  reqId: number;
  /** How many subrequests deep that request is (0 for client traffic). */
  depth: number;
  /** Aborted when the request ends or fails (never aborted for global-scope ops). */
  signal: AbortSignal;
  /**
   * Keeps bytes a result would carry on the host for the request (absent outside a request): the guest gets a
   * HeldBody marker and a stream of it that the host sends or stores itself when the worker passes it on unread.
   */
  holdBody?(bytes: Uint8Array): HeldBody;
  /** Reads a host body the guest handed over unread (a HostBodyRef) whole; fails with `tooLarge` past `max` bytes. */
  readHostBody?(ref: unknown, max: number, tooLarge: string): Promise<Uint8Array>;
}

export type HostOpHandler = (arg: unknown, ctx: HostOpContext) => unknown;

/** Rejects the guest's promise with an error of this name (TypeError, RangeError, or a DOMException name). */
export class HostOpError extends Error {
  readonly errorName: string;
  constructor(errorName: string, message: string) {
    super(message);
    this.errorName = errorName;
  }
}

export class HostOps {
  private readonly handlers = new Map<string, HostOpHandler>();

  /** Adds the handler of `name` (e.g. "crypto.digest"); a name is registered once. */
  register(name: string, handler: HostOpHandler): this {
    if (this.handlers.has(name)) throw new Error(`host op ${name} is registered twice`);
    this.handlers.set(name, handler);
    return this;
  }

  get(name: string): HostOpHandler | undefined {
    return this.handlers.get(name);
  }
}

/** The error a failed op hands the guest: `{ name, message }`. */
export function opFailure(err: unknown): { name: string; message: string } {
  if (err instanceof HostOpError) return { name: err.errorName, message: err.message };
  if (err instanceof TypeError || err instanceof RangeError) return { name: err.name, message: err.message };
  if (err instanceof Error) return { name: 'Error', message: err.message };
  return { name: 'Error', message: String(err) };
}
