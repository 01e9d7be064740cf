// `edge:platform/kv` for WebAssembly components: `Namespace.open(binding)` for a namespace the manifest binds in
// kv_namespaces, over the same store (and rules) as JS workers' env.MY_KV.
import { CapabilityError, type CapabilityDefinition } from '../capability.ts';
import type * as Kv from '../generated/interfaces/edge-platform-kv.d.ts';
import { KvError, type KvStore } from '../../../storage/kv/kv-types.ts';

type KvImpl = typeof Kv;
export interface KvGrant {
  id: string;
}

/** A KvError as the kv interface's error variant. */
function witError(err: unknown): never {
  if (!(err instanceof KvError)) throw err;
  const payload: Kv.Error =
    err.kvCode === 'key-too-long' ? { tag: 'key-too-long', val: err.size ?? 0 }
    : err.kvCode === 'value-too-large' ? { tag: 'value-too-large', val: BigInt(err.size ?? 0) }
    : err.kvCode === 'metadata-too-large' ? { tag: 'metadata-too-large', val: err.size ?? 0 }
    : err.kvCode === 'invalid-key' ? { tag: 'invalid-key', val: err.message }
    : err.kvCode === 'invalid-expiration' ? { tag: 'invalid-expiration', val: err.message }
    : err.kvCode === 'invalid-list' ? { tag: 'invalid-list', val: err.message }
    : { tag: 'internal', val: err.message };
  throw new CapabilityError(payload, err.message);
}

export function kvCapability(store: KvStore): CapabilityDefinition<KvImpl, KvGrant> {
  return {
    name: 'kv',
    interface: 'edge:platform/kv',
    instantiate(grants) {
      class Namespace {
        readonly #ns: string;
        private constructor(ns: string) {
          this.#ns = ns;
        }

        static open(binding: string): Namespace {
          const g = grants.get(binding);
          if (!g) throw new CapabilityError({ tag: 'not-granted', val: binding } satisfies Kv.Error, `no KV namespace is bound as "${binding}" (kv_namespaces)`);
          return new Namespace(g.id);
        }

        async get(key: string): Promise<Kv.Entry | undefined> {
          const e = await store.get(this.#ns, key).catch(witError);
          if (!e) return undefined;
          return e.metadata === null ? { value: e.value } : { value: e.value, metadata: e.metadata };
        }

        async put(key: string, value: Uint8Array, options: Kv.PutOptions): Promise<void> {
          await store
            .put(this.#ns, key, value, {
              expiration: options.expiration === undefined ? null : Number(options.expiration),
              expirationTtl: options.expirationTtl === undefined ? null : Number(options.expirationTtl),
              metadata: options.metadata ?? null,
            })
            .catch(witError);
        }

        async delete(key: string): Promise<void> {
          await store.delete(this.#ns, key).catch(witError);
        }

        async list(options: Kv.ListOptions): Promise<Kv.ListResult> {
          const r = await store
            .list(this.#ns, {
              ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
              ...(options.limit !== undefined ? { limit: options.limit } : {}),
              ...(options.cursor !== undefined ? { cursor: options.cursor } : {}),
            })
            .catch(witError);
          return {
            keys: r.keys.map((k) => ({
              name: k.name,
              ...(k.expiration !== null ? { expiration: BigInt(k.expiration) } : {}),
              ...(k.metadata !== null ? { metadata: k.metadata } : {}),
            })),
            listComplete: r.listComplete,
            ...(r.cursor !== undefined ? { cursor: r.cursor } : {}),
          };
        }
      }
      return { Namespace } as unknown as KvImpl;
    },
  };
}
