// The storage of a Durable Object, for the object's own code (`ctx.storage` in the isolate's object runtime): host ops
// over the host's DurableStore. An object only reaches objects of classes its own worker exports: the storage key is
// `<worker>/<class>/<id>` with the worker the op came from. Values cross as structured clones (isolated-vm copies
// them) and are stored serialized (v8.serialize), as Workers stores them.
import { serialize, deserialize } from 'node:v8';
import { HostOpError, type HostOps, type HostOpContext } from '../../core/host-ops.ts';
import { DURABLE_LIMITS, DurableStorageError, type DurableStore, type ListOptions } from '../../../storage/durable/durable-store.ts';
import type { DurableAlarms } from './durable-alarms.ts';

const CLASS_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const ID_RE = /^[0-9a-f]{64}$/;

/** The storage key of the object an op came from: `<worker>/<class>/<id>`. */
export function objectKey(arg: Record<string, unknown>, ctx: HostOpContext): string {
  const cls = arg['className'];
  const id = arg['id'];
  if (typeof cls !== 'string' || !CLASS_RE.test(cls) || typeof id !== 'string' || !ID_RE.test(id)) throw new HostOpError('TypeError', 'storage: not called from a Durable Object');
  return `${ctx.worker}/${cls}/${id}`;
}

export function record(arg: unknown): Record<string, unknown> {
  if (arg === null || typeof arg !== 'object') throw new HostOpError('TypeError', 'storage: bad arguments');
  return arg as Record<string, unknown>;
}

function keysOf(v: unknown): string[] {
  if (!Array.isArray(v) || v.some((k) => typeof k !== 'string')) throw new HostOpError('TypeError', 'storage: keys must be strings');
  if (v.length > DURABLE_LIMITS.keysPerCall) throw new HostOpError('RangeError', `storage: at most ${DURABLE_LIMITS.keysPerCall} keys per call; got ${v.length}`);
  return v as string[];
}

function storageError(err: unknown): never {
  if (err instanceof DurableStorageError) throw new HostOpError('RangeError', err.message);
  throw err;
}

export function registerDurableOps(ops: HostOps, store: DurableStore, alarms: DurableAlarms): void {
  // get: the values of the keys that exist, as [key, value] pairs.
  ops.register('do.get', (arg, ctx) => {
    const a = record(arg);
    const found = store.get(objectKey(a, ctx), keysOf(a['keys']));
    return [...found].map(([k, v]) => [k, deserialize(v)]);
  });
  // write: one atomic batch of puts ([key, value]) and deletes ([key] or [key, undefined]); resolves once durable.
  ops.register('do.write', async (arg, ctx) => {
    const a = record(arg);
    const object = objectKey(a, ctx);
    const raw = a['ops'];
    if (!Array.isArray(raw)) throw new HostOpError('TypeError', 'storage: bad batch');
    let batch: Array<[string, Uint8Array | null]>;
    try {
      batch = raw.map((op: unknown) => {
        if (!Array.isArray(op) || typeof op[0] !== 'string') throw new HostOpError('TypeError', 'storage: bad batch');
        if (op.length < 2 || op[2] === true) return [op[0], null];
        let bytes: Buffer;
        try {
          bytes = serialize(op[1]);
        } catch (err) {
          throw new HostOpError('DataCloneError', `storage: the value of "${op[0]}" cannot be stored (${(err as Error).message})`);
        }
        return [op[0], bytes];
      });
    } catch (err) {
      if (err instanceof HostOpError) throw err;
      throw err;
    }
    const alarm = a['alarm'];
    const options: { deleteAll?: boolean; alarm?: number | null } = {};
    if (a['deleteAll'] === true) options.deleteAll = true;
    if (alarm === null || (typeof alarm === 'number' && Number.isFinite(alarm))) options.alarm = alarm;
    try {
      await store.write(object, batch, options);
    } catch (err) {
      storageError(err);
    }
    if (options.alarm !== undefined) alarms.changed(object, options.alarm);
    return true;
  });
  // list: [key, value] pairs in key order within the options' bounds.
  ops.register('do.list', (arg, ctx) => {
    const a = record(arg);
    const o = a['options'] === undefined || a['options'] === null ? {} : record(a['options']);
    const options: ListOptions = {};
    for (const k of ['start', 'startAfter', 'end', 'prefix'] as const) {
      if (o[k] !== undefined) {
        if (typeof o[k] !== 'string') throw new HostOpError('TypeError', `list(): ${k} must be a string`);
        options[k] = o[k] as string;
      }
    }
    if (o['reverse'] !== undefined) options.reverse = o['reverse'] === true;
    if (o['limit'] !== undefined) {
      if (typeof o['limit'] !== 'number' || !Number.isInteger(o['limit']) || (o['limit'] as number) < 1) throw new HostOpError('TypeError', 'list(): limit must be a positive integer');
      options.limit = o['limit'] as number;
    }
    return store.list(objectKey(a, ctx), options).map(([k, v]) => [k, deserialize(v)]);
  });
  ops.register('do.getAlarm', (arg, ctx) => store.getAlarm(objectKey(record(arg), ctx)));
}
