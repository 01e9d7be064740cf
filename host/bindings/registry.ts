// The capability registry: every capability the host offers (built-in, host/bindings/<name>/, and user-defined, from
// edge.config.ts), the deploy-time check of a manifest's grants, the interfaces a component may import, the `env` a
// JS worker gets, and per-instance implementations. The runtime loops over what this answers and names no capability.
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EdgeError } from '../core/errors.ts';
import type { DeployManifest } from '../core/manifest.ts';
import type { UserCapabilitySpec } from '../core/host-config.ts';
import { resolvePackage, loadWitDir, WitError, type ResolvedPackage } from '../../guest-sdk/bindgen/wit/index.ts';
import { CapabilityError, type BuiltinHost, type CapabilityDefinition, type CapabilityInstanceContext, type FetchTarget } from './capability.ts';
import { describeInterface, type InterfaceDescriptor } from './describe.ts';
import { BUILTIN_CAPABILITIES } from './builtins.ts';

/** Interfaces of the platform that the runtime itself provides to every component (not capabilities). */
const RUNTIME_INTERFACES = ['edge:platform/http-types'];
/** Platform interfaces that are no capability a manifest grants: importing them elsewhere is refused with this hint. */
const RESERVED: Record<string, string> = {
  'edge:platform/durable-storage': 'only a Durable Object class has storage: a component that exports edge:platform/durable-handler (world edge:platform/durable-object) and whose manifest declares its class in [[migrations]] new_classes',
};

interface Registered {
  name: string;
  /** Absent for a capability without a WIT interface (service bindings). */
  descriptor?: InterfaceDescriptor;
  /** `always`: every worker has it; `section`: granted by a built-in's wrangler section; `bindings`: by `[[bindings]]`. */
  grant: 'always' | 'section' | 'bindings';
  instantiate?: (grants: ReadonlyMap<string, unknown>, ctx: CapabilityInstanceContext) => object;
  checkGrant?: CapabilityDefinition['checkGrant'];
  share?: (grants: ReadonlyMap<string, unknown>) => { buffer: SharedArrayBuffer; release(): void };
  fetchTarget?: (settings: unknown, worker: string) => string | FetchTarget;
  exclusive?: (settings: unknown) => boolean;
  /** The JS facade's name and per-binding config; absent: JS workers get the generic facade over the interface. */
  facade?: { config?(settings: unknown, binding: string, index: number): unknown };
  /** What to add to a manifest that lacks the grant. */
  grantHint?: string;
  /** Where it came from, for messages. */
  source: string;
}

/** One `env` entry of a JS worker: `env[binding]` is made by the prelude facade `facade` from `config` (JSON). */
export interface EnvEntry {
  binding: string;
  facade: string;
  config: unknown;
}

/** What an instance of a manifest's worker may reach. */
export interface InstancePlan {
  /** Interface descriptors: the imports a component gets, and what the generic `wit` facade calls. */
  interfaces: InterfaceDescriptor[];
  /** The JS worker's `env` entries beyond [vars], in manifest order. */
  env: EnvEntry[];
}

function unversioned(id: string): string {
  return id.replace(/@[^/]*$/, '');
}

/** A built-in capability that this host could not bind (no store): its grants are refused at deploy with `why`. */
interface Unavailable {
  name: string;
  interface?: string;
  why: string;
}

export class CapabilityRegistry {
  private readonly byInterface = new Map<string, Registered>();
  private readonly byName = new Map<string, Registered>();
  private readonly unavailable = new Map<string, Unavailable>();
  /** Grants checked per manifest, by capability name then binding (a version's manifest object is shared by all its instances). */
  private readonly grantsOf = new WeakMap<DeployManifest, Map<string, Map<string, unknown>>>();
  private readonly plans = new WeakMap<DeployManifest, InstancePlan>();
  /** Every capability's interface descriptor by interface id, shared by all instances. */
  private readonly descriptors = new Map<string, InterfaceDescriptor>();

  private register(r: Registered): void {
    const clash = this.byName.get(r.name) ?? (r.descriptor ? this.byInterface.get(r.descriptor.id) : undefined);
    if (clash) {
      throw new EdgeError('E_CAPABILITY_INVALID', `${r.source}: capability "${r.name}"${r.descriptor ? ` (${r.descriptor.id})` : ''} clashes with "${clash.name}"${clash.descriptor ? ` (${clash.descriptor.id})` : ''} from ${clash.source}.`);
    }
    this.byName.set(r.name, r);
    if (r.descriptor) {
      this.byInterface.set(r.descriptor.id, r);
      this.descriptors.set(r.descriptor.id, r.descriptor);
    }
  }

  /**
   * The built-ins (host/bindings/builtins.ts) bound to the host's stores and described from `platformWitDir`, then each
   * user capability: its WIT parsed, its module imported and checked, its setup run.
   */
  static async create(options: { platformWitDir: string; dataDir: string; user?: UserCapabilitySpec[]; configDir?: string; stores?: BuiltinHost }): Promise<CapabilityRegistry> {
    const reg = new CapabilityRegistry();
    const platform = await loadWitDir(options.platformWitDir);
    for (const b of BUILTIN_CAPABILITIES) {
      const bound = b.bind(options.stores ?? {});
      if (!bound) {
        reg.unavailable.set(b.name, { name: b.name, ...(b.interface ? { interface: b.interface } : {}), why: b.unavailable ?? 'this host does not offer it' });
        continue;
      }
      reg.register({
        name: b.name,
        ...(b.interface ? { descriptor: descriptorFor(platform, b.interface, 'built-in') } : {}),
        grant: b.grant,
        ...(bound.instantiate ? { instantiate: bound.instantiate as Registered['instantiate'] } : {}),
        ...(bound.share ? { share: bound.share as Registered['share'] } : {}),
        ...(bound.fetchTarget ? { fetchTarget: bound.fetchTarget as Registered['fetchTarget'] } : {}),
        ...(bound.exclusive ? { exclusive: bound.exclusive as Registered['exclusive'] } : {}),
        ...(b.facade ? { facade: b.facade.config ? { config: b.facade.config as NonNullable<Registered['facade']>['config'] } : {} } : {}),
        ...(b.grantHint ? { grantHint: b.grantHint } : {}),
        source: 'built-in',
      });
    }
    for (const spec of options.user ?? []) {
      const pkg = await loadUserWit(spec.wit);
      const def = await loadUserModule(spec.module);
      if (`${pkg.id.namespace}:${pkg.id.name}` === 'edge:platform') {
        throw new EdgeError('E_CAPABILITY_INVALID', `${spec.wit}: a user capability cannot use the package name edge:platform; pick your own (e.g. \`package acme:geo@0.1.0;\`).`);
      }
      if (reg.unavailable.has(def.name)) {
        throw new EdgeError('E_CAPABILITY_INVALID', `${spec.module}: capability "${def.name}" has the name of a built-in capability; pick another name.`);
      }
      reg.register({
        name: def.name,
        descriptor: descriptorFor(pkg, def.interface, spec.module),
        grant: 'bindings',
        instantiate: def.instantiate.bind(def) as Registered['instantiate'],
        ...(def.checkGrant ? { checkGrant: def.checkGrant.bind(def) } : {}),
        source: spec.module,
      });
      try {
        await def.setup?.({ configDir: options.configDir ?? dirname(spec.module), dataDir: options.dataDir });
      } catch (err) {
        throw new EdgeError('E_CAPABILITY_INVALID', `${spec.module}: setup of capability "${def.name}" failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
    return reg;
  }

  /** User capabilities, for messages and `edge build`. */
  get userCapabilities(): Array<{ name: string; interface: string }> {
    return [...this.byName.values()].filter((r) => r.grant === 'bindings').map((r) => ({ name: r.name, interface: r.descriptor!.id }));
  }

  /**
   * Deploy time: every grant names a capability of this host, through the right section (`[[bindings]]` for user
   * capabilities, a built-in's own section for it), and its settings pass the capability's check. Returns the settings
   * by capability and binding.
   */
  checkGrants(manifest: DeployManifest): Map<string, Map<string, unknown>> {
    const out = new Map<string, Map<string, unknown>>();
    for (const g of manifest.bindings) {
      const r = this.byName.get(g.type);
      const viaBindings = g.section === 'bindings';
      if (viaBindings && (!r || r.grant !== 'bindings')) {
        const known = this.userCapabilities.map((c) => c.name);
        throw new EdgeError(
          'E_BINDING_UNKNOWN',
          `${g.key}: unknown capability type "${g.type}" for binding "${g.binding}"; ${known.length ? `this host offers: ${known.join(', ')}` : 'this host has no user-defined capabilities (add them to edge.config.ts and restart it)'}.`,
          { details: { key: g.key, type: g.type, binding: g.binding } },
        );
      }
      if (!r) {
        const missing = this.unavailable.get(g.type);
        throw new EdgeError('E_BINDING_UNSUPPORTED', `${g.key}: binding "${g.binding}" cannot be granted: ${missing ? missing.why : `this host has no "${g.type}" capability`}.`, {
          details: { key: g.key, type: g.type, binding: g.binding },
        });
      }
      let settings: unknown = g.settings;
      if (r.checkGrant) {
        try {
          settings = r.checkGrant({ binding: g.binding, settings: g.settings });
        } catch (err) {
          throw new EdgeError('E_BINDING_INVALID', `${g.key} (binding "${g.binding}", type "${g.type}"): ${err instanceof Error ? err.message : String(err)}`, {
            details: { key: g.key, type: g.type, binding: g.binding },
          });
        }
      }
      let m = out.get(g.type);
      if (!m) out.set(g.type, (m = new Map()));
      m.set(g.binding, settings);
    }
    return out;
  }

  private checkedGrants(manifest: DeployManifest): Map<string, Map<string, unknown>> {
    // Checked at deploy; a version's cold starts reuse the settings instead of checking them again.
    let grants = this.grantsOf.get(manifest);
    if (!grants) this.grantsOf.set(manifest, (grants = this.checkGrants(manifest)));
    return grants;
  }

  /**
   * Deploy time, for a component: each import must be an interface the runtime provides or a capability granted by
   * the manifest. Import names are jco's (`edge:platform/log`, versions dropped).
   */
  checkImports(manifest: DeployManifest, imports: string[]): void {
    const granted = new Set(manifest.bindings.map((b) => b.type));
    for (const raw of imports) {
      const id = unversioned(raw);
      if (RUNTIME_INTERFACES.includes(id)) continue;
      const r = this.byInterface.get(id);
      if (r?.grant === 'always') continue;
      if (r && granted.has(r.name)) continue;
      let why: string;
      const missing = [...this.unavailable.values()].find((u) => u.interface === id);
      if (r?.grant === 'section') why = r.grantHint!;
      else if (r) why = `its manifest grants no "${r.name}" binding; add [[bindings]] type = "${r.name}", binding = "..."`;
      else if (missing) why = missing.why;
      else if (RESERVED[id]) why = RESERVED[id]!;
      else if (id.startsWith('wasi:')) why = 'WASI interfaces are not offered to workers; build the component without a WASI adapter';
      else why = `no capability of this host implements it${this.userCapabilities.length ? ` (user capabilities: ${this.userCapabilities.map((c) => c.interface).join(', ')})` : ''}`;
      throw new EdgeError('E_IMPORT_NOT_GRANTED', `The component imports ${raw}, which is not granted: ${why}.`, { details: { import: raw } });
    }
  }

  /** What an instance of this manifest's worker may reach: interface descriptors and the JS worker's `env` entries. */
  plan(manifest: DeployManifest): InstancePlan {
    const cached = this.plans.get(manifest);
    if (cached) return cached;
    const interfaces: InterfaceDescriptor[] = [];
    const seen = new Set<string>();
    const add = (d: InterfaceDescriptor | undefined): void => {
      if (!d || seen.has(d.id)) return;
      interfaces.push(d);
      seen.add(d.id);
    };
    for (const r of this.byName.values()) if (r.grant === 'always') add(r.descriptor);
    const env: EnvEntry[] = [];
    const grants = this.checkedGrants(manifest);
    const index = new Map<string, number>();
    for (const g of manifest.bindings) {
      const r = this.byName.get(g.type);
      if (!r) continue;
      add(r.descriptor);
      const i = index.get(r.name) ?? 0;
      index.set(r.name, i + 1);
      const settings = grants.get(r.name)?.get(g.binding);
      if (r.facade) env.push({ binding: g.binding, facade: r.name, config: r.facade.config ? r.facade.config(settings, g.binding, i) : null });
      else if (r.descriptor) env.push({ binding: g.binding, facade: 'wit', config: { interface: r.descriptor.id } });
    }
    const plan = { interfaces, env };
    this.plans.set(manifest, plan);
    return plan;
  }

  /**
   * Memory shared between the host and the JS facades of one instance, by capability name (KV's write counters), and
   * how to let it all go when the instance dies.
   */
  share(manifest: DeployManifest): { buffers: Record<string, SharedArrayBuffer>; release(): void } {
    const buffers: Record<string, SharedArrayBuffer> = {};
    const releases: Array<() => void> = [];
    for (const [name, grants] of this.checkedGrants(manifest)) {
      const r = this.byName.get(name);
      if (!r?.share || grants.size === 0) continue;
      const s = r.share(grants);
      buffers[name] = s.buffer;
      releases.push(s.release);
    }
    return { buffers, release: () => releases.forEach((f) => f()) };
  }

  /** The worker a binding of this manifest fetches in-process (a service binding), or undefined when it is none. */
  /** Whether the worker's instances must live one at a time (a grant says so: it hosts Durable Objects). */
  exclusive(manifest: DeployManifest): boolean {
    for (const [name, grants] of this.checkedGrants(manifest)) {
      const r = this.byName.get(name);
      if (r?.exclusive && [...grants.values()].some((s) => r.exclusive!(s))) return true;
    }
    return false;
  }

  fetchTarget(manifest: DeployManifest, binding: string): FetchTarget | undefined {
    for (const [name, grants] of this.checkedGrants(manifest)) {
      const r = this.byName.get(name);
      if (!r?.fetchTarget || !grants.has(binding)) continue;
      const t = r.fetchTarget(grants.get(binding), manifest.name);
      return typeof t === 'string' ? { worker: t } : t;
    }
    return undefined;
  }

  instantiate(manifest: DeployManifest, ctx: CapabilityInstanceContext): CapabilityInstance {
    const grants = this.checkedGrants(manifest);
    const factories = new Map<string, () => object>();
    for (const r of this.byName.values()) {
      if (!r.descriptor || !r.instantiate) continue;
      const g = grants.get(r.name);
      if (r.grant !== 'always' && !g) continue;
      const make = r.instantiate;
      factories.set(r.descriptor.id, () => make(g ?? new Map<string, unknown>(), ctx));
    }
    return new CapabilityInstance(factories, this.descriptors);
  }
}

function descriptorFor(pkg: ResolvedPackage, ifaceId: string, source: string): InterfaceDescriptor {
  const want = unversioned(ifaceId);
  for (const iface of pkg.interfaces) {
    if (iface.world) continue;
    const d = describeInterface(pkg, iface);
    if (d.id === want) return d;
  }
  const have = pkg.interfaces.map((i) => `${pkg.id.namespace}:${pkg.id.name}/${i.name}`);
  throw new EdgeError('E_CAPABILITY_INVALID', `${source}: capability interface "${ifaceId}" is not in its WIT (which defines ${have.join(', ') || 'no interfaces'}).`);
}

async function loadUserWit(path: string): Promise<ResolvedPackage> {
  try {
    if (path.endsWith('.wit')) return resolvePackage([{ path: basename(path), text: await readFile(path, 'utf8') }]);
    return await loadWitDir(path);
  } catch (err) {
    if (err instanceof WitError) throw new EdgeError('E_CAPABILITY_INVALID', `${path}: ${err.message}`);
    throw new EdgeError('E_CAPABILITY_INVALID', `cannot read capability WIT ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function loadUserModule(path: string): Promise<CapabilityDefinition> {
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (err) {
    throw new EdgeError('E_CAPABILITY_INVALID', `cannot load capability module ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const def = mod.default as Partial<CapabilityDefinition> | undefined;
  const problems: string[] = [];
  if (!def || typeof def !== 'object') problems.push('it must `export default` the capability definition object');
  else {
    if (typeof def.name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(def.name)) problems.push('`name` must be a lower-case name such as "geo" (what manifests write as [[bindings]] type)');
    if (typeof def.interface !== 'string' || !/^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*\/[a-z][a-z0-9-]*(@.*)?$/.test(def.interface)) problems.push('`interface` must name the WIT interface, e.g. "acme:geo/lookup"');
    if (typeof def.instantiate !== 'function') problems.push('`instantiate(grants, ctx)` must be a function returning the implementation');
    if (def.checkGrant !== undefined && typeof def.checkGrant !== 'function') problems.push('`checkGrant` must be a function');
    if (def.setup !== undefined && typeof def.setup !== 'function') problems.push('`setup` must be a function');
  }
  if (problems.length) throw new EdgeError('E_CAPABILITY_INVALID', `capability module ${path}: ${problems.join('; ')}.`);
  return def as CapabilityDefinition;
}

/** A guest's call, as the isolate sends it (host/runtime/js/prelude/capabilities.js). */
export interface CapabilityCall {
  /** Interface id. */
  i: string;
  /** Free function, or resource class name. */
  r: string;
  /** Member name for resources ('' for free functions). */
  m: string;
  k: 'fn' | 'static' | 'method' | 'constructor' | 'drop';
  /** Handle of `self` for methods and drops. */
  h: number;
  a: unknown[];
}

/** `{v}` a value, `{e}` a WIT error payload, `{x}` a host failure (the guest traps). */
export type CapabilityReply = { v: unknown } | { e: unknown } | { x: string };

interface HandleMarker {
  __h: number;
  __i: string;
  __r: string;
}

/**
 * One worker instance's capabilities: implementations made on first use, and the table of resource handles the
 * guest holds (numbers; the objects stay here). A handle made by a call of a request (a JS facade's call carries its
 * request) belongs to that request and is released when it ends, as Workers ties I/O objects to their request;
 * handles made outside a request (a component's calls, a facade opening its binding) live as long as the instance.
 */
export class CapabilityInstance {
  private readonly factories: Map<string, () => object>;
  private readonly descriptors: ReadonlyMap<string, InterfaceDescriptor>;
  private readonly impls = new Map<string, Record<string, unknown>>();
  private readonly classes = new Map<unknown, { i: string; r: string }>();
  private readonly handles = new Map<number, object>();
  private readonly handleOf = new WeakMap<object, number>();
  /** Request (scope) -> handles made for it. */
  private readonly scoped = new Map<number, Set<number>>();
  /** The scope of the call being encoded. */
  private scope = 0;
  private nextHandle = 1;

  constructor(factories: Map<string, () => object>, descriptors: ReadonlyMap<string, InterfaceDescriptor>) {
    this.factories = factories;
    this.descriptors = descriptors;
  }

  get handleCount(): number {
    return this.handles.size;
  }

  private impl(id: string): Record<string, unknown> {
    let impl = this.impls.get(id);
    if (impl) return impl;
    const make = this.factories.get(id);
    if (!make) throw new CapabilityError({ tag: 'not-granted', val: id }, `${id} is not granted to this worker`);
    impl = make() as Record<string, unknown>;
    this.impls.set(id, impl);
    for (const r of this.descriptors.get(id)?.resources ?? []) {
      const cls = impl[r.js];
      if (typeof cls === 'function') this.classes.set(cls, { i: id, r: r.js });
    }
    return impl;
  }

  /**
   * Runs a guest's call; a promise when the implementation is asynchronous. Never throws. `scope`: the request the
   * call belongs to (0: none), which owns the resource handles its result makes.
   */
  invoke(call: CapabilityCall, scope = 0): CapabilityReply | Promise<CapabilityReply> {
    let out: unknown;
    try {
      out = this.dispatch(call);
    } catch (err) {
      return this.failure(err, call);
    }
    if (out !== null && typeof out === 'object' && typeof (out as PromiseLike<unknown>).then === 'function') {
      return Promise.resolve(out).then(
        (v) => ({ v: this.encodeIn(scope, v) }),
        (err: unknown) => this.failure(err, call),
      );
    }
    return { v: this.encodeIn(scope, out) };
  }

  private encodeIn(scope: number, v: unknown): unknown {
    this.scope = scope;
    try {
      return this.encode(v);
    } finally {
      this.scope = 0;
    }
  }

  /** Request `scope` ended: the handles made for it are released (their objects disposed). */
  releaseScope(scope: number): void {
    const set = this.scoped.get(scope);
    if (!set) return;
    this.scoped.delete(scope);
    for (const h of set) this.release(h);
  }

  private release(h: number): void {
    const obj = this.handles.get(h);
    if (!obj) return;
    this.handles.delete(h);
    const dispose = (obj as { [Symbol.dispose]?: () => void })[Symbol.dispose];
    try {
      if (typeof dispose === 'function') dispose.call(obj);
    } catch {
      // a failing dispose must not keep others from running
    }
  }

  private failure(err: unknown, call: CapabilityCall): CapabilityReply {
    if (err instanceof Error) {
      if (Object.hasOwn(err, 'payload')) return { e: this.encode((err as Error & { payload: unknown }).payload) };
      return { x: `${call.i}${call.r ? `.${call.r}` : ''}${call.m ? `.${call.m}` : ''} failed in the host: ${err.message}` };
    }
    if (err !== null && typeof err === 'object' && Object.hasOwn(err, 'payload')) return { e: this.encode((err as { payload: unknown }).payload) };
    return { e: this.encode(err) };
  }

  private dispatch(call: CapabilityCall): unknown {
    const args = Array.isArray(call.a) ? call.a.map((a) => this.decode(a)) : [];
    switch (call.k) {
      case 'fn': {
        const fn = this.impl(call.i)[call.r];
        if (typeof fn !== 'function') throw new Error(`the implementation has no function ${call.r}`);
        return (fn as (...a: unknown[]) => unknown)(...args);
      }
      case 'static':
      case 'constructor': {
        const cls = this.impl(call.i)[call.r];
        if (typeof cls !== 'function') throw new Error(`the implementation has no resource class ${call.r}`);
        if (call.k === 'constructor') return new (cls as new (...a: unknown[]) => unknown)(...args);
        const fn = (cls as unknown as Record<string, unknown>)[call.m];
        if (typeof fn !== 'function') throw new Error(`${call.r} has no static function ${call.m}`);
        return (fn as (...a: unknown[]) => unknown).apply(cls, args);
      }
      case 'method': {
        const self = this.handles.get(call.h) as Record<string, unknown> | undefined;
        if (!self) throw new Error(`${call.r}.${call.m} called on a resource handle (${call.h}) that is not live`);
        const fn = self[call.m];
        if (typeof fn !== 'function') throw new Error(`${call.r} has no method ${call.m}`);
        return (fn as (...a: unknown[]) => unknown).apply(self, args);
      }
      case 'drop': {
        const self = this.handles.get(call.h);
        if (!self) return undefined;
        this.handles.delete(call.h);
        for (const set of this.scoped.values()) set.delete(call.h);
        const dispose = (self as { [Symbol.dispose]?: () => void })[Symbol.dispose];
        if (typeof dispose === 'function') dispose.call(self);
        return undefined;
      }
      default:
        throw new Error(`unknown call kind ${String(call.k)}`);
    }
  }

  /** Host value → what crosses to the isolate: resource objects become handle markers. */
  private encode(v: unknown): unknown {
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return v;
    const cls = this.classes.get((v as object).constructor);
    if (cls) {
      let h = this.handleOf.get(v);
      if (h === undefined || !this.handles.has(h)) {
        h = this.nextHandle++;
        this.handles.set(h, v);
        this.handleOf.set(v, h);
        if (this.scope !== 0) {
          let set = this.scoped.get(this.scope);
          if (!set) this.scoped.set(this.scope, (set = new Set()));
          set.add(h);
        }
      }
      return { __h: h, __i: cls.i, __r: cls.r } satisfies HandleMarker;
    }
    if (Array.isArray(v)) return v.map((x) => this.encode(x));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = this.encode(x);
    return out;
  }

  private decode(v: unknown): unknown {
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return v;
    if (typeof (v as HandleMarker).__h === 'number') {
      const obj = this.handles.get((v as HandleMarker).__h);
      if (!obj) throw new Error(`resource handle ${(v as HandleMarker).__h} is not live`);
      return obj;
    }
    if (Array.isArray(v)) return v.map((x) => this.decode(x));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = this.decode(x);
    return out;
  }

  /** The worker instance is gone (or its component trapped): every handle it held is released. */
  dispose(): void {
    for (const h of [...this.handles.keys()]) this.release(h);
    this.scoped.clear();
  }
}
