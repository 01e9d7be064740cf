// Type-checking shim for capabilities.js, which is being rewritten and is not type-checked yet (tsconfig.prelude.json
// excludes it): the exports the checked prelude modules import. Delete it once capabilities.js is checked itself.
import type { CapabilityCall, InvokeReply } from '../../../core/isolate-protocol.ts';

/** A WIT `result` error from the host: jco's glue passes `payload` to the guest; JS workers see it as an Error. */
export class CapabilityError extends Error {
  constructor(payload: unknown);
  payload: unknown;
}

/** A host reply as the guest sees it: the (decoded) value, or a throw. */
export function unwrapReply(reply: InvokeReply | undefined, what?: string, mode?: 'sync' | 'async'): unknown;

/** jco's imports for the granted interfaces (descriptors from host/bindings/describe.ts), by interface id. */
export function capabilityImports(interfaces: readonly object[]): Record<string, Record<string, unknown>>;

/** The generic facade of a JS worker's binding of a WIT interface. */
export function witFacade(descriptor: object, binding: string): Readonly<Record<string, (...args: unknown[]) => Promise<unknown>>>;

/** What a capability's own JS facade gets to reach its host implementation. */
export const facadeChannel: Readonly<{
  call(i: string, r: string, m: string, k: CapabilityCall['k'], h: number, args: unknown[]): Promise<unknown>;
  callSync(i: string, r: string, m: string, k: CapabilityCall['k'], h: number, args: unknown[]): unknown;
  drop(i: string, r: string, h: number): void;
}>;
