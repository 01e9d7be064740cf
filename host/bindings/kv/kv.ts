// KV: `kv_namespaces` grants namespaces of the host's KV store. The one host implementation is the
// `edge:platform/kv` interface (`Namespace.open(binding)`, over the store, which enforces Workers KV's rules):
// components import it, and JS workers' `env.MY_KV` (kv-facade.js, a KVNamespace) calls the same functions.
import { fileURLToPath } from 'node:url';
import { CapabilityError, type BuiltinCapability, type CapabilityDefinition } from '../capability.ts';
import { kvSection, type KvGrant } from './kv-section.ts';
import { KvGenerations } from './kv-generations.ts';
import type * as Kv from '../generated/interfaces/edge-platform-kv.d.ts';
import { KV_LIMITS, KvError, type KvEntry, type KvStore } from '../../../storage/kv/kv-types.ts';

type KvImpl = typeof Kv;

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

function entryOf(e: KvEntry | null): Kv.Entry | undefined {
  if (!e) return undefined;
  return {
    value: e.value,
    ...(e.metadata !== null ? { metadata: e.metadata } : {}),
    ...(e.expiration !== null ? { expiration: BigInt(e.expiration) } : {}),
  };
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

        get(key: string): Kv.Entry | undefined | Promise<Kv.Entry | undefined> {
          // A hot key is answered at once, not with a promise: a JS facade's call then settles in its own entry.
          if (store.peek) {
            let known: KvEntry | null | undefined;
            try {
              known = store.peek(this.#ns, key);
            } catch (err) {
              witError(err);
            }
            if (known !== undefined) return entryOf(known);
          }
          return store.get(this.#ns, key).then(entryOf, witError);
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

/** The KV capability: its section, the JS facade, and the interface bound to the host's store. */
export const kvBuiltin: BuiltinCapability<KvGrant> = {
  name: 'kv',
  interface: 'edge:platform/kv',
  grant: 'section',
  section: kvSection,
  grantHint: 'its manifest binds no KV namespace; add kv_namespaces = [{ binding = "MY_KV", id = "..." }]',
  unavailable: 'this host was started without a KV store',
  // `slot`: the binding's write counter; the limits word the facade's errors as the store does (the size comes in the WIT error).
  facade: {
    module: fileURLToPath(new URL('./kv-facade.js', import.meta.url)),
    config: (_settings, _binding, index) => ({ slot: index, keyBytes: KV_LIMITS.keyBytes, metadataBytes: KV_LIMITS.metadataBytes }),
  },
  bind(host) {
    const store = host.kv;
    if (!store) return null;
    // Write counters shared with the facades of JS workers: they serve hot values while the namespace's counter holds.
    const generations = new KvGenerations();
    store.onChange?.((ns) => generations.bump(ns));
    const def = kvCapability(store);
    return {
      instantiate: (grants, ctx) => def.instantiate(grants, ctx),
      share(grants) {
        const attached = generations.attach([...grants.values()].map((g) => g.id));
        return { buffer: attached.shared, release: attached.detach };
      },
    };
  },
};
