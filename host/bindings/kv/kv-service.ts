// The one host implementation of KV: JS workers reach it through async host ops (the `env.MY_KV` facade in the
// prelude's kv.js), components through the kv WIT interface (kv.ts). It checks the grant (the manifest's
// kv_namespaces) and maps a binding to its namespace; the store enforces Workers KV's rules.
import type { DeployManifest } from '../../deploy/manifest.ts';
import { HostOpError, type HostOps } from '../../core/host-ops.ts';
import { KvError, type KvEntry, type KvListResult, type KvStore } from '../../../storage/kv/kv-types.ts';

/** The namespace id a manifest binds under `binding`, or an error naming the binding. */
export function namespaceOf(manifest: DeployManifest, binding: unknown): string {
  const b = typeof binding === 'string' ? manifest.kvNamespaces.find((n) => n.binding === binding) : undefined;
  if (!b) throw new HostOpError('TypeError', `no KV namespace is bound as ${JSON.stringify(binding)} (kv_namespaces in the manifest)`);
  return b.id;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new HostOpError('TypeError', `${what} must be a string`);
  return v;
}

function optionalNumber(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new HostOpError('TypeError', `${what} must be a number`);
  return v;
}

/** A KvError as the guest sees it: Workers reports KV failures as plain Errors naming the operation. */
function asGuestError(op: string, err: unknown): unknown {
  if (err instanceof KvError) return new HostOpError(err.kvCode === 'invalid-key' || err.kvCode === 'invalid-list' ? 'TypeError' : 'Error', `KV ${op} failed: ${err.message}`);
  return err;
}

export interface KvGetReply {
  value: Uint8Array;
  metadata: string | null;
  /** Seconds since the epoch, or null. */
  expiration: number | null;
}

/** Registers the `kv.*` host ops over `store`. */
export function registerKvOps(ops: HostOps, store: KvStore): void {
  const guarded = <T>(op: string, fn: () => Promise<T>): Promise<T> => fn().catch((err: unknown) => Promise.reject(asGuestError(op, err)));
  const entry = (e: KvEntry | null): KvGetReply | null => (e ? { value: e.value, metadata: e.metadata, expiration: e.expiration } : null);

  ops.register('kv.get', (arg, ctx) => {
    const a = (arg ?? {}) as { binding?: unknown; key?: unknown };
    const ns = namespaceOf(ctx.manifest, a.binding);
    const key = str(a.key, 'a KV key');
    // Hot keys are answered from memory at once: the guest's promise settles without waiting for another entry.
    if (store.peek) {
      try {
        const known = store.peek(ns, key);
        if (known !== undefined) return entry(known);
      } catch (err) {
        throw asGuestError('GET', err);
      }
    }
    return guarded('GET', async () => entry(await store.get(ns, key)));
  });

  ops.register('kv.getMany', (arg, ctx) => {
    const a = (arg ?? {}) as { binding?: unknown; keys?: unknown };
    const ns = namespaceOf(ctx.manifest, a.binding);
    if (!Array.isArray(a.keys) || a.keys.length === 0 || a.keys.length > 100) throw new HostOpError('TypeError', 'get() of several keys takes an array of 1 to 100 keys');
    const keys = a.keys.map((k) => str(k, 'each key'));
    return guarded('GET', async () => Promise.all(keys.map(async (k) => entry(await store.get(ns, k)))));
  });

  ops.register('kv.put', (arg, ctx) => {
    const a = (arg ?? {}) as { binding?: unknown; key?: unknown; value?: unknown; expiration?: unknown; expirationTtl?: unknown; metadata?: unknown };
    const ns = namespaceOf(ctx.manifest, a.binding);
    const key = str(a.key, 'a KV key');
    if (!(a.value instanceof Uint8Array)) throw new HostOpError('TypeError', 'a KV value must be bytes');
    const value = a.value;
    const expiration = optionalNumber(a.expiration, 'expiration');
    const expirationTtl = optionalNumber(a.expirationTtl, 'expirationTtl');
    const metadata = a.metadata === undefined || a.metadata === null ? null : str(a.metadata, 'metadata (JSON text)');
    return guarded('PUT', () => store.put(ns, key, value, { expiration: expiration ?? null, expirationTtl: expirationTtl ?? null, metadata }).then(() => null));
  });

  ops.register('kv.delete', (arg, ctx) => {
    const a = (arg ?? {}) as { binding?: unknown; key?: unknown };
    const ns = namespaceOf(ctx.manifest, a.binding);
    const key = str(a.key, 'a KV key');
    return guarded('DELETE', () => store.delete(ns, key).then(() => null));
  });

  ops.register('kv.list', (arg, ctx) => {
    const a = (arg ?? {}) as { binding?: unknown; prefix?: unknown; limit?: unknown; cursor?: unknown };
    const ns = namespaceOf(ctx.manifest, a.binding);
    const prefix = a.prefix === undefined || a.prefix === null ? undefined : str(a.prefix, 'prefix');
    const cursor = a.cursor === undefined || a.cursor === null || a.cursor === '' ? undefined : str(a.cursor, 'cursor');
    const limit = optionalNumber(a.limit, 'limit');
    return guarded('LIST', async (): Promise<KvListResult> => store.list(ns, { ...(prefix !== undefined ? { prefix } : {}), ...(cursor !== undefined ? { cursor } : {}), ...(limit !== undefined ? { limit } : {}) }));
  });
}
