// The host ops of host bodies, which need the request and the instance's capabilities: 'body.pipe' (a host body
// written into a writer resource), 'body.take' (a held body read by the worker: held-bodies.ts), 'body.whole' (a host
// body the worker reads whole, read by the host into one buffer the guest then moves in), 'cap.held' (a capability
// call whose bytes stay on the host: bodies the worker handed over unread as arguments, a long result held for the
// request instead of copied into the isolate).
import type { CapabilityCall, HeldCapCall, HostOpOutcome, InvokeReply, Untrusted, WholeBodyRead } from '../core/isolate-protocol.ts';
import { collectHostBody, pipeHostBody, type HostBodyCaps } from './body-streams.ts';
import { errorText } from './error-response.ts';
import { holdBody, keepWhole, takeHeld } from './held-bodies.ts';
import type { RequestContext } from './request-context.ts';

/** What the host needs of the instance's capabilities: reading and writing resources' bodies, and any call ('cap.held'). */
export interface HeldBodyCaps extends HostBodyCaps {
  invoke(call: CapabilityCall, scope?: number): InvokeReply | Promise<InvokeReply>;
}

/**
 * The 'cap.held' host op (HeldCapCall): a capability call with bodies the host reads itself as arguments and a
 * result whose bytes it keeps. Answers as 'cap' does: `{ v: reply }`, the reply being the capability's.
 */
async function heldCapCall(rc: RequestContext, caps: HeldBodyCaps, arg: unknown): Promise<HostOpOutcome> {
  const a = (arg ?? {}) as Untrusted<HeldCapCall>;
  const call = a.call as Untrusted<CapabilityCall> | undefined;
  if (call === null || typeof call !== 'object' || !Array.isArray(call.a)) return { e: { name: 'TypeError', message: 'cap.held: malformed call' } };
  const args = [...(call.a as unknown[])];
  try {
    for (const b of Array.isArray(a.bodies) ? a.bodies : []) {
      if (typeof b?.arg !== 'number' || typeof b.max !== 'number' || typeof b.tooLarge !== 'string' || b.arg < 0 || b.arg >= args.length) {
        return { e: { name: 'TypeError', message: 'cap.held: malformed body argument' } };
      }
      args[b.arg] = await collectHostBody(rc, caps, b.ref, b.max, b.tooLarge);
    }
  } catch (err) {
    if (rc.failure) throw rc.failure;
    return { e: { name: err instanceof TypeError ? 'TypeError' : 'Error', message: errorText(err) } };
  }
  const reply = await caps.invoke({ ...(call as CapabilityCall), a: args }, rc.id);
  const hold = (a.hold ?? null) as Untrusted<{ field: string; inline: number }> | null;
  if (hold !== null && typeof hold.field === 'string' && typeof hold.inline === 'number' && 'v' in reply) {
    const v = reply.v;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const bytes = (v as Record<string, unknown>)[hold.field];
      const field = hold.field;
      if (bytes instanceof Uint8Array && bytes.byteLength > hold.inline) return { v: { v: { ...v, [field]: holdBody(rc, bytes) } } };
    }
  }
  return { v: reply };
}

/**
 * The 'body.whole' host op (WholeBodyRead): the body read into one buffer of its own, kept for the request (its
 * WholeBody answers), at most the worker's memory limit (the buffer counts against it once moved in), past which the
 * read fails with a RangeError. The bytes cost the host's CPU, not the worker's: none of them enters as a chunk.
 */
async function wholeBody(rc: RequestContext, caps: HeldBodyCaps, arg: unknown, memoryMb: number): Promise<HostOpOutcome> {
  const a = (arg ?? {}) as Untrusted<WholeBodyRead>;
  const tooLarge = `The body is larger than this worker can hold in memory (its memory limit is ${memoryMb} MB, [limits] memory_mb): read it as a stream (its .body) instead of whole.`;
  // An upload's Content-Length (the HTTP parser holds the body to it): its buffer is made first and filled as it comes.
  const ref = (a.ref ?? {}) as Untrusted<{ k: string; reqId: number }>;
  const length = ref.k === 'incoming' && ref.reqId === rc.id ? Number((rc.body as { headers?: Record<string, unknown> } | null)?.headers?.['content-length'] ?? NaN) : NaN;
  try {
    const bytes = await collectHostBody(rc, caps, a.ref, memoryMb * 1024 * 1024, tooLarge, true, Number.isSafeInteger(length) && length >= 0 ? length : undefined);
    return { v: keepWhole(rc, bytes) };
  } catch (err) {
    // (A request that failed meanwhile is answered by nobody: its outcome is dropped.)
    return { e: { name: err instanceof RangeError ? 'RangeError' : 'TypeError', message: errorText(err) } };
  }
}

/**
 * The host ops of host bodies, which need the request and the instance's capabilities: 'body.pipe' (a host body into
 * a writer resource), 'body.take' (a held body read by the worker), 'body.whole' (a host body read whole, within
 * `memoryMb`), 'cap.held' (a capability call whose bytes stay on the host). Undefined for any other op.
 */
export function hostBodyOp(op: string, rc: RequestContext, caps: HeldBodyCaps, arg: unknown, memoryMb: number): HostOpOutcome | Promise<HostOpOutcome> | undefined {
  switch (op) {
    case 'body.pipe':
      return pipeHostBody(rc, caps, arg);
    case 'body.take':
      return takeHeld(rc, arg);
    case 'body.whole':
      return wholeBody(rc, caps, arg, memoryMb);
    case 'cap.held':
      return heldCapCall(rc, caps, arg).catch((err: unknown) => ({ e: { name: 'Error', message: errorText(err) } }));
    default:
      return undefined;
  }
}
