// The host ops of host bodies, which need the request and the instance's capabilities: 'body.pipe' (a host body
// written into a writer resource), 'body.take' (a held body read by the worker: held-bodies.ts), 'cap.held' (a
// capability call whose bytes stay on the host: bodies the worker handed over unread as arguments, a long result
// held for the request instead of copied into the isolate).
import type { CapabilityCall, HeldCapCall, HostOpOutcome, InvokeReply, Untrusted } from '../core/isolate-protocol.ts';
import { collectHostBody, pipeHostBody, type HostBodyCaps } from './body-streams.ts';
import { errorText } from './error-response.ts';
import { holdBody, takeHeld } from './held-bodies.ts';
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
 * The host ops of host bodies, which need the request and the instance's capabilities: 'body.pipe' (a host body into
 * a writer resource), 'body.take' (a held body read by the worker), 'cap.held' (a capability call whose bytes stay
 * on the host). Undefined for any other op.
 */
export function hostBodyOp(op: string, rc: RequestContext, caps: HeldBodyCaps, arg: unknown): HostOpOutcome | Promise<HostOpOutcome> | undefined {
  switch (op) {
    case 'body.pipe':
      return pipeHostBody(rc, caps, arg);
    case 'body.take':
      return takeHeld(rc, arg);
    case 'cap.held':
      return heldCapCall(rc, caps, arg).catch((err: unknown) => ({ e: { name: 'Error', message: errorText(err) } }));
    default:
      return undefined;
  }
}
