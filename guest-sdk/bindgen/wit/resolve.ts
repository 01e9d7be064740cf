// Resolver: the syntax trees of one package's files to a package model where every name points at
// its definition. References to other packages resolve into already-resolved packages when they are given
// (`resolveWithDeps`, used by loadWitDir for `deps/`); without them they are kept as external references.
import { WitError, type WitErrorCode } from './errors.ts';
import { parseWit } from './parser.ts';
import type {
  ExternalInclude,
  FuncTypeAst,
  Gate,
  Func,
  Interface,
  InterfaceItemAst,
  InterfaceRef,
  PackageId,
  ResolvedPackage,
  Span,
  Type,
  TypeBodyAst,
  TypeDef,
  TypeDefKind,
  TypeExprAst,
  TypeOwner,
  UseAst,
  UsePathAst,
  WitFileAst,
  World,
  WorldAst,
  WorldItem,
} from './types.ts';

export interface WitSource {
  path: string;
  text: string;
}

/** The packages a package may refer to: `find` gives the loaded package a reference names, or throws a WitError. */
export interface ForeignPackages {
  find(id: PackageId, span: Span): ResolvedPackage;
}

/** Parses and resolves the files of one package (a directory of .wit files). */
export function resolvePackage(files: WitSource[]): ResolvedPackage {
  return resolveFiles(files.map((f) => parseWit(f.path, f.text)));
}

/**
 * Resolves already-parsed files of one package. With `foreign`, every reference to another package must resolve
 * in it; without, such references are kept as external references without target.
 */
export function resolveFiles(files: WitFileAst[], foreign?: ForeignPackages): ResolvedPackage {
  return new Resolver(files, foreign).run();
}

/** One package of a `deps/` directory: a directory of .wit files or a single .wit file. */
export interface DepPackage {
  /** Where it was found, for messages: `deps/example-geo`. */
  source: string;
  files: WitFileAst[];
}

/**
 * Resolves a root package together with the packages it may refer to (`deps/`). Only the dependencies the root
 * reaches (directly or through each other) are resolved; each exactly once, dependencies first. A reference
 * without version matches the one package of that namespace and name. Unknown packages are E_WIT_PACKAGE errors
 * at the reference, listing what `deps/` holds; packages that refer to each other in a cycle, E_WIT_CYCLE.
 */
export function resolveWithDeps(root: WitFileAst[], deps: DepPackage[], where = 'deps/'): ResolvedPackage {
  const groups = deps.map((d) => ({ ...d, id: declaredPackage(d.files, d.source) }));
  const seen = new Map<string, (typeof groups)[number]>();
  for (const g of groups) {
    const key = formatPackageId(g.id);
    const prev = seen.get(key);
    if (prev) throw new WitError('E_WIT_PACKAGE', g.files[0]?.package?.span ?? { file: g.source, line: 1, column: 1 }, `package ${key} is in ${where} twice: ${prev.source} and ${g.source}`);
    seen.set(key, g);
  }
  const holds = (): string =>
    groups.length === 0 ? `${where} is empty or missing` : `${where} holds ${groups.map((g) => `${formatPackageId(g.id)} (${g.source})`).join(', ')}`;
  const resolved = new Map<(typeof groups)[number], ResolvedPackage>();
  const visiting: (typeof groups)[number][] = [];
  const order: ResolvedPackage[] = [];
  const resolveGroup = (g: (typeof groups)[number], span: Span): ResolvedPackage => {
    const done = resolved.get(g);
    if (done) return done;
    if (visiting.includes(g)) {
      const cycle = [...visiting.slice(visiting.indexOf(g)), g].map((x) => formatPackageId(x.id));
      throw new WitError('E_WIT_CYCLE', span, `packages refer to each other in a cycle: ${cycle.join(' -> ')}`);
    }
    visiting.push(g);
    const pkg = resolveFiles(g.files, foreign);
    visiting.pop();
    resolved.set(g, pkg);
    order.push(pkg);
    return pkg;
  };
  const foreign: ForeignPackages = {
    find(id, span) {
      const name = `${id.namespace}:${id.name}`;
      const candidates = groups.filter((g) => g.id.namespace === id.namespace && g.id.name === id.name && (id.version === undefined || g.id.version === id.version));
      if (candidates.length === 1) return resolveGroup(candidates[0]!, span);
      if (candidates.length > 1) {
        throw new WitError('E_WIT_PACKAGE', span, `package ${name} is ambiguous without a version: ${holds()}; write ${name}/...@<version>`);
      }
      throw new WitError('E_WIT_PACKAGE', span, `unknown package ${formatPackageId(id)}: ${holds()}`);
    },
  };
  const pkg = resolveFiles(root, foreign);
  return order.length > 0 ? { ...pkg, deps: order } : pkg;
}

/** The package the files of one directory (or one deps/ entry) declare. */
function declaredPackage(files: WitFileAst[], source: string): PackageId {
  const decl = files.find((f) => f.package)?.package;
  if (!decl) throw new WitError('E_WIT_PACKAGE', { file: files[0]?.path ?? source, line: 1, column: 1 }, `${source} declares no package: add 'package namespace:name@version;'`);
  return decl.id;
}

/** Whether the files refer to any package other than their own (`ns:pkg/...` paths naming another package). */
export function refersToOtherPackages(files: WitFileAst[]): boolean {
  const own = files.find((f) => f.package)?.package?.id;
  const other = (p: UsePathAst): boolean => p.kind === 'package' && (!own || formatPackageId(p.package) !== formatPackageId(own));
  const inItems = (items: InterfaceItemAst[]): boolean => items.some((i) => i.kind === 'use' && other(i.path));
  for (const file of files) {
    for (const item of file.items) {
      if (item.kind === 'toplevel-use' && other(item.path)) return true;
      if (item.kind === 'interface' && inItems(item.items)) return true;
      if (item.kind === 'world') {
        for (const wi of item.items) {
          if ((wi.kind === 'use' || wi.kind === 'include') && other(wi.path)) return true;
          if (wi.kind === 'import' || wi.kind === 'export') {
            if (wi.extern.kind === 'path' && other(wi.extern.path)) return true;
            if (wi.extern.kind === 'interface' && inItems(wi.extern.items)) return true;
          }
        }
      }
    }
  }
  return false;
}

/** Follows `use` links to the definition a name stands for (a `use` of a foreign type stays). */
export function definitionOf(def: TypeDef): TypeDef {
  let d = def;
  while (d.kind.kind === 'use' && d.kind.target) d = d.kind.target;
  return d;
}

/** true/false, or 'unknown' when the chain ends in a foreign package we have not loaded. */
export function isResource(def: TypeDef): boolean | 'unknown' {
  const seen = new Set<TypeDef>();
  let d = def;
  for (;;) {
    if (seen.has(d)) return false;
    seen.add(d);
    const k = d.kind;
    if (k.kind === 'resource') return true;
    if (k.kind === 'use') {
      if (!k.target) return 'unknown';
      d = k.target;
    } else if (k.kind === 'alias' && (k.type.kind === 'ref' || k.type.kind === 'own')) {
      d = k.type.def;
    } else {
      return false;
    }
  }
}

export function formatPackageId(id: PackageId): string {
  return `${id.namespace}:${id.name}${id.version ? '@' + id.version : ''}`;
}

/** The component-model name of an interface: `edge:platform/kv@0.1.0`. */
export function interfaceId(ref: InterfaceRef, pkg: PackageId): string {
  const p = ref.kind === 'local' ? pkg : ref.package;
  const name = ref.kind === 'local' ? ref.interface.name : ref.interface;
  return `${p.namespace}:${p.name}/${name}${p.version ? '@' + p.version : ''}`;
}

type ScopeEntry = { kind: 'type'; def: TypeDef } | { kind: 'func' };

/** The names of one interface or world; uniqueness is case-insensitive as the spec requires. */
class Scope {
  readonly what: string;
  readonly file: WitFileAst;
  /** The interface this scope belongs to (undefined for a world). */
  readonly iface: Interface | undefined;
  readonly entries = new Map<string, ScopeEntry>();
  private readonly taken = new Map<string, Span>();

  constructor(what: string, file: WitFileAst, iface: Interface | undefined) {
    this.what = what;
    this.file = file;
    this.iface = iface;
  }

  define(name: string, span: Span, entry: ScopeEntry): void {
    claim(this.taken, name, span, `'${name}' is already defined in ${this.what}`);
    this.entries.set(name, entry);
  }
}

/** Reserves a case-insensitive name, or throws E_WIT_DUPLICATE naming the first definition. */
function claim(taken: Map<string, Span>, name: string, span: Span, detail: string): void {
  const key = name.toLowerCase();
  const first = taken.get(key);
  if (first) throw new WitError('E_WIT_DUPLICATE', span, `${detail} (first at ${first.file}:${first.line}:${first.column})`);
  taken.set(key, span);
}

type PackageItem = { kind: 'interface'; iface: Interface; scope: Scope } | { kind: 'world'; ast: WorldAst; world: World; file: WitFileAst };

interface PendingWorld {
  world: World;
  ast: WorldAst;
  file: WitFileAst;
  scope: Scope;
  /** Built in the first pass, per AST item, so that their types get resolved with everything else. */
  built: Map<object, WorldItem>;
  state: 'pending' | 'visiting' | 'done';
}

type NamedRef = { kind: 'ref' | 'own'; def: TypeDef };

class Resolver {
  private readonly files: WitFileAst[];
  private pkg!: PackageId;
  private readonly items = new Map<string, PackageItem>();
  private readonly itemNames = new Map<string, Span>();
  private readonly fileUses = new Map<WitFileAst, Map<string, UsePathAst>>();
  private readonly allDefs: TypeDef[] = [];
  private readonly worlds: PendingWorld[] = [];
  private readonly interfaces: Interface[] = [];
  // Work queued by the declaration pass and done once every name is known.
  private readonly uses: { def: TypeDef; ast: UseAst; name: string; span: Span; scope: Scope }[] = [];
  private readonly bodies: { def: TypeDef; body: TypeBodyAst; scope: Scope }[] = [];
  private readonly funcs: { func: Func; ast: FuncTypeAst; scope: Scope; resource?: TypeDef }[] = [];
  private readonly namedRefs: { type: NamedRef; span: Span; explicitOwn: boolean }[] = [];
  private readonly borrows: { def: TypeDef; span: Span }[] = [];
  private readonly useEdges = new Map<Interface, { to: Interface; span: Span }[]>();
  private readonly foreign: ForeignPackages | undefined;

  constructor(files: WitFileAst[], foreign?: ForeignPackages) {
    this.files = files;
    this.foreign = foreign;
  }

  run(): ResolvedPackage {
    this.pkg = this.packageId();
    for (const file of this.files) this.declareItems(file);
    for (const file of this.files) this.declareTopLevelUses(file);
    for (const item of this.items.values()) if (item.kind === 'world') this.declareWorld(item);
    this.resolveUses();
    this.checkInterfaceCycles();
    for (const b of this.bodies) b.def.kind = this.body(b.def, b.body, b.scope);
    for (const f of this.funcs) this.resolveFunc(f.func, f.ast, f.scope);
    this.checkTypeCycles();
    this.classifyHandles();
    for (const f of this.funcs) if (f.resource && f.func.kind === 'constructor') this.checkConstructor(f.func, f.resource);
    for (const w of this.worlds) this.completeWorld(w);
    const docs = this.files.find((f) => f.package?.docs)?.package?.docs;
    return {
      id: this.pkg,
      ...(docs !== undefined ? { docs } : {}),
      interfaces: this.interfaces,
      worlds: this.worlds.map((w) => w.world),
    };
  }

  private fail(code: WitErrorCode, span: Span, detail: string): never {
    throw new WitError(code, span, detail);
  }

  // --- package and declarations ----------------------------------------------------------------

  private packageId(): PackageId {
    let found: { id: PackageId; span: Span } | undefined;
    for (const file of this.files) {
      const decl = file.package;
      if (!decl) continue;
      if (found && formatPackageId(found.id) !== formatPackageId(decl.id)) {
        this.fail('E_WIT_PACKAGE', decl.span, `package '${formatPackageId(decl.id)}' conflicts with 'package ${formatPackageId(found.id)}' at ${found.span.file}:${found.span.line}:${found.span.column}; all files of a directory form one package`);
      }
      found ??= { id: decl.id, span: decl.span };
    }
    if (!found) {
      const file = this.files[0]?.path ?? '<no files>';
      this.fail('E_WIT_PACKAGE', { file, line: 1, column: 1 }, "no file declares the package: add 'package namespace:name@version;' to one of them");
    }
    return found.id;
  }

  private declareItems(file: WitFileAst): void {
    for (const item of file.items) {
      if (item.kind === 'toplevel-use') continue;
      claim(this.itemNames, item.name, item.span, `${item.kind} '${item.name}' is already defined in package ${formatPackageId(this.pkg)}`);
      if (item.kind === 'interface') {
        const { iface, scope } = this.declareInterface(item.name, undefined, item.items, item, file);
        this.interfaces.push(iface);
        this.items.set(item.name, { kind: 'interface', iface, scope });
      } else {
        const world: World = { name: item.name, ...docsOf(item.docs), gates: item.gates, span: item.span, types: [], imports: [], exports: [], externalIncludes: [] };
        this.items.set(item.name, { kind: 'world', ast: item, world, file });
      }
    }
  }

  private declareTopLevelUses(file: WitFileAst): void {
    const names = new Map<string, UsePathAst>();
    const taken = new Map<string, Span>();
    for (const item of file.items) {
      if (item.kind !== 'toplevel-use') continue;
      const name = item.alias ?? (item.path.kind === 'local' ? item.path.name : item.path.interface);
      claim(taken, name, item.span, `'${name}' is already brought into this file by a top-level use`);
      const clash = this.itemNames.get(name.toLowerCase());
      if (clash) {
        this.fail('E_WIT_DUPLICATE', item.span, `top-level use defines '${name}', which is already an interface or world of the package (at ${clash.file}:${clash.line}:${clash.column}); rename it with 'as'`);
      }
      names.set(name, item.path);
    }
    this.fileUses.set(file, names);
  }

  /** Creates the interface and its scope; its uses, types and functions are queued for resolution. */
  private declareInterface(name: string, world: string | undefined, items: InterfaceItemAst[], decl: { docs?: string; gates: Gate[]; span: Span }, file: WitFileAst): { iface: Interface; scope: Scope } {
    const iface: Interface = { name, ...(world ? { world } : {}), ...docsOf(decl.docs), gates: decl.gates, span: decl.span, types: [], functions: [] };
    const scope = new Scope(world ? `interface '${name}' of world '${world}'` : `interface '${name}'`, file, iface);
    const owner: TypeOwner = { kind: 'interface', name, ...(world ? { world } : {}) };
    for (const item of items) {
      if (item.kind === 'func') {
        scope.define(item.name, item.span, { kind: 'func' });
        iface.functions.push(this.declareFunc(item.name, 'freestanding', item.func, item, scope));
      } else {
        iface.types.push(...this.declareTypeItem(item, owner, scope));
      }
    }
    return { iface, scope };
  }

  private declareTypeItem(item: UseAst | Extract<InterfaceItemAst, { kind: 'typedef' }>, owner: TypeOwner, scope: Scope): TypeDef[] {
    if (item.kind === 'use') {
      return item.names.map((n) => {
        const local = n.alias ?? n.name;
        const def = this.pendingDef(local, owner, { gates: item.gates, span: n.span });
        scope.define(local, n.span, { kind: 'type', def });
        this.uses.push({ def, ast: item, name: n.name, span: n.span, scope });
        return def;
      });
    }
    const def = this.pendingDef(item.name, owner, item);
    scope.define(item.name, item.span, { kind: 'type', def });
    this.bodies.push({ def, body: item.body, scope });
    return [def];
  }

  private pendingDef(name: string, owner: TypeOwner, decl: { docs?: string; gates: Gate[]; span: Span }): TypeDef {
    // `kind` is filled in by resolveUses/body once every name is known; run() never returns before.
    const def = { name, owner, ...docsOf(decl.docs), gates: decl.gates, span: decl.span, kind: undefined as unknown as TypeDefKind };
    this.allDefs.push(def);
    return def;
  }

  private declareFunc(name: string, kind: Func['kind'], ast: FuncTypeAst, decl: { docs?: string; gates: Gate[]; span: Span }, scope: Scope, resource?: TypeDef): Func {
    const func: Func = { name, kind, params: [], ...docsOf(decl.docs), gates: decl.gates, span: decl.span };
    this.funcs.push({ func, ast, scope, ...(resource ? { resource } : {}) });
    return func;
  }

  private declareWorld(item: Extract<PackageItem, { kind: 'world' }>): void {
    const { ast, world, file } = item;
    const scope = new Scope(`world '${world.name}'`, file, undefined);
    const pending: PendingWorld = { world, ast, file, scope, built: new Map(), state: 'pending' };
    const owner: TypeOwner = { kind: 'world', name: world.name };
    for (const wi of ast.items) {
      if (wi.kind === 'use' || wi.kind === 'typedef') {
        world.types.push(...this.declareTypeItem(wi, owner, scope));
      } else if (wi.kind === 'import' || wi.kind === 'export') {
        const ext = wi.extern;
        if (ext.kind === 'path') {
          pending.built.set(wi, { kind: 'interface', ref: this.interfaceRef(ext.path, file), ...docsOf(wi.docs), gates: wi.gates, span: wi.span });
        } else if (ext.kind === 'func') {
          pending.built.set(wi, { kind: 'func', name: ext.name, func: this.declareFunc(ext.name, 'freestanding', ext.func, wi, scope) });
        } else {
          const { iface } = this.declareInterface(ext.name, world.name, ext.items, wi, file);
          pending.built.set(wi, { kind: 'inline-interface', name: ext.name, interface: iface });
        }
      }
    }
    this.worlds.push(pending);
  }

  // --- paths and uses --------------------------------------------------------------------------

  /** An interface named by a `use`/`import`/`export` path, as seen from `file`. */
  private interfaceRef(path: UsePathAst, file: WitFileAst): InterfaceRef {
    if (path.kind === 'package') {
      if (formatPackageId(path.package) !== formatPackageId(this.pkg)) {
        if (!this.foreign) return { kind: 'external', package: path.package, interface: path.interface };
        const other = this.foreign.find(path.package, path.span);
        const target = other.interfaces.find((i) => i.name === path.interface);
        if (!target) {
          const isWorld = other.worlds.some((w) => w.name === path.interface);
          this.fail(
            'E_WIT_UNKNOWN_INTERFACE',
            path.span,
            isWorld
              ? `'${path.interface}' is a world of package ${formatPackageId(other.id)}, not an interface`
              : `package ${formatPackageId(other.id)} has no interface '${path.interface}' (it has: ${other.interfaces.map((i) => i.name).join(', ') || 'none'})`,
          );
        }
        return { kind: 'external', package: other.id, interface: path.interface, target };
      }
      return this.localInterface(path.interface, path.span);
    }
    const aliased = this.fileUses.get(file)?.get(path.name);
    if (aliased) return aliased.kind === 'package' ? this.interfaceRef(aliased, file) : this.localInterface(aliased.name, aliased.span);
    return this.localInterface(path.name, path.span);
  }

  private localInterface(name: string, span: Span): InterfaceRef {
    const item = this.items.get(name);
    if (!item) this.fail('E_WIT_UNKNOWN_INTERFACE', span, `unknown interface '${name}' in package ${formatPackageId(this.pkg)}`);
    if (item.kind !== 'interface') this.fail('E_WIT_UNKNOWN_INTERFACE', span, `'${name}' is a world, not an interface`);
    return { kind: 'local', interface: item.iface };
  }

  private scopeOf(iface: Interface): Scope {
    const item = this.items.get(iface.name);
    if (item?.kind !== 'interface') throw new Error(`internal: no scope for interface ${iface.name}`);
    return item.scope;
  }

  private resolveUses(): void {
    for (const u of this.uses) {
      const from = this.interfaceRef(u.ast.path, u.scope.file);
      if (from.kind === 'external') {
        if (!from.target) {
          u.def.kind = { kind: 'use', from, name: u.name };
          continue;
        }
        // A resolved package: no cycle can run through it (packages are resolved dependencies first).
        const target = from.target.types.find((t) => t.name === u.name);
        const where = `interface '${interfaceId(from, this.pkg)}'`;
        if (!target) {
          if (from.target.functions.some((f) => f.name === u.name)) this.fail('E_WIT_UNKNOWN_TYPE', u.span, `'${u.name}' is a function of ${where}, not a type`);
          this.fail('E_WIT_UNKNOWN_TYPE', u.span, `${where} has no type named '${u.name}'`);
        }
        u.def.kind = { kind: 'use', from, name: u.name, target };
        continue;
      }
      const target = this.scopeOf(from.interface).entries.get(u.name);
      if (!target) this.fail('E_WIT_UNKNOWN_TYPE', u.span, `interface '${from.interface.name}' has no type named '${u.name}'`);
      if (target.kind !== 'type') this.fail('E_WIT_UNKNOWN_TYPE', u.span, `'${u.name}' is a function of interface '${from.interface.name}', not a type`);
      u.def.kind = { kind: 'use', from, name: u.name, target: target.def };
      if (u.scope.iface) {
        const edges = this.useEdges.get(u.scope.iface) ?? [];
        edges.push({ to: from.interface, span: u.span });
        this.useEdges.set(u.scope.iface, edges);
      }
    }
  }

  private checkInterfaceCycles(): void {
    const state = new Map<Interface, 'visiting' | 'done'>();
    const visit = (iface: Interface, trail: string[]): void => {
      if (state.get(iface) === 'done') return;
      state.set(iface, 'visiting');
      for (const edge of this.useEdges.get(iface) ?? []) {
        if (state.get(edge.to) === 'visiting') {
          const cycle = [...trail.slice(trail.indexOf(edge.to.name)), edge.to.name];
          this.fail('E_WIT_CYCLE', edge.span, `interfaces use each other in a cycle: ${cycle.join(' -> ')}`);
        }
        visit(edge.to, [...trail, edge.to.name]);
      }
      state.set(iface, 'done');
    };
    for (const iface of this.useEdges.keys()) visit(iface, [iface.name]);
  }

  // --- types -----------------------------------------------------------------------------------

  private lookupType(name: string, span: Span, scope: Scope): TypeDef {
    const entry = scope.entries.get(name);
    if (!entry) this.fail('E_WIT_UNKNOWN_TYPE', span, `unknown type '${name}' in ${scope.what}`);
    if (entry.kind !== 'type') this.fail('E_WIT_UNKNOWN_TYPE', span, `'${name}' is a function in ${scope.what}, not a type`);
    return entry.def;
  }

  private type(ast: TypeExprAst, scope: Scope): Type {
    switch (ast.kind) {
      case 'primitive':
        return { kind: 'primitive', name: ast.name };
      case 'list':
        return { kind: 'list', element: this.type(ast.element, scope) };
      case 'option':
        return { kind: 'option', some: this.type(ast.some, scope) };
      case 'result': {
        const t: Type = { kind: 'result' };
        if (ast.ok) t.ok = this.type(ast.ok, scope);
        if (ast.err) t.err = this.type(ast.err, scope);
        return t;
      }
      case 'tuple':
        return { kind: 'tuple', types: ast.types.map((t) => this.type(t, scope)) };
      case 'borrow': {
        const def = this.lookupType(ast.name, ast.span, scope);
        this.borrows.push({ def, span: ast.span });
        return { kind: 'borrow', def };
      }
      case 'named':
      case 'own': {
        // Whether a bare name is an owned handle is known only once every definition is resolved.
        const type: NamedRef = { kind: ast.kind === 'own' ? 'own' : 'ref', def: this.lookupType(ast.name, ast.span, scope) };
        this.namedRefs.push({ type, span: ast.span, explicitOwn: ast.kind === 'own' });
        return type;
      }
    }
  }

  private body(def: TypeDef, body: TypeBodyAst, scope: Scope): TypeDefKind {
    const labels = (what: string, items: { name: string; span: Span }[]): void => {
      const taken = new Map<string, Span>();
      for (const i of items) claim(taken, i.name, i.span, `${what} '${i.name}' is already defined in '${def.name}'`);
    };
    switch (body.kind) {
      case 'record':
        labels('field', body.fields);
        return { kind: 'record', fields: body.fields.map((f) => ({ name: f.name, type: this.type(f.type, scope), ...docsOf(f.docs), span: f.span })) };
      case 'variant':
        labels('case', body.cases);
        return {
          kind: 'variant',
          cases: body.cases.map((c) => ({ name: c.name, ...(c.type ? { type: this.type(c.type, scope) } : {}), ...docsOf(c.docs), span: c.span })),
        };
      case 'enum':
        labels('case', body.cases);
        return { kind: 'enum', cases: body.cases.map((c) => ({ name: c.name, ...docsOf(c.docs), span: c.span })) };
      case 'flags':
        labels('flag', body.flags);
        return { kind: 'flags', flags: body.flags.map((c) => ({ name: c.name, ...docsOf(c.docs), span: c.span })) };
      case 'alias':
        return { kind: 'alias', type: this.type(body.type, scope) };
      case 'resource': {
        labels('function', body.members);
        return { kind: 'resource', functions: body.members.map((m) => this.declareFunc(m.name, m.kind, m.func, m, scope, def)) };
      }
    }
  }

  private resolveFunc(func: Func, ast: FuncTypeAst, scope: Scope): void {
    const taken = new Map<string, Span>();
    for (const p of ast.params) {
      claim(taken, p.name, p.span, `parameter '${p.name}' is already defined in function '${func.name}'`);
      func.params.push({ name: p.name, type: this.type(p.type, scope) });
    }
    if (ast.result) {
      const borrow = findBorrow(ast.result);
      if (borrow) this.fail('E_WIT_INVALID', borrow.span, `function '${func.name}' returns a borrowed handle (borrow<${borrow.name}>); results can only own handles`);
      func.result = this.type(ast.result, scope);
    }
  }

  private checkTypeCycles(): void {
    const state = new Map<TypeDef, 'visiting' | 'done'>();
    const visit = (def: TypeDef, trail: TypeDef[]): void => {
      const s = state.get(def);
      if (s === 'done') return;
      if (s === 'visiting') {
        const cycle = [...trail.slice(trail.indexOf(def)), def].map((d) => d.name);
        this.fail('E_WIT_CYCLE', def.span, cycle.length === 2 ? `type '${def.name}' refers to itself` : `types refer to each other in a cycle: ${cycle.join(' -> ')}`);
      }
      state.set(def, 'visiting');
      for (const t of containedTypes(def.kind)) visitType(t, [...trail, def]);
      if (def.kind.kind === 'use' && def.kind.target) visit(def.kind.target, [...trail, def]);
      state.set(def, 'done');
    };
    const visitType = (t: Type, trail: TypeDef[]): void => {
      switch (t.kind) {
        case 'list':
          return visitType(t.element, trail);
        case 'option':
          return visitType(t.some, trail);
        case 'result':
          if (t.ok) visitType(t.ok, trail);
          if (t.err) visitType(t.err, trail);
          return;
        case 'tuple':
          return t.types.forEach((x) => visitType(x, trail));
        case 'ref':
        case 'own':
          return visit(t.def, trail);
        default:
          return; // primitives; handles do not contain their resource
      }
    };
    for (const def of this.allDefs) visit(def, []);
  }

  private classifyHandles(): void {
    for (const def of this.allDefs) {
      if (def.kind === undefined) throw new Error(`internal: type '${def.name}' was never resolved`);
    }
    for (const r of this.namedRefs) {
      const resource = isResource(r.type.def);
      if (resource === true) r.type.kind = 'own';
      else if (resource === false && r.explicitOwn) {
        this.fail('E_WIT_INVALID', r.span, `own<${r.type.def.name}>: '${r.type.def.name}' is ${describeKind(r.type.def)}, not a resource`);
      }
    }
    for (const b of this.borrows) {
      if (isResource(b.def) === false) {
        this.fail('E_WIT_INVALID', b.span, `borrow<${b.def.name}>: '${b.def.name}' is ${describeKind(b.def)}, not a resource`);
      }
    }
  }

  private checkConstructor(func: Func, resource: TypeDef): void {
    if (!func.result) return;
    const r = func.result;
    const ok = r.kind === 'result' ? r.ok : undefined;
    if (!ok || (ok.kind !== 'own' && ok.kind !== 'ref') || definitionOf(ok.def) !== resource) {
      this.fail('E_WIT_INVALID', func.span, `the constructor of '${resource.name}' may only return result<${resource.name}> or result<${resource.name}, E>`);
    }
  }

  // --- worlds ----------------------------------------------------------------------------------

  /** Fills imports and exports in declaration order, flattening includes (depth first). */
  private completeWorld(w: PendingWorld): void {
    if (w.state === 'done') return;
    w.state = 'visiting';
    const imports = new Map<string, Span>();
    const exports = new Map<string, Span>();
    const includedKeys = new Set<string>();
    // World types are imported into the component, so they share the import namespace.
    for (const t of w.world.types) imports.set(t.name.toLowerCase(), t.span);
    for (const item of w.ast.items) {
      if (item.kind === 'import' || item.kind === 'export') {
        const built = w.built.get(item)!;
        const [list, taken] = item.kind === 'import' ? [w.world.imports, imports] : [w.world.exports, exports];
        // An interface an earlier include already brought in is the same import: merge, as includes do.
        if (built.kind === 'interface' && includedKeys.has(`${item.kind} ${this.worldKey(built).toLowerCase()}`)) continue;
        claim(taken, this.worldKey(built), item.span, `world '${w.world.name}' already ${item.kind}s '${this.worldKey(built)}'`);
        list.push(built);
      } else if (item.kind === 'include') {
        const before = new Set([...imports.keys()].map((k) => `import ${k}`).concat([...exports.keys()].map((k) => `export ${k}`)));
        this.include(w, item, imports, exports);
        for (const k of imports.keys()) if (!before.has(`import ${k}`)) includedKeys.add(`import ${k}`);
        for (const k of exports.keys()) if (!before.has(`export ${k}`)) includedKeys.add(`export ${k}`);
      }
    }
    w.state = 'done';
  }

  private include(w: PendingWorld, item: Extract<WorldAst['items'][number], { kind: 'include' }>, imports: Map<string, Span>, exports: Map<string, Span>): void {
    const path = item.path;
    let includedWorld: World;
    let name: string;
    if (path.kind === 'package' && formatPackageId(path.package) !== formatPackageId(this.pkg)) {
      if (!this.foreign) {
        const ext: ExternalInclude = { package: path.package, world: path.interface, renames: item.renames.map((r) => ({ from: r.from, to: r.to })), gates: item.gates, span: item.span };
        w.world.externalIncludes.push(ext);
        return;
      }
      const other = this.foreign.find(path.package, path.span);
      const found = other.worlds.find((x) => x.name === path.interface);
      if (!found) {
        const isIface = other.interfaces.some((i) => i.name === path.interface);
        this.fail(
          'E_WIT_UNKNOWN_WORLD',
          path.span,
          isIface
            ? `'${path.interface}' is an interface of package ${formatPackageId(other.id)}, not a world`
            : `package ${formatPackageId(other.id)} has no world '${path.interface}' (it has: ${other.worlds.map((x) => x.name).join(', ') || 'none'})`,
        );
      }
      name = `${formatPackageId(other.id).replace(/@.*$/, '')}/${found.name}`;
      // The other package's interfaces are external here.
      const rebase = (wi: WorldItem): WorldItem =>
        wi.kind === 'interface' && wi.ref.kind === 'local' ? { ...wi, ref: { kind: 'external', package: other.id, interface: wi.ref.interface.name, target: wi.ref.interface } } : wi;
      includedWorld = { ...found, imports: found.imports.map(rebase), exports: found.exports.map(rebase) };
    } else {
      name = path.kind === 'local' ? path.name : path.interface;
      const target = this.items.get(name);
      if (!target) this.fail('E_WIT_UNKNOWN_WORLD', path.span, `unknown world '${name}' in package ${formatPackageId(this.pkg)}`);
      if (target.kind !== 'world') this.fail('E_WIT_UNKNOWN_WORLD', path.span, `'${name}' is an interface, not a world`);
      const included = this.worlds.find((p) => p.world === target.world)!;
      if (included.state === 'visiting') this.fail('E_WIT_CYCLE', item.span, `world '${name}' includes itself (through world '${w.world.name}')`);
      this.completeWorld(included);
      includedWorld = included.world;
    }
    if (includedWorld.externalIncludes.length > 0) w.world.externalIncludes.push(...includedWorld.externalIncludes);
    const renames = new Map(item.renames.map((r) => [r.from, r]));
    const merge = (from: WorldItem[], into: WorldItem[], taken: Map<string, Span>, direction: string): void => {
      for (const wi of from) {
        if (wi.kind === 'interface') {
          // The same interface from two worlds is one import (de-duplication by interface name).
          const key = this.worldKey(wi);
          if (!taken.has(key.toLowerCase())) {
            taken.set(key.toLowerCase(), item.span);
            into.push(wi);
          }
          continue;
        }
        const rename = renames.get(wi.name);
        if (rename) renames.delete(wi.name);
        let renamed: WorldItem = wi;
        if (rename && wi.kind === 'func') renamed = { kind: 'func', name: rename.to, func: { ...wi.func, name: rename.to } };
        if (rename && wi.kind === 'inline-interface') {
          // Its types name the interface as their owner; renaming would mean copying them all.
          this.fail('E_WIT_UNSUPPORTED', rename.span, `renaming the inline interface '${wi.name}' with 'include ... with' is not supported; declare it as a named interface`);
        }
        claim(taken, renamed.name, item.span, `including world '${name}' brings ${direction} '${renamed.name}', which world '${w.world.name}' already has; rename it with 'with { ${renamed.name} as other-name }'`);
        into.push(renamed);
      }
    };
    merge(includedWorld.imports, w.world.imports, imports, 'import');
    merge(includedWorld.exports, w.world.exports, exports, 'export');
    const unused = [...renames.values()][0];
    if (unused) this.fail('E_WIT_INVALID', unused.span, `world '${name}' has no plain-named import or export '${unused.from}' to rename`);
  }

  private worldKey(item: WorldItem): string {
    return item.kind === 'interface' ? interfaceId(item.ref, this.pkg) : item.name;
  }
}

function describeKind(def: TypeDef): string {
  const kind = definitionOf(def).kind.kind;
  return kind === 'alias' ? 'a type alias' : kind === 'enum' ? 'an enum' : `a ${kind}`;
}

function containedTypes(k: TypeDefKind): Type[] {
  switch (k.kind) {
    case 'record':
      return k.fields.map((f) => f.type);
    case 'variant':
      return k.cases.flatMap((c) => (c.type ? [c.type] : []));
    case 'alias':
      return [k.type];
    default:
      return [];
  }
}

function findBorrow(t: TypeExprAst): Extract<TypeExprAst, { kind: 'borrow' }> | undefined {
  switch (t.kind) {
    case 'borrow':
      return t;
    case 'list':
      return findBorrow(t.element);
    case 'option':
      return findBorrow(t.some);
    case 'result':
      return (t.ok && findBorrow(t.ok)) || (t.err && findBorrow(t.err)) || undefined;
    case 'tuple':
      for (const x of t.types) {
        const b = findBorrow(x);
        if (b) return b;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** `{ docs }` when there are docs, `{}` otherwise, so that models carry no `docs: undefined`. */
function docsOf(docs: string | undefined): { docs?: string } {
  return docs !== undefined ? { docs } : {};
}
