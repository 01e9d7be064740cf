// What a capability is: one WIT interface the host implements, the grants a manifest gives it, and a per-instance
// implementation holding only what that worker was granted (the shape of Spin's "factors"). Built-in capabilities
// (host/bindings/<name>/) and user-defined ones (named in edge.config.ts) have exactly this shape.
import type { ManifestSection } from '../core/manifest.ts';
import type { KvStore } from '../../storage/kv/kv-types.ts';
import type { BlobStore } from '../../storage/blob/blob-types.ts';
import type { SqlStore } from '../../storage/sql/sql-types.ts';
import type { DurableStore } from '../../storage/durable/durable-store.ts';

/** A grant of a user capability, from a manifest's `[[bindings]]` entry. */
export interface CapabilityGrant {
  /** The name the worker uses: `env.GEO` in JS, `Table.open("GEO")` in a component. */
  binding: string;
  /** Every other key of the `[[bindings]]` entry. */
  settings: Record<string, unknown>;
}

export interface CapabilitySetupContext {
  /** Directory of the host config that named the capability (or of the built-in), to resolve data files. */
  configDir: string;
  /** The host's data directory. */
  dataDir: string;
}

export interface CapabilityInstanceContext {
  worker: string;
  version: string;
  vars: Readonly<Record<string, unknown>>;
  /** Writes to the worker's log (`edge tail`), as console.log does. */
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  /**
   * A request to a worker of this host, in-process (to one of its Durable Objects with `object`), answered whole.
   * Counted as a subrequest of the calling worker.
   */
  inProcess?(req: InProcessRequest): Promise<InProcessResponse>;
}

export interface InProcessRequest {
  worker: string;
  object?: { className: string; id: string };
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: Uint8Array | null;
}

export interface InProcessResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

/**
 * A capability. `Impl` is the interface's host implementation as jco types it (generate the types with
 * `edge types <file.wit>`): free functions by their camelCase name, resources as classes by their PascalCase name.
 * Functions may return promises (the guest waits, blocked, for them). A `result` error is reported by throwing
 * its payload (e.g. `throw { tag: 'not-granted', val: binding }`), or an object with a `payload` property; any
 * `Error` thrown is a host failure and ends the guest's request.
 */
export interface CapabilityDefinition<Impl extends object = object, Settings = Record<string, unknown>> {
  /** What `type = "..."` in a manifest's `[[bindings]]` names. Lower-case letters, digits and '-'. */
  name: string;
  /** The WIT interface implemented: `namespace:package/interface`, without version. */
  interface: string;
  /** Host start: load data, open stores. */
  setup?(ctx: CapabilitySetupContext): void | Promise<void>;
  /** Deploy time: checks one grant's settings (throw an Error whose message says what is wrong) and returns what instances get. */
  checkGrant?(grant: CapabilityGrant): Settings;
  /** Per worker instance: the implementation for a worker granted these bindings (binding name → settings). */
  instantiate(grants: ReadonlyMap<string, Settings>, ctx: CapabilityInstanceContext): Impl;
}

/** Thrown by an implementation for a WIT `result` error: `payload` is the error value the guest receives. */
export class CapabilityError extends Error {
  readonly payload: unknown;
  constructor(payload: unknown, message?: string) {
    super(message ?? describePayload(payload));
    this.name = 'CapabilityError';
    this.payload = payload;
  }
}

export function describePayload(payload: unknown): string {
  if (payload && typeof payload === 'object' && 'tag' in payload) {
    const p = payload as { tag: unknown; val?: unknown };
    return p.val === undefined ? String(p.tag) : `${String(p.tag)}: ${typeof p.val === 'string' ? p.val : JSON.stringify(p.val, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`;
  }
  return typeof payload === 'string' ? payload : JSON.stringify(payload, (_, v) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(payload);
}

/**
 * A capability built into the host (host/bindings/<name>/): the same shape as a user capability, plus what a built-in
 * brings beyond its WIT interface. Adding one is one WIT file in wit/ and one folder here, listed in builtins.ts.
 */
export interface BuiltinCapability<Settings = Record<string, unknown>> {
  /** The grant type (`BindingGrant.type`) and the name in messages. */
  name: string;
  /** Its WIT interface (`edge:platform/kv`), if components can import it. */
  interface?: string;
  /** `always`: every worker has it (log, vars); `section`: granted by its wrangler section. */
  grant: 'always' | 'section';
  /** The wrangler section that grants it. */
  section?: ManifestSection;
  /** What to add to a manifest that lacks the grant, for messages: `add kv_namespaces = [...]`. */
  grantHint?: string;
  /** Why it is missing on a host that was started without what it needs (no store). */
  unavailable?: string;
  /**
   * JS workers: the prelude facade that makes `env.<binding>` (a module of this folder, bundled into the isolate
   * snapshot; see host/bindings/README.md for its shape) and the JSON it gets for each binding (`index`: the binding's
   * position among this capability's grants, as in `share`).
   */
  facade?: { module: string; config?(settings: Settings, binding: string, index: number): unknown };
  /** Binds the capability to this host's stores; null when the host lacks them (then `unavailable` explains). */
  bind(host: BuiltinHost): BoundBuiltin<Settings> | null;
}

/** What a built-in capability needs from the host that runs it. */
export interface BuiltinHost {
  kv?: KvStore;
  blob?: BlobStore;
  sql?: SqlStore;
  durable?: DurableStore;
}

/** Where a binding's fetch() goes in-process: a worker, and for a Durable Object namespace the class of its objects. */
export interface FetchTarget {
  worker: string;
  objectClass?: string;
}

/** A built-in capability bound to a host's stores. */
export interface BoundBuiltin<Settings = Record<string, unknown>> {
  /** The WIT implementation per worker instance (as CapabilityDefinition.instantiate); absent for facade-only capabilities. */
  instantiate?(grants: ReadonlyMap<string, Settings>, ctx: CapabilityInstanceContext): object;
  /**
   * Per worker instance: memory shared between the host and the JS facade (read by the facade with Atomics), and
   * how to let it go when the instance dies. The facade receives it as its `shared` argument.
   */
  share?(grants: ReadonlyMap<string, Settings>): { buffer: SharedArrayBuffer; release(): void };
  /**
   * Whether this grant makes the granted worker host state that must live in one instance at a time (its own
   * Durable Objects): a new instance of it waits until the one it replaces has finished its work.
   */
  exclusive?(settings: Settings): boolean;
  /** A binding a JS worker can fetch() in-process (a service binding, a Durable Object stub): where it goes. `worker`: the granted worker's name. */
  fetchTarget?(settings: Settings, worker: string): string | FetchTarget;
}
