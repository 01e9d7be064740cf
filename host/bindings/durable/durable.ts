// Durable Objects: `durable_objects.bindings` grants a namespace of objects of a class exported by this worker (or by
// `script_name`). The host implementation of the `edge:platform/durable` interface makes and checks ids
// (durable-ids.ts); JS workers' `env.ROOMS` (durable-facade.js, a DurableObjectNamespace) calls the same functions,
// and its stubs' fetch() goes to the object through the runtime (the binding's fetch target names the worker and
// class). The objects' storage is the host's DurableStore (storage/durable), reached by the object's own code through
// the `do.*` host ops (durable-ops.ts).
import { fileURLToPath } from 'node:url';
import { CapabilityError, type BuiltinCapability, type CapabilityDefinition } from '../capability.ts';
import { durableSection, type DurableGrant } from './durable-section.ts';
import { idFromName, isIdOf, newUniqueId } from './durable-ids.ts';
import type * as Durable from '../generated/interfaces/edge-platform-durable.d.ts';

type DurableImpl = typeof Durable;

export function durableCapability(idKey: Buffer): CapabilityDefinition<DurableImpl, DurableGrant> {
  return {
    name: 'durable',
    interface: 'edge:platform/durable',
    instantiate(grants, ctx) {
      class Namespace {
        readonly #cls: string;
        private constructor(cls: string) {
          this.#cls = cls;
        }

        static open(binding: string): Namespace {
          const g = grants.get(binding);
          if (!g) throw new CapabilityError({ tag: 'not-granted', val: binding } satisfies Durable.Error, `no Durable Object namespace is bound as "${binding}" (durable_objects)`);
          return new Namespace(`${g.scriptName ?? ctx.worker}/${g.className}`);
        }

        idFromName(name: string): string {
          return idFromName(idKey, this.#cls, name);
        }

        newUniqueId(): string {
          return newUniqueId(idKey, this.#cls);
        }

        idFromString(id: string): string {
          if (!isIdOf(idKey, this.#cls, id)) {
            throw new CapabilityError({ tag: 'invalid-id', val: id } satisfies Durable.Error, /^[0-9a-f]{64}$/.test(id) ? `"${id}" is an id of another Durable Object class` : `"${id}" is not a Durable Object id (64 hexadecimal digits)`);
          }
          return id;
        }

        /** The object's fetch(), for components: the request and response whole. */
        async fetch(id: string, request: Durable.ObjectRequest): Promise<Durable.Response> {
          if (!isIdOf(idKey, this.#cls, id)) throw new CapabilityError({ tag: 'invalid-id', val: id } satisfies Durable.Error, `"${id}" is not an id of this Durable Object namespace`);
          if (!ctx.inProcess) throw new CapabilityError({ tag: 'internal', val: 'this host cannot reach Durable Objects from here' } satisfies Durable.Error);
          const slash = this.#cls.lastIndexOf('/');
          if (this.#cls.slice(0, slash) === ctx.worker) {
            // Its objects live in its own instance, which is running this call and cannot take another event until it returns.
            throw new CapabilityError({ tag: 'object-failed', val: `a component cannot reach objects of a class it exports itself (${this.#cls.slice(slash + 1)}): its instance is busy with this request; reach them from another worker (script_name)` } satisfies Durable.Error);
          }
          let res;
          try {
            res = await ctx.inProcess({
              worker: this.#cls.slice(0, slash),
              object: { className: this.#cls.slice(slash + 1), id },
              method: request.method,
              url: request.url,
              headers: request.headers,
              body: request.body.byteLength > 0 ? request.body : null,
            });
          } catch (err) {
            throw new CapabilityError({ tag: 'object-failed', val: (err as Error).message } satisfies Durable.Error);
          }
          return { status: res.status, headers: res.headers, body: res.body.byteLength > 0 ? { tag: 'bytes', val: res.body } : { tag: 'empty' } };
        }
      }
      return { Namespace } as unknown as DurableImpl;
    },
  };
}

/** The Durable Objects capability: its section, the JS facade, ids bound to the host's store. */
export const durableBuiltin: BuiltinCapability<DurableGrant> = {
  name: 'durable',
  interface: 'edge:platform/durable',
  grant: 'section',
  section: durableSection,
  grantHint: 'its manifest binds no Durable Object namespace; add [[durable_objects.bindings]] name = "..." class_name = "..."',
  unavailable: 'this host was started without a Durable Object store',
  facade: {
    module: fileURLToPath(new URL('./durable-facade.js', import.meta.url)),
    // `local`: the class is this worker's own, so its objects live in this very isolate (exclusive, below).
    config: (settings) => ({ className: settings.className, local: settings.scriptName === null }),
  },
  bind(host) {
    const store = host.durable;
    if (!store) return null;
    const def = durableCapability(store.idKey);
    return {
      instantiate: (grants, ctx) => def.instantiate(grants, ctx),
      fetchTarget: (settings, worker) => ({ worker: settings.scriptName ?? worker, objectClass: settings.className }),
      // Objects of its own class live in this worker's instance: one at a time, or an object could have two.
      exclusive: (settings) => settings.scriptName === null,
    };
  },
};
