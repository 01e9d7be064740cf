// The capability registry: every capability the host offers (built-in and user-defined), the deploy-time check of
// a manifest's grants, the interfaces a worker may import, and per-instance implementations. No capability code
// lives in the runtime core: the runtime only forwards guests' calls to a CapabilityInstance.
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EdgeError } from '../core/errors.ts';
import type { DeployManifest } from '../deploy/manifest.ts';
import { resolvePackage, loadWitDir, WitError, type ResolvedPackage } from '../../guest-sdk/bindgen/wit/index.ts';
import { CapabilityError, type CapabilityDefinition, type CapabilityInstanceContext } from './capability.ts';
import { describeInterface, type InterfaceDescriptor } from './describe.ts';
import { logCapability } from './log/log.ts';
import { varsCapability } from './vars/vars.ts';
import type { UserCapabilitySpec } from '../core/host-config.ts';
import { kvCapability } from './kv/kv.ts';
import type { KvStore } from '../../storage/kv/kv-types.ts';
import { blobCapability } from './blob/blob.ts';
import type { BlobStore } from '../../storage/blob/blob-types.ts';

/** Interfaces of the platform that the runtime itself provides to every component (not capabilities). */
const RUNTIME_INTERFACES = ['edge:platform/http-types'];
/** Platform capabilities whose host side arrives with later work: importing them is refused with this hint. */
const RESERVED: Record<string, string> = {
  'edge:platform/sql': 'D1 (`d1_databases`) is not available on this host yet',
  'edge:platform/durable': 'Durable Objects (`durable_objects`) are not available on this host yet',
  'edge:platform/durable-storage': 'Durable Objects (`durable_objects`) are not available on this host yet',
};

interface Registered {
  definition: CapabilityDefinition;
  descriptor: InterfaceDescriptor;
  /**
   * `always`: every worker has it; `bindings`: granted by `[[bindings]] type = name`; `manifest`: granted by a
   * wrangler section (kv_namespaces), read by `grantsFrom`.
   */
  grant: 'always' | 'bindings' | 'manifest';
  grantsFrom?: (manifest: DeployManifest) => Map<string, unknown>;
  /** For `manifest` grants: what to add to a manifest that lacks the grant. */
  grantHint?: string;
  /** Where it came from, for messages. */
  source: string;
}

function unversioned(id: string): string {
  return id.replace(/@[^/]*$/, '');
}

export class CapabilityRegistry {
  private readonly byInterface = new Map<string, Registered>();
  private readonly byName = new Map<string, Registered>();
  /** Checked grants per manifest (a version's manifest object is shared by all its instances). */
  private readonly grantsOf = new WeakMap<DeployManifest, Map<string, Map<string, unknown>>>();
  /** Every capability's interface descriptor by interface id, shared by all instances. */
  private readonly descriptors = new Map<string, InterfaceDescriptor>();

  private register(r: Registered): void {
    const clash = this.byName.get(r.definition.name) ?? this.byInterface.get(r.descriptor.id);
    if (clash) {
      throw new EdgeError('E_CAPABILITY_INVALID', `${r.source}: capability "${r.definition.name}" (${r.descriptor.id}) clashes with "${clash.definition.name}" (${clash.descriptor.id}) from ${clash.source}.`);
    }
    this.byName.set(r.definition.name, r);
    this.byInterface.set(r.descriptor.id, r);
    this.descriptors.set(r.descriptor.id, r.descriptor);
  }

  /** The built-ins described from `platformWitDir`, then each user capability: its WIT parsed, its module imported and checked, its setup run. */
  static async create(options: { platformWitDir: string; dataDir: string; user?: UserCapabilitySpec[]; configDir?: string; stores?: { kv?: KvStore; blob?: BlobStore } }): Promise<CapabilityRegistry> {
    const reg = new CapabilityRegistry();
    const platform = await loadWitDir(options.platformWitDir);
    for (const def of [logCapability, varsCapability] as CapabilityDefinition[]) {
      reg.register({ definition: def, descriptor: descriptorFor(platform, def.interface, 'built-in'), grant: 'always', source: 'built-in' });
    }
    if (options.stores?.kv) {
      const def = kvCapability(options.stores.kv) as unknown as CapabilityDefinition;
      reg.register({
        definition: def,
        descriptor: descriptorFor(platform, def.interface, 'built-in'),
        grant: 'manifest',
        grantsFrom: (m) => new Map(m.kvNamespaces.map((n) => [n.binding, { id: n.id }])),
        grantHint: 'its manifest binds no KV namespace; add kv_namespaces = [{ binding = "MY_KV", id = "..." }]',
        source: 'built-in',
      });
    }
    if (options.stores?.blob) {
      const def = blobCapability(options.stores.blob) as unknown as CapabilityDefinition;
      reg.register({
        definition: def,
        descriptor: descriptorFor(platform, def.interface, 'built-in'),
        grant: 'manifest',
        grantsFrom: (m) => new Map(m.r2Buckets.map((b) => [b.binding, { bucketName: b.bucketName }])),
        grantHint: 'its manifest binds no R2 bucket; add r2_buckets = [{ binding = "MY_BUCKET", bucket_name = "..." }]',
        source: 'built-in',
      });
    }
    for (const spec of options.user ?? []) {
      const pkg = await loadUserWit(spec.wit);
      const def = await loadUserModule(spec.module);
      if (`${pkg.id.namespace}:${pkg.id.name}` === 'edge:platform') {
        throw new EdgeError('E_CAPABILITY_INVALID', `${spec.wit}: a user capability cannot use the package name edge:platform; pick your own (e.g. \`package acme:geo@0.1.0;\`).`);
      }
      reg.register({ definition: def, descriptor: descriptorFor(pkg, def.interface, spec.module), grant: 'bindings', source: spec.module });
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
    return [...this.byName.values()].filter((r) => r.grant === 'bindings').map((r) => ({ name: r.definition.name, interface: r.descriptor.id }));
  }

  /**
   * Deploy time: every `[[bindings]]` entry names a capability of this host and its settings pass the capability's
   * check. Returns the settings by capability and binding.
   */
  checkGrants(manifest: DeployManifest): Map<string, Map<string, unknown>> {
    const out = new Map<string, Map<string, unknown>>();
    for (const g of manifest.bindings) {
      const r = this.byName.get(g.type);
      if (!r || r.grant !== 'bindings') {
        const known = this.userCapabilities.map((c) => c.name);
        throw new EdgeError(
          'E_BINDING_UNKNOWN',
          `${g.key}: unknown capability type "${g.type}" for binding "${g.binding}"; ${known.length ? `this host offers: ${known.join(', ')}` : 'this host has no user-defined capabilities (add them to edge.config.ts and restart it)'}.`,
          { details: { key: g.key, type: g.type, binding: g.binding } },
        );
      }
      let settings: unknown = g.settings;
      if (r.definition.checkGrant) {
        try {
          settings = r.definition.checkGrant({ binding: g.binding, settings: g.settings });
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
      if (r?.grant === 'manifest' && r.grantsFrom!(manifest).size > 0) continue;
      if (r?.grant === 'bindings' && granted.has(r.definition.name)) continue;
      let why: string;
      if (r?.grant === 'manifest') why = r.grantHint!;
      else if (!r && RESERVED[id]) why = RESERVED[id]!;
      else if (r) why = `its manifest grants no "${r.definition.name}" binding; add [[bindings]] type = "${r.definition.name}", binding = "..."`;
      else if (id.startsWith('wasi:')) why = 'WASI interfaces are not offered to workers; build the component without a WASI adapter';
      else why = `no capability of this host implements it${this.userCapabilities.length ? ` (user capabilities: ${this.userCapabilities.map((c) => c.interface).join(', ')})` : ''}`;
      throw new EdgeError('E_IMPORT_NOT_GRANTED', `The component imports ${raw}, which is not granted: ${why}.`, { details: { import: raw } });
    }
  }

  /** What an instance of this manifest's worker may reach: interface descriptors and the JS bindings (`env.X`). */
  plan(manifest: DeployManifest): { interfaces: InterfaceDescriptor[]; bindings: Array<{ binding: string; interface: string }> } {
    const interfaces: InterfaceDescriptor[] = [];
    const seen = new Set<string>();
    for (const r of this.byInterface.values()) {
      if (r.grant === 'always') {
        interfaces.push(r.descriptor);
        seen.add(r.descriptor.id);
      }
    }
    for (const r of this.byInterface.values()) {
      // Granted by a wrangler section: components import it; JS workers get their own facade (not capabilityEnv).
      if (r.grant === 'manifest' && r.grantsFrom!(manifest).size > 0 && !seen.has(r.descriptor.id)) {
        interfaces.push(r.descriptor);
        seen.add(r.descriptor.id);
      }
    }
    const bindings: Array<{ binding: string; interface: string }> = [];
    for (const g of manifest.bindings) {
      const r = this.byName.get(g.type);
      if (!r) continue;
      if (!seen.has(r.descriptor.id)) {
        interfaces.push(r.descriptor);
        seen.add(r.descriptor.id);
      }
      bindings.push({ binding: g.binding, interface: r.descriptor.id });
    }
    return { interfaces, bindings };
  }

  instantiate(manifest: DeployManifest, ctx: CapabilityInstanceContext): CapabilityInstance {
    // Checked at deploy; a version's cold starts reuse the settings instead of checking them again.
    let grants = this.grantsOf.get(manifest);
    if (!grants) this.grantsOf.set(manifest, (grants = this.checkGrants(manifest)));
    const factories = new Map<string, () => object>();
    for (const r of this.byInterface.values()) {
      if (r.grant === 'bindings' && !grants.has(r.definition.name)) continue;
      const fromManifest = r.grant === 'manifest' ? r.grantsFrom!(manifest) : null;
      if (fromManifest && fromManifest.size === 0) continue;
      const g = fromManifest ?? grants.get(r.definition.name) ?? new Map<string, unknown>();
      factories.set(r.descriptor.id, () => r.definition.instantiate(g as ReadonlyMap<string, Record<string, unknown>>, ctx));
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
 * guest holds (numbers; the objects stay here).
 */
export class CapabilityInstance {
  private readonly factories: Map<string, () => object>;
  private readonly descriptors: ReadonlyMap<string, InterfaceDescriptor>;
  private readonly impls = new Map<string, Record<string, unknown>>();
  private readonly classes = new Map<unknown, { i: string; r: string }>();
  private readonly handles = new Map<number, object>();
  private readonly handleOf = new WeakMap<object, number>();
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

  /** Runs a guest's call; a promise when the implementation is asynchronous. Never throws. */
  invoke(call: CapabilityCall): CapabilityReply | Promise<CapabilityReply> {
    let out: unknown;
    try {
      out = this.dispatch(call);
    } catch (err) {
      return this.failure(err, call);
    }
    if (out !== null && typeof out === 'object' && typeof (out as PromiseLike<unknown>).then === 'function') {
      return Promise.resolve(out).then(
        (v) => ({ v: this.encode(v) }),
        (err: unknown) => this.failure(err, call),
      );
    }
    return { v: this.encode(out) };
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

  /** The worker instance is gone: every handle it held is released. */
  dispose(): void {
    for (const obj of this.handles.values()) {
      const dispose = (obj as { [Symbol.dispose]?: () => void })[Symbol.dispose];
      try {
        if (typeof dispose === 'function') dispose.call(obj);
      } catch {
        // a failing dispose must not keep others from running
      }
    }
    this.handles.clear();
  }
}
