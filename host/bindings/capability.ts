// What a capability is: one WIT interface the host implements, the grants a manifest gives it, and a per-instance
// implementation holding only what that worker was granted (the shape of Spin's "factors"). Built-in capabilities
// (host/bindings/<name>/) and user-defined ones (named in edge.config.ts) have exactly this shape.

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
