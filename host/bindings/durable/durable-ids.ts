// Durable Object ids: 64 hex digits (32 bytes), as on Workers. The first 24 bytes name the object (an HMAC of the
// name for idFromName, random for newUniqueId), the last 8 are an HMAC of the class and those 24 bytes under the
// host's secret: an id of one class cannot be used with another, nor made up.
import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

/** The class an id belongs to: `<worker>/<class>`. */
export type ClassKey = string;

// A KeyObject made once per secret (making one per HMAC was a measurable part of a Durable Object call), and the ids
// of recent names: the same name is asked for on every request that reaches its object.
const keys = new WeakMap<Buffer, KeyObject>();
const named = new WeakMap<Buffer, Map<string, string>>();
const NAMED_CACHE = 10_000;

function keyObject(key: Buffer): KeyObject {
  let k = keys.get(key);
  if (!k) keys.set(key, (k = createSecretKey(key)));
  return k;
}

function tag(key: Buffer, cls: ClassKey, body: Buffer): Buffer {
  return createHmac('sha256', keyObject(key)).update(`tag:${cls}\0`).update(body).digest().subarray(0, 8);
}

export function idFromName(key: Buffer, cls: ClassKey, name: string): string {
  let memo = named.get(key);
  if (!memo) named.set(key, (memo = new Map()));
  const k = `${cls}\0${name}`;
  const known = memo.get(k);
  if (known !== undefined) return known;
  const body = createHmac('sha256', keyObject(key)).update(`name:${cls}\0`).update(name).digest().subarray(0, 24);
  const id = Buffer.concat([body, tag(key, cls, body)]).toString('hex');
  if (memo.size >= NAMED_CACHE) memo.delete(memo.keys().next().value as string);
  memo.set(k, id);
  return id;
}

export function newUniqueId(key: Buffer, cls: ClassKey): string {
  const body = randomBytes(24);
  return Buffer.concat([body, tag(key, cls, body)]).toString('hex');
}

const valid = new WeakMap<Buffer, Set<string>>();

/** Whether `id` is an id of class `cls` (ids found valid recently are remembered: a stub is made per request). */
export function isIdOf(key: Buffer, cls: ClassKey, id: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(id)) return false;
  let known = valid.get(key);
  if (!known) valid.set(key, (known = new Set()));
  const k = `${cls}\0${id}`;
  if (known.has(k)) return true;
  const raw = Buffer.from(id, 'hex');
  const ok = timingSafeEqual(raw.subarray(24), tag(key, cls, raw.subarray(0, 24)));
  if (ok) {
    if (known.size >= NAMED_CACHE) known.delete(known.values().next().value as string);
    known.add(k);
  }
  return ok;
}
