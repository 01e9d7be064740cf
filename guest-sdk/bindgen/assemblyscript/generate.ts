// AssemblyScript glue for a WIT world (the guest side of the Canonical ABI), first subset: bool, integers,
// floats, char, string, list<T> (list<u8> as Uint8Array), record, enum, option, result, variant, tuple, own handles
// of imported resources (also in exported functions).
// EXPORTS: the glue defines the core exports the world expects, lifts the flat arguments from linear memory,
// calls the user's plain AssemblyScript functions and lowers their results.
// IMPORTS (freestanding functions): plain AssemblyScript wrappers that lower their arguments, call the core
// import (`@external(module, name)`, names as wit-component's dummy module has them) and lift the result.
// IMPORTED RESOURCES: a class per resource holding its own handle, with its constructor, static functions and
// methods, and drop() calling the resource-drop import.
// See README.md for the convention.
import { alignment, elemSize, fieldOffsets, flatten, flattenFunc, variantLayout, type CoreType } from '../abi/index.ts';
import { definitionOf } from '../wit/resolve.ts';
import { camelCase as camel, pascalCase as pascal } from '../names.ts';
import type { Func, Interface, InterfaceRef, PackageId, ResolvedPackage, Type, TypeDef, World, WorldItem } from '../wit/types.ts';

export type BindgenErrorCode = 'E_BINDGEN_UNSUPPORTED' | 'E_BINDGEN_UNKNOWN_WORLD' | 'E_BINDGEN_NO_CORE_IMPORT';

/** One core import of the world's guest, as wit-component names it (host/build `worldCoreImports`). */
export interface CoreImport {
  module: string;
  name: string;
}

export class BindgenError extends Error {
  readonly code: BindgenErrorCode;
  constructor(code: BindgenErrorCode, message: string) {
    super(message);
    this.name = 'BindgenError';
    this.code = code;
  }
}

export interface GenerateOptions {
  /** Module specifier (relative to glue.ts) of the user's implementation. Default './handler'. */
  handlerModule?: string;
  /**
   * What to do with the world's imports when `coreImports` is not given: 'error' (default) or 'ignore' (no
   * import glue). 'ignore' also skips them when `coreImports` is given.
   */
  imports?: 'error' | 'ignore';
  /**
   * The core imports the world expects (`await worldCoreImports(witDir, world)` from host/build/component-tools):
   * given, the world's imported functions are bound in `glue-imports.ts`.
   */
  coreImports?: CoreImport[];
}

export interface GeneratedGlue {
  /**
   * `glue.ts` (the asc entry: core exports, cabi_realloc) and `glue-types.ts` (records, enums, results, Box), to be
   * written next to the user's module: asc must see one path for each module, so the entry sits at the source root.
   */
  files: Record<string, string>;
}


const PRIMITIVE_AS: Record<string, string> = {
  bool: 'bool',
  s8: 'i8',
  u8: 'u8',
  s16: 'i16',
  u16: 'u16',
  s32: 'i32',
  u32: 'u32',
  s64: 'i64',
  u64: 'u64',
  f32: 'f32',
  f64: 'f64',
  char: 'u32',
  string: 'string',
};

/** A type of the subset, with names and aliases followed. */
type Shape =
  | { kind: 'primitive'; name: string }
  | { kind: 'list'; element: Type }
  | { kind: 'option'; some: Type }
  | { kind: 'result'; ok?: Type; err?: Type }
  | { kind: 'record'; def: TypeDef; fields: { name: string; type: Type }[] }
  | { kind: 'enum'; def: TypeDef; cases: string[] }
  | { kind: 'variant'; def: TypeDef; cases: { name: string; type?: Type }[] }
  | { kind: 'tuple'; types: Type[] }
  /** A handle of an imported resource (`own<r>`, bare `r`, or `borrow<r>`); only in import glue. */
  | { kind: 'handle'; def: TypeDef; own: boolean };

interface FuncSite {
  /** `api.greet` or `run`, for messages. */
  where: string;
  /** Import glue: handles of imported resources are supported. */
  imports?: boolean;
}

function unsupported(site: FuncSite, what: string): never {
  throw new BindgenError(
    'E_BINDGEN_UNSUPPORTED',
    `function '${site.where}': ${what} is not supported by the AssemblyScript glue yet (supported: bool, integers, floats, char, string, list, record, enum, option, result, variant, tuple, own handles of imported resources)`,
  );
}

function shapeOf(t: Type, site: FuncSite): Shape {
  switch (t.kind) {
    case 'primitive':
      return { kind: 'primitive', name: t.name };
    case 'list':
      return { kind: 'list', element: t.element };
    case 'option':
      return { kind: 'option', some: t.some };
    case 'result':
      return { kind: 'result', ...(t.ok ? { ok: t.ok } : {}), ...(t.err ? { err: t.err } : {}) };
    case 'tuple':
      return { kind: 'tuple', types: t.types };
    case 'own':
    case 'borrow':
      if (!site.imports && t.kind === 'borrow') return unsupported(site, `resource '${t.def.name}' as borrow<${t.def.name}> in an exported function`);
      return { kind: 'handle', def: definitionOf(t.def), own: t.kind === 'own' };
    case 'ref': {
      const seen = new Set<TypeDef>();
      let d = definitionOf(t.def);
      for (;;) {
        if (seen.has(d)) return unsupported(site, `recursive type '${d.name}'`);
        seen.add(d);
        const k = d.kind;
        switch (k.kind) {
          case 'record':
            return { kind: 'record', def: d, fields: k.fields.map((f) => ({ name: f.name, type: f.type })) };
          case 'enum':
            return { kind: 'enum', def: d, cases: k.cases.map((c) => c.name) };
          case 'alias':
            if (k.type.kind !== 'ref') return shapeOf(k.type, site);
            d = definitionOf(k.type.def);
            continue;
          case 'use':
            return unsupported(site, `type '${d.name}' from a foreign package that was not loaded (no deps/)`);
          case 'variant':
            return { kind: 'variant', def: d, cases: k.cases.map((c) => ({ name: c.name, ...(c.type ? { type: c.type } : {}) })) };
          case 'flags':
            return unsupported(site, `flags '${d.name}'`);
          case 'resource':
            return { kind: 'handle', def: d, own: true };
        }
      }
    }
  }
}

/** Collects the AssemblyScript declarations (types.ts) the exported functions need. */
class TypeRegistry {
  readonly decls = new Map<string, string>();
  private readonly owners = new Map<string, TypeDef>();
  /** Imported resources and their AssemblyScript classes (declared in glue-imports.ts, not here). */
  readonly resources = new Map<TypeDef, string>();
  usesBox = false;
  /**
   * Class names of types whose name another type of the world shares (`error` of kv and of blob): prefixed with
   * the interface's stem (`KvError`, `BlobError`; see `stem`).
   */
  readonly qualified = new Map<TypeDef, string>();
  /** camelCase stems of the world's interfaces (see `qualifyCollisions`). */
  private readonly stems = new Map<Interface, string>();

  nameOf(def: TypeDef): string {
    return this.qualified.get(def) ?? pascal(def.name);
  }

  /**
   * An interface's camelCase name for qualified names (`kv`, `httpTypes`); when two interfaces of the world have the
   * same name (from two packages), the package is part of it: `edgePlatformKv`, `exampleGeoKv`.
   */
  stem(iface: Interface): string {
    return this.stems.get(iface) ?? camel(iface.name);
  }

  /**
   * Names the world's interfaces (`stem`), then finds the type names that two definitions of the world's interfaces
   * share, and qualifies them with their interface's stem.
   */
  qualifyCollisions(ifaces: Map<Interface, PackageId | undefined>): void {
    const byIfaceName = new Map<string, Interface[]>();
    for (const iface of ifaces.keys()) byIfaceName.set(iface.name, [...(byIfaceName.get(iface.name) ?? []), iface]);
    for (const [name, list] of byIfaceName) {
      for (const iface of list) {
        const p = ifaces.get(iface);
        this.stems.set(iface, list.length > 1 && p ? camel(`${p.namespace}-${p.name}-${name}`) : camel(name));
      }
    }
    const byName = new Map<string, Set<TypeDef>>();
    for (const iface of ifaces.keys()) {
      for (const def of iface.types) {
        const k = def.kind.kind;
        if (k === 'use' || k === 'alias') continue;
        const name = pascal(def.name);
        const set = byName.get(name) ?? new Set<TypeDef>();
        set.add(def);
        byName.set(name, set);
      }
    }
    const owner = new Map<TypeDef, Interface>();
    for (const iface of ifaces.keys()) for (const def of iface.types) owner.set(def, iface);
    for (const [name, defs] of byName) {
      if (defs.size < 2) continue;
      for (const def of defs) {
        const iface = owner.get(def)!;
        this.qualified.set(def, `${pascal(this.stem(iface))}${name}`);
      }
    }
  }

  claim(name: string, def: TypeDef, site: FuncSite): boolean {
    const prev = this.owners.get(name);
    if (prev && prev !== def) unsupported(site, `two types named '${def.name}' (from different interfaces)`);
    if (prev) return false;
    this.owners.set(name, def);
    return true;
  }

  /** Whether the AS type of `t` is a non-nullable reference (so `T | null` can stand for option<T>). */
  isPlainRef(t: Type, site: FuncSite): boolean {
    const s = shapeOf(t, site);
    return s.kind === 'list' || s.kind === 'record' || s.kind === 'result' || s.kind === 'handle' || s.kind === 'variant' || s.kind === 'tuple' || (s.kind === 'primitive' && s.name === 'string');
  }

  isNullable(t: Type, site: FuncSite): boolean {
    return shapeOf(t, site).kind === 'option';
  }

  /** The class of an imported resource. */
  resourceClass(def: TypeDef, site: FuncSite): string {
    const name = this.resources.get(def);
    if (name === undefined) return unsupported(site, `a handle of resource '${def.name}', which no imported interface of the world defines`);
    return name;
  }

  /** Default value for a field of this AS type that is not a reference. */
  asType(t: Type, site: FuncSite): string {
    const s = shapeOf(t, site);
    switch (s.kind) {
      case 'handle':
        return this.resourceClass(s.def, site);
      case 'primitive':
        return PRIMITIVE_AS[s.name]!;
      case 'list': {
        const e = shapeOf(s.element, site);
        if (e.kind === 'primitive' && e.name === 'u8') return 'Uint8Array';
        return `Array<${this.asType(s.element, site)}>`;
      }
      case 'option': {
        const inner = this.asType(s.some, site);
        if (this.isPlainRef(s.some, site)) return `${inner} | null`;
        this.usesBox = true;
        return `Box<${inner}> | null`;
      }
      case 'result':
        return this.resultClass(s, site);
      case 'record': {
        const name = this.nameOf(s.def);
        if (this.claim(name, s.def, site)) {
          const fields = s.fields.map((f) => ({ name: camel(f.name), type: this.asType(f.type, site) }));
          const lines = [`export class ${name} {`];
          for (const f of fields) lines.push(`  ${f.name}: ${f.type};`);
          lines.push(`  constructor(${fields.map((f) => `${f.name}: ${f.type}`).join(', ')}) {`);
          for (const f of fields) lines.push(`    this.${f.name} = ${f.name};`);
          lines.push('  }', '}');
          this.decls.set(name, lines.join('\n'));
        }
        return name;
      }
      case 'tuple':
        return this.tupleClass(s.types, site);
      case 'variant':
        return this.variantClass(s.def, s.cases, site);
      case 'enum': {
        const name = this.nameOf(s.def);
        if (this.claim(name, s.def, site)) {
          this.decls.set(name, `export enum ${name} {\n${s.cases.map((c, i) => `  ${pascal(c)} = ${i},`).join('\n')}\n}`);
        }
        return name;
      }
    }
  }

  private mangle(t: Type | undefined, site: FuncSite): string {
    if (!t) return 'Void';
    const s = shapeOf(t, site);
    switch (s.kind) {
      case 'primitive':
        return pascal(s.name);
      case 'list':
        return `List${this.mangle(s.element, site)}`;
      case 'option':
        return `Option${this.mangle(s.some, site)}`;
      case 'result':
        return `Result${this.mangle(s.ok, site)}${this.mangle(s.err, site)}`;
      case 'record':
      case 'enum':
      case 'variant':
        return this.nameOf(s.def);
      case 'handle':
        return this.resourceClass(s.def, site);
      case 'tuple':
        return this.tupleClass(s.types, site);
    }
  }

  private readonly tupleKeys = new Map<string, string>();

  /** tuple<A, B>: `class TupleAB { f0: A; f1: B; constructor(f0, f1) }`. */
  private tupleClass(ts: Type[], site: FuncSite): string {
    const parts = ts.map((t) => this.mangle(t, site));
    const name = `Tuple${parts.join('')}`;
    const key = parts.join(',');
    const prev = this.tupleKeys.get(name);
    if (prev !== undefined && prev !== key) unsupported(site, `two tuple types named '${name}'`);
    if (prev !== undefined) return name;
    this.tupleKeys.set(name, key);
    this.decls.set(name, ''); // reserve
    const fields = ts.map((t, i) => ({ name: `f${i}`, type: this.asType(t, site) }));
    const lines = [`/** tuple<...>: fields f0, f1, ... */`, `export class ${name} {`];
    for (const f of fields) lines.push(`  ${f.name}: ${f.type};`);
    lines.push(`  constructor(${fields.map((f) => `${f.name}: ${f.type}`).join(', ')}) {`);
    for (const f of fields) lines.push(`    this.${f.name} = ${f.name};`);
    lines.push('  }', '}');
    this.decls.set(name, lines.join('\n'));
    return name;
  }

  /**
   * variant v { a, b(T) }: `class V { static readonly A: u32 = 0; ...; tag: u32; static a(): V; static b(v: T): V;
   * get asB(): T }` (the accessor of another case's payload asserts).
   */
  private variantClass(def: TypeDef, cases: { name: string; type?: Type }[], site: FuncSite): string {
    const name = this.nameOf(def);
    if (!this.claim(name, def, site)) return name;
    this.decls.set(name, ''); // reserve
    const lines = [
      `/** variant ${def.name}: \`tag\` is one of the constants below; make one with ${name}.<case>(payload); read a case's payload with \`as<Case>\`. */`,
      `export class ${name} {`,
    ];
    cases.forEach((c, i) => lines.push(`  static readonly ${variantConst(c.name)}: u32 = ${i};`));
    lines.push('  tag: u32 = 0;');
    cases.forEach((c, i) => {
      const ctor = variantCtor(c.name);
      if (!c.type) {
        lines.push(`  static ${ctor}(): ${name} { const r = new ${name}(); r.tag = ${i}; return r; }`);
        return;
      }
      const ty = this.asType(c.type, site);
      const field = `_${i}`;
      const nullable = this.isNullable(c.type, site);
      const ref = this.isPlainRef(c.type, site);
      if (nullable) lines.push(`  private ${field}: ${ty} = null;`);
      else if (ref) lines.push(`  private ${field}: ${ty} | null = null;`);
      else lines.push(`  private ${field}: ${ty} = ${defaultOf(ty)};`);
      lines.push(`  static ${ctor}(v: ${ty}): ${name} { const r = new ${name}(); r.tag = ${i}; r.${field} = v; return r; }`);
      lines.push(`  get as${pascal(c.name)}(): ${ty} { assert(this.tag == ${i}, "${def.name}: not ${c.name}"); return this.${field}${ref ? '!' : ''}; }`);
    });
    lines.push('}');
    this.decls.set(name, lines.join('\n'));
    return name;
  }

  private resultClass(s: { ok?: Type; err?: Type }, site: FuncSite): string {
    const name = `Result${this.mangle(s.ok, site)}${this.mangle(s.err, site)}`;
    if (this.decls.has(name)) return name;
    this.decls.set(name, ''); // reserve (payload types may register more declarations)
    const lines = [
      `/** result<${s.ok ? 'T' : '_'}, ${s.err ? 'E' : '_'}>: construct with ${name}.ok(...) / ${name}.err(...). */`,
      `export class ${name} {`,
      '  isOk: bool = true;',
    ];
    const part = (t: Type | undefined, field: string, ctor: string, getter: string, isOk: boolean): void => {
      if (!t) {
        lines.push(`  static ${ctor}(): ${name} { const r = new ${name}(); r.isOk = ${isOk}; return r; }`);
        return;
      }
      const ty = this.asType(t, site);
      const nullable = this.isNullable(t, site);
      const ref = this.isPlainRef(t, site);
      if (nullable) lines.push(`  private ${field}: ${ty} = null;`);
      else if (ref) lines.push(`  private ${field}: ${ty} | null = null;`);
      else lines.push(`  private ${field}: ${ty} = ${defaultOf(ty)};`);
      lines.push(`  static ${ctor}(v: ${ty}): ${name} { const r = new ${name}(); r.isOk = ${isOk}; r.${field} = v; return r; }`);
      lines.push(`  get ${getter}(): ${ty} { return this.${field}${ref ? '!' : ''}; }`);
    };
    part(s.ok, '_ok', 'ok', 'value', true);
    part(s.err, '_err', 'err', 'error', false);
    lines.push('}');
    this.decls.set(name, lines.join('\n'));
    return name;
  }
}

/** `not-found` → `NOT_FOUND`: the tag constant of a variant case. */
function variantConst(witName: string): string {
  return witName.replace(/^%/, '').replace(/-/g, '_').toUpperCase();
}

const AS_RESERVED = new Set(['null', 'true', 'false', 'this', 'super', 'new', 'delete', 'typeof', 'void', 'in', 'instanceof', 'var', 'let', 'const', 'if', 'else', 'for', 'while', 'do', 'switch', 'case', 'default', 'break', 'continue', 'return', 'throw', 'try', 'catch', 'finally', 'function', 'class', 'enum', 'export', 'import', 'extends', 'with', 'yield', 'tag', 'constructor', 'prototype', 'name', 'length']);

/** The static constructor of a variant case: camelCase, `_` appended to reserved words (`null` → `null_`). */
function variantCtor(witName: string): string {
  const c = camel(witName);
  return AS_RESERVED.has(c) ? `${c}_` : c;
}

function defaultOf(asType: string): string {
  if (asType === 'bool') return 'false';
  return '0';
}

/** Emits AssemblyScript statements for one export function. */
class Emitter {
  lines: string[] = [];
  private n = 0;
  private depth: number;
  readonly types: TypeRegistry;
  readonly site: FuncSite;
  /** Prepended to temporaries (import wrappers use '__' so they cannot meet a parameter name). */
  private readonly tmpPrefix: string;

  constructor(types: TypeRegistry, site: FuncSite, tmpPrefix = '', depth = 1) {
    this.depth = depth;
    this.types = types;
    this.site = site;
    this.tmpPrefix = tmpPrefix;
  }

  tmp(prefix = 't'): string {
    return `${this.tmpPrefix}${prefix}${this.n++}`;
  }

  line(text: string): void {
    this.lines.push('  '.repeat(this.depth) + text);
  }

  open(text: string): void {
    this.line(text);
    this.depth++;
  }

  close(text = '}'): void {
    this.depth--;
    this.line(text);
  }

  /** Lifts a value from flat core values (slots), consuming flatten(t).length of them from `pos`. */
  liftFlat(t: Type, slots: { expr: string; core: CoreType }[], pos: { i: number }): string {
    const take = (want: CoreType): string => {
      const slot = slots[pos.i++]!;
      return coerce(slot.expr, slot.core, want);
    };
    const s = shapeOf(t, this.site);
    switch (s.kind) {
      case 'primitive': {
        if (s.name === 'string') {
          const p = take('i32');
          const l = take('i32');
          const v = this.tmp();
          this.line(`const ${v} = __liftString(<usize>${p}, <usize>${l});`);
          return v;
        }
        const core = flatten(t)[0]!;
        return liftPrimitive(s.name, take(core));
      }
      case 'list': {
        const p = take('i32');
        const l = take('i32');
        return this.liftList(s.element, `<usize>${p}`, `<usize>${l}`);
      }
      case 'record': {
        const args = s.fields.map((f) => this.liftFlat(f.type, slots, pos));
        const v = this.tmp();
        this.line(`const ${v} = new ${this.types.asType(t, this.site)}(${args.join(', ')});`);
        return v;
      }
      case 'enum':
        return `<${this.types.asType(t, this.site)}>(${take('i32')})`;
      case 'handle':
        return `${this.types.resourceClass(s.def, this.site)}.fromHandle(${take('i32')})`;
      case 'tuple': {
        const args = s.types.map((ct) => this.liftFlat(ct, slots, pos));
        const v = this.tmp();
        this.line(`const ${v} = new ${this.types.asType(t, this.site)}(${args.join(', ')});`);
        return v;
      }
      case 'variant': {
        const start = pos.i;
        const width = flatten(t).length;
        const disc = take('i32');
        const payloadSlots = slots.slice(start + 1, start + width);
        const v = this.tmp();
        const ty = this.types.asType(t, this.site);
        this.line(`let ${v}: ${ty} | null = null;`);
        this.liftCases(s.cases, disc, v, ty, (ct) => this.liftFlat(ct, payloadSlots, { i: 0 }));
        pos.i = start + width;
        return v;
      }
      case 'option':
      case 'result': {
        const start = pos.i;
        const width = flatten(t).length;
        const disc = take('i32');
        const payloadSlots = slots.slice(start + 1, start + width);
        const v = this.tmp();
        const ty = this.types.asType(t, this.site);
        const liftCase = (ct: Type): string => this.liftFlat(ct, payloadSlots, { i: 0 });
        if (s.kind === 'option') {
          this.line(`let ${v}: ${ty} = null;`);
          this.open(`if (${disc} != 0) {`);
          const inner = liftCase(s.some);
          this.line(`${v} = ${this.types.isPlainRef(s.some, this.site) ? inner : `new Box<${this.types.asType(s.some, this.site)}>(${inner})`};`);
          this.close();
        } else {
          this.line(`let ${v}: ${ty} | null = null;`);
          this.open(`if (${disc} == 0) {`);
          this.line(`${v} = ${ty}.ok(${s.ok ? liftCase(s.ok) : ''});`);
          this.close('} else {');
          this.depth++;
          this.line(`${v} = ${ty}.err(${s.err ? liftCase(s.err) : ''});`);
          this.close();
        }
        pos.i = start + width;
        return v; // non-null after the if/else (AssemblyScript's flow analysis knows it)
      }
    }
  }

  /** `if (d == 0) { v = V.a(...) } else if ... else { v = V.last(...) }` (the last case also takes out-of-range tags). */
  private liftCases(cases: { name: string; type?: Type }[], disc: string, v: string, ty: string, lift: (t: Type) => string): void {
    cases.forEach((c, i) => {
      const last = i === cases.length - 1;
      if (i === 0 && !last) this.open(`if (${disc} == 0) {`);
      else if (last && i > 0) {
        this.close('} else {');
        this.depth++;
      } else if (i > 0) {
        this.close(`} else if (${disc} == ${i}) {`);
        this.depth++;
      }
      this.line(`${v} = ${ty}.${variantCtor(c.name)}(${c.type ? lift(c.type) : ''});`);
      if (last && cases.length > 1) this.close();
    });
  }

  /** Lifts a list<T> from (ptr, len) and frees the host-allocated buffer. */
  liftList(element: Type, ptr: string, len: string): string {
    const e = shapeOf(element, this.site);
    const v = this.tmp();
    if (e.kind === 'primitive' && e.name === 'u8') {
      this.line(`const ${v} = __liftBytes(${ptr}, ${len});`);
      return v;
    }
    const size = elemSize(element);
    const p = this.tmp('p');
    const n = this.tmp('n');
    const i = this.tmp('i');
    this.line(`const ${p}: usize = ${ptr};`);
    this.line(`const ${n}: usize = ${len};`);
    this.line(`const ${v} = new ${this.types.asType({ kind: 'list', element }, this.site)}();`);
    this.open(`for (let ${i}: usize = 0; ${i} < ${n}; ${i}++) {`);
    const item = this.liftMem(element, `${p} + ${i} * ${size}`);
    this.line(`${v}.push(${item});`);
    this.close();
    this.line(`__free(${p}, ${n} * ${size});`);
    return v;
  }

  /** Lifts a value stored at `addr` (an expression evaluated once). */
  liftMem(t: Type, addrExpr: string): string {
    const a = this.tmp('a');
    this.line(`const ${a}: usize = ${addrExpr};`);
    const s = shapeOf(t, this.site);
    switch (s.kind) {
      case 'primitive': {
        if (s.name === 'string') {
          const v = this.tmp();
          this.line(`const ${v} = __liftString(<usize>load<u32>(${a}), <usize>load<u32>(${a}, 4));`);
          return v;
        }
        return memLoad(s.name, a);
      }
      case 'list':
        return this.liftList(s.element, `<usize>load<u32>(${a})`, `<usize>load<u32>(${a}, 4)`);
      case 'record': {
        const args = fieldOffsets(t).map((f) => this.liftMem(f.type, `${a} + ${f.offset}`));
        const v = this.tmp();
        this.line(`const ${v} = new ${this.types.asType(t, this.site)}(${args.join(', ')});`);
        return v;
      }
      case 'enum': {
        const layout = variantLayout(t);
        return `<${this.types.asType(t, this.site)}>(${discLoad(layout.discriminantSize, a)})`;
      }
      case 'handle':
        return `${this.types.resourceClass(s.def, this.site)}.fromHandle(load<i32>(${a}))`;
      case 'tuple': {
        const args = fieldOffsets(t).map((f) => this.liftMem(f.type, `${a} + ${f.offset}`));
        const v = this.tmp();
        this.line(`const ${v} = new ${this.types.asType(t, this.site)}(${args.join(', ')});`);
        return v;
      }
      case 'variant': {
        const layout = variantLayout(t);
        const d = this.tmp('d');
        this.line(`const ${d} = ${discLoad(layout.discriminantSize, a)};`);
        const v = this.tmp();
        const ty = this.types.asType(t, this.site);
        this.line(`let ${v}: ${ty} | null = null;`);
        this.liftCases(s.cases, d, v, ty, (ct) => this.liftMem(ct, `${a} + ${layout.payloadOffset}`));
        return v;
      }
      case 'option':
      case 'result': {
        const layout = variantLayout(t);
        const d = this.tmp('d');
        this.line(`const ${d} = ${discLoad(layout.discriminantSize, a)};`);
        const payload = `${a} + ${layout.payloadOffset}`;
        const v = this.tmp();
        const ty = this.types.asType(t, this.site);
        if (s.kind === 'option') {
          this.line(`let ${v}: ${ty} = null;`);
          this.open(`if (${d} != 0) {`);
          const inner = this.liftMem(s.some, payload);
          this.line(`${v} = ${this.types.isPlainRef(s.some, this.site) ? inner : `new Box<${this.types.asType(s.some, this.site)}>(${inner})`};`);
          this.close();
          return v;
        }
        this.line(`let ${v}: ${ty} | null = null;`);
        this.open(`if (${d} == 0) {`);
        this.line(`${v} = ${ty}.ok(${s.ok ? this.liftMem(s.ok, payload) : ''});`);
        this.close('} else {');
        this.depth++;
        this.line(`${v} = ${ty}.err(${s.err ? this.liftMem(s.err, payload) : ''});`);
        this.close();
        return v;
      }
    }
  }

  /** A single flat core value for a result whose flattening is one value. */
  lowerFlat(t: Type, value: string): string {
    const s = shapeOf(t, this.site);
    switch (s.kind) {
      case 'primitive': {
        const core = flatten(t)[0]!;
        if (s.name === 'bool') return `(${value} ? 1 : 0)`;
        return `<${core}>(${value})`;
      }
      case 'enum':
        return `<i32>(${value})`;
      case 'record': {
        const only = s.fields[0];
        if (s.fields.length === 1 && only) return this.lowerFlat(only.type, `${value}.${camel(only.name)}`);
        break;
      }
      case 'result':
        if (!s.ok && !s.err) return `(${value}.isOk ? 0 : 1)`;
        break;
      case 'variant':
        if (flatten(t).length === 1) return `<i32>(${value}.tag)`;
        break;
      case 'handle':
        return handleOf(s.own, value);
      case 'tuple': {
        const only = s.types[0];
        if (s.types.length === 1 && only) return this.lowerFlat(only, `${value}.f0`);
        break;
      }
      default:
        break;
    }
    return unsupported(this.site, 'a single-value result of this shape');
  }

  /**
   * The flat core values of `value` (spec: lower_flat), for an import's arguments: emits the statements and
   * returns one expression per flat slot. Strings and list<u8> are passed in place (the host reads them during the
   * call); other lists are lowered into a buffer from __allocKeep, freed after the call.
   */
  lowerFlatValues(t: Type, value: string): string[] {
    const s = shapeOf(t, this.site);
    switch (s.kind) {
      case 'primitive': {
        if (s.name !== 'string') return [this.lowerFlat(t, value)];
        const v = this.tmp('s');
        this.line(`const ${v}: string = ${value};`);
        return [`<i32>changetype<usize>(${v})`, `${v}.length`];
      }
      case 'enum':
        return [`<i32>(${value})`];
      case 'handle':
        return [handleOf(s.own, value)];
      case 'list': {
        const l = this.tmp('l');
        this.line(`const ${l} = ${value};`);
        const e = shapeOf(s.element, this.site);
        if (e.kind === 'primitive' && e.name === 'u8') return [`<i32>${l}.dataStart`, `${l}.length`];
        const size = elemSize(s.element);
        const p = this.tmp('p');
        const i = this.tmp('i');
        this.line(`const ${p} = __allocKeep(<usize>${l}.length * ${size});`);
        this.open(`for (let ${i} = 0; ${i} < ${l}.length; ${i}++) {`);
        this.lowerMem(s.element, `${l}[${i}]`, `${p} + <usize>${i} * ${size}`);
        this.close();
        return [`<i32>${p}`, `${l}.length`];
      }
      case 'record': {
        const r = this.tmp('r');
        this.line(`const ${r} = ${value};`);
        return s.fields.flatMap((f) => this.lowerFlatValues(f.type, `${r}.${camel(f.name)}`));
      }
      case 'tuple': {
        const r = this.tmp('r');
        this.line(`const ${r} = ${value};`);
        return s.types.flatMap((ct, i) => this.lowerFlatValues(ct, `${r}.f${i}`));
      }
      case 'variant': {
        const { vars, o, arm } = this.lowerCases(t, value);
        s.cases.forEach((c, i) => {
          this.open(`${i === 0 ? '' : 'else '}if (${o}.tag == ${i}) {`);
          arm(i, c.type, `${o}.as${pascal(c.name)}`);
          this.close();
        });
        this.line(`else unreachable();`);
        return vars;
      }
      case 'option':
      case 'result': {
        const { vars, o, arm } = this.lowerCases(t, value);
        if (s.kind === 'option') {
          this.open(`if (${o} == null) {`);
          arm(0, undefined, '');
          this.close('} else {');
          this.depth++;
          arm(1, s.some, this.types.isPlainRef(s.some, this.site) ? o : `${o}.value`); // narrowed to non-null
          this.close();
        } else {
          this.open(`if (${o}.isOk) {`);
          arm(0, s.ok, `${o}.value`);
          this.close('} else {');
          this.depth++;
          arm(1, s.err, `${o}.error`);
          this.close();
        }
        return vars;
      }
    }
  }

  /**
   * The flat values of a variant-like type (variant, option, result): one local per flat slot, the value in a local,
   * and `arm(disc, payload, expr)`, which sets the discriminant and lowers a case's payload into the shared slots.
   */
  private lowerCases(t: Type, value: string): { vars: string[]; o: string; arm(disc: number, payload: Type | undefined, expr: string): void } {
    const flat = flatten(t);
    const vars = flat.map((core) => {
      const v = this.tmp('f');
      this.line(`let ${v}: ${core} = 0;`);
      return v;
    });
    const o = this.tmp('o');
    this.line(`const ${o} = ${value};`);
    const arm = (disc: number, payload: Type | undefined, expr: string): void => {
      this.line(`${vars[0]!} = ${disc};`);
      if (!payload) return;
      const have = flatten(payload);
      this.lowerFlatValues(payload, expr).forEach((v, j) => this.line(`${vars[j + 1]!} = ${coerceUp(v, have[j]!, flat[j + 1]!)};`));
    };
    return { vars, o, arm };
  }

  /** Stores `value` at `addrExpr`, allocating buffers for strings and lists (freed by the post-return function). */
  lowerMem(t: Type, value: string, addrExpr: string): void {
    const a = this.tmp('a');
    this.line(`const ${a}: usize = ${addrExpr};`);
    const s = shapeOf(t, this.site);
    switch (s.kind) {
      case 'primitive':
        if (s.name === 'string') this.line(`__lowerString(${value}, ${a});`);
        else this.line(memStore(s.name, a, value));
        return;
      case 'list': {
        const e = shapeOf(s.element, this.site);
        if (e.kind === 'primitive' && e.name === 'u8') {
          this.line(`__lowerBytes(${value}, ${a});`);
          return;
        }
        const size = elemSize(s.element);
        const arr = this.tmp('l');
        const p = this.tmp('p');
        const i = this.tmp('i');
        this.line(`const ${arr} = ${value};`);
        this.line(`const ${p} = __allocKeep(<usize>${arr}.length * ${size});`);
        this.open(`for (let ${i} = 0; ${i} < ${arr}.length; ${i}++) {`);
        this.lowerMem(s.element, `${arr}[${i}]`, `${p} + <usize>${i} * ${size}`);
        this.close();
        this.line(`store<u32>(${a}, <u32>${p});`);
        this.line(`store<u32>(${a}, <u32>${arr}.length, 4);`);
        return;
      }
      case 'record': {
        const r = this.tmp('r');
        this.line(`const ${r} = ${value};`);
        for (const f of fieldOffsets(t)) this.lowerMem(f.type, `${r}.${camel(f.name)}`, `${a} + ${f.offset}`);
        return;
      }
      case 'enum': {
        const layout = variantLayout(t);
        this.line(discStore(layout.discriminantSize, a, `<i32>(${value})`));
        return;
      }
      case 'handle':
        this.line(`store<i32>(${a}, ${handleOf(s.own, value)});`);
        return;
      case 'tuple': {
        const r = this.tmp('r');
        this.line(`const ${r} = ${value};`);
        fieldOffsets(t).forEach((f, i) => this.lowerMem(f.type, `${r}.f${i}`, `${a} + ${f.offset}`));
        return;
      }
      case 'variant': {
        const layout = variantLayout(t);
        const o = this.tmp('o');
        this.line(`const ${o} = ${value};`);
        s.cases.forEach((c, i) => {
          this.open(`${i === 0 ? '' : 'else '}if (${o}.tag == ${i}) {`);
          this.line(discStore(layout.discriminantSize, a, String(i)));
          if (c.type) this.lowerMem(c.type, `${o}.as${pascal(c.name)}`, `${a} + ${layout.payloadOffset}`);
          this.close();
        });
        this.line(`else unreachable();`);
        return;
      }
      case 'option':
      case 'result': {
        const layout = variantLayout(t);
        const payload = `${a} + ${layout.payloadOffset}`;
        const o = this.tmp('o');
        this.line(`const ${o} = ${value};`);
        if (s.kind === 'option') {
          this.open(`if (${o} == null) {`);
          this.line(discStore(layout.discriminantSize, a, '0'));
          this.close('} else {');
          this.depth++;
          this.line(discStore(layout.discriminantSize, a, '1'));
          const inner = this.types.isPlainRef(s.some, this.site) ? o : `${o}.value`; // narrowed to non-null
          this.lowerMem(s.some, inner, payload);
          this.close();
          return;
        }
        this.open(`if (${o}.isOk) {`);
        this.line(discStore(layout.discriminantSize, a, '0'));
        if (s.ok) this.lowerMem(s.ok, `${o}.value`, payload);
        this.close('} else {');
        this.depth++;
        this.line(discStore(layout.discriminantSize, a, '1'));
        if (s.err) this.lowerMem(s.err, `${o}.error`, payload);
        this.close();
        return;
      }
    }
  }
}

/** Whether lowering a value of `t` into memory allocates buffers (strings, lists), which post-return must free. */
function allocates(t: Type, site: FuncSite): boolean {
  const s = shapeOf(t, site);
  switch (s.kind) {
    case 'primitive':
      return s.name === 'string';
    case 'list':
      return true;
    case 'record':
      return s.fields.some((f) => allocates(f.type, site));
    case 'tuple':
      return s.types.some((ct) => allocates(ct, site));
    case 'variant':
      return s.cases.some((c) => c.type !== undefined && allocates(c.type, site));
    case 'option':
      return allocates(s.some, site);
    case 'result':
      return (s.ok !== undefined && allocates(s.ok, site)) || (s.err !== undefined && allocates(s.err, site));
    case 'enum':
    case 'handle':
      return false;
  }
}

/** The i32 handle to pass for a resource instance: `own` moves it out of the instance, `borrow` lends it. */
function handleOf(own: boolean, value: string): string {
  return own ? `${value}.__take()` : `${value}.handle`;
}

/** spec: lift_flat_variant's coercion of a joined flat slot to the case's own core type. */
function coerce(expr: string, have: CoreType, want: CoreType): string {
  if (have === want) return expr;
  if (have === 'i32' && want === 'f32') return `reinterpret<f32>(${expr})`;
  if (have === 'i64' && want === 'i32') return `<i32>(${expr})`;
  if (have === 'i64' && want === 'f32') return `reinterpret<f32>(<i32>(${expr}))`;
  if (have === 'i64' && want === 'f64') return `reinterpret<f64>(${expr})`;
  throw new Error(`unreachable coercion ${have} → ${want}`);
}

/** spec: lower_flat_variant's widening of a case's flat value to the joined slot type. */
function coerceUp(expr: string, have: CoreType, want: CoreType): string {
  if (have === want) return expr;
  if (have === 'f32' && want === 'i32') return `reinterpret<i32>(${expr})`;
  if (have === 'i32' && want === 'i64') return `<i64><u32>(${expr})`;
  if (have === 'f32' && want === 'i64') return `<i64><u32>reinterpret<i32>(${expr})`;
  if (have === 'f64' && want === 'i64') return `reinterpret<i64>(${expr})`;
  throw new Error(`unreachable coercion ${have} → ${want}`);
}

function liftPrimitive(name: string, v: string): string {
  switch (name) {
    case 'bool':
      return `(${v} != 0)`;
    case 's32':
    case 's64':
    case 'f32':
    case 'f64':
      return v;
    default:
      return `<${PRIMITIVE_AS[name]!}>(${v})`;
  }
}

/** Scalars in linear memory have their AssemblyScript type, except bool (a byte). */
function memLoad(name: string, a: string): string {
  return name === 'bool' ? `(load<u8>(${a}) != 0)` : `load<${PRIMITIVE_AS[name]!}>(${a})`;
}

function memStore(name: string, a: string, v: string): string {
  return name === 'bool' ? `store<u8>(${a}, ${v} ? 1 : 0);` : `store<${PRIMITIVE_AS[name]!}>(${a}, ${v});`;
}

function discLoad(size: number, a: string): string {
  return `<i32>load<${size === 1 ? 'u8' : size === 2 ? 'u16' : 'u32'}>(${a})`;
}

function discStore(size: number, a: string, v: string): string {
  return `store<${size === 1 ? 'u8' : size === 2 ? 'u16' : 'u32'}>(${a}, ${v});`;
}

/**
 * Lifting helpers shared by the export and import runtimes: buffers the other side allocated (with
 * cabi_realloc) are freed once their contents are copied out. Zero-size buffers point at __EMPTY.
 */
const LIFT_RUNTIME = `function __free(ptr: usize, size: usize): void {
  if (size != 0 && ptr != __EMPTY && ptr != 0) heap.free(ptr);
}

function __liftString(ptr: usize, len: usize): string {
  if (len == 0) return "";
  const s = String.UTF16.decodeUnsafe(ptr, len << 1);
  __free(ptr, len << 1);
  return s;
}

function __liftBytes(ptr: usize, len: usize): Uint8Array {
  const a = new Uint8Array(<i32>len);
  if (len != 0) {
    memory.copy(a.dataStart, ptr, len);
    __free(ptr, len);
  }
  return a;
}
`;

const RUNTIME = `// Canonical ABI runtime of the glue. Argument buffers the host allocated with cabi_realloc are freed after lifting.
// Result buffers (string and list data) are recorded in __pending while the result is lowered and freed by the
// export's post-return function (\`<export>_post\`), which the host calls once it has read the result. As a
// fallback for a host that never calls it, every export call first frees what is still pending (then empty).
const __EMPTY: usize = memory.data(16, 16);

const __pending = new Array<usize>();

function __freePending(): void {
  for (let i = 0; i < __pending.length; i++) heap.free(__pending[i]);
  __pending.length = 0;
}

function __allocKeep(size: usize): usize {
  if (size == 0) return __EMPTY;
  const p = heap.alloc(size);
  __pending.push(p);
  return p;
}

${LIFT_RUNTIME}
function __lowerString(s: string, at: usize): void {
  const bytes = <usize>s.length << 1;
  const p = __allocKeep(bytes);
  if (bytes != 0) memory.copy(p, changetype<usize>(s), bytes);
  store<u32>(at, <u32>p);
  store<u32>(at, <u32>s.length, 4);
}

function __lowerBytes(a: Uint8Array, at: usize): void {
  const n = <usize>a.length;
  const p = __allocKeep(n);
  if (n != 0) memory.copy(p, a.dataStart, n);
  store<u32>(at, <u32>p);
  store<u32>(at, <u32>n, 4);
}

/** The Canonical ABI allocator the host uses to pass arguments (heap blocks are 16-byte aligned). */
export function cabi_realloc(ptr: usize, oldSize: usize, align: usize, newSize: usize): usize {
  const fresh = ptr == 0 || oldSize == 0 || ptr == __EMPTY;
  if (newSize == 0) {
    if (!fresh) heap.free(ptr);
    return __EMPTY;
  }
  if (fresh) return heap.alloc(newSize);
  return heap.realloc(ptr, newSize);
}
`;

const IMPORT_RUNTIME = `// Canonical ABI runtime of the import wrappers. Strings and list<u8> arguments are passed in place (the host
// copies them during the call; nothing allocates on the GC heap meanwhile); other list buffers and an indirect
// argument tuple come from __allocKeep and are freed when the call returns. Result buffers the host allocated
// with cabi_realloc (glue.ts) are freed once lifted.
const __EMPTY: usize = memory.data(16, 16);
const __kept = new Array<usize>();

function __allocKeep(size: usize): usize {
  if (size == 0) return __EMPTY;
  const p = heap.alloc(size);
  __kept.push(p);
  return p;
}

function __freeKept(mark: i32): void {
  for (let i = mark; i < __kept.length; i++) heap.free(__kept[i]);
  __kept.length = mark;
}

${LIFT_RUNTIME}
function __lowerString(s: string, at: usize): void {
  store<u32>(at, <u32>changetype<usize>(s));
  store<u32>(at, <u32>s.length, 4);
}

function __lowerBytes(a: Uint8Array, at: usize): void {
  store<u32>(at, <u32>a.dataStart);
  store<u32>(at, <u32>a.length, 4);
}
`;

const BOX = `/** option<T> of a value type (or of an option): null is none. */
export class Box<T> {
  value: T;
  constructor(value: T) {
    this.value = value;
  }
}`;

interface ExportedFunc {
  /** Core export name the host/build rename transform maps to the world's canonical name. */
  coreName: string;
  /** Name the user's module exports. */
  userName: string;
  func: Func;
  where: string;
}

/** The interface of a world item; undefined for an interface of a package that was not loaded (no deps/). */
function interfaceOf(item: { kind: 'interface'; ref: InterfaceRef } | { kind: 'inline-interface'; interface: Interface }): Interface | undefined {
  if (item.kind === 'inline-interface') return item.interface;
  return item.ref.kind === 'local' ? item.ref.interface : item.ref.target;
}

/** The package of a world item's interface (`pkg` for its own, the other package for external ones). */
function packageOf(item: { kind: 'interface'; ref: InterfaceRef } | { kind: 'inline-interface' }, pkg: PackageId): PackageId | undefined {
  if (item.kind === 'inline-interface') return undefined;
  return item.ref.kind === 'local' ? pkg : item.ref.package;
}

/** `ns:pkg/iface` (no version) of an external reference that was not loaded, for messages. */
function refName(item: WorldItem): string {
  const ref = item.kind === 'interface' && item.ref.kind === 'external' ? item.ref : undefined;
  return ref ? `${ref.package.namespace}:${ref.package.name}/${ref.interface}` : 'an interface';
}

/**
 * The interfaces whose types the glue may name: those the world imports and exports, and those they `use` types
 * from (transitively), each with its package (undefined for inline interfaces).
 */
function worldInterfaces(pkg: ResolvedPackage, world: World): Map<Interface, PackageId | undefined> {
  const found = new Map<Interface, PackageId | undefined>();
  const visit = (iface: Interface, p: PackageId | undefined): void => {
    if (found.has(iface)) return;
    found.set(iface, p);
    for (const def of iface.types) {
      if (def.kind.kind !== 'use') continue;
      const from = def.kind.from;
      if (from.kind === 'local') visit(from.interface, p);
      else if (from.target) visit(from.target, from.package);
    }
  };
  for (const item of [...world.imports, ...world.exports]) {
    if (item.kind === 'func') continue;
    const iface = interfaceOf(item);
    if (iface) visit(iface, packageOf(item, pkg.id));
  }
  return found;
}

interface ImportedFunc {
  /**
   * The AssemblyScript wrapper's name (camelCase, or `iface_func` when two imported interfaces share it); for a
   * resource member, the method's name.
   */
  userName: string;
  /** Unique stem for the core declaration and return area. */
  key: string;
  func: Func;
  where: string;
  core: CoreImport;
  /** For resource members: the resource (methods pass `this.handle` as the implicit `self: borrow<R>`). */
  resource?: TypeDef;
}

interface ImportedResource {
  def: TypeDef;
  className: string;
  /** Unique stem for the core declarations. */
  key: string;
  where: string;
  members: ImportedFunc[];
  drop: CoreImport;
}

/** Member names of the generated resource classes that WIT methods must not take. */
const RESOURCE_RESERVED = new Set(['handle', 'fromHandle', 'drop', '__take']);

/** The wit-component module name without its `cm32p2|` prefix and version: `test:glue/host-api`, '' for the world. */
function importModuleId(module: string): string {
  const m = module.startsWith('cm32p2') ? module.slice('cm32p2'.length).replace(/^\|/, '') : module;
  if (m === '$root') return '';
  return m.replace(/@[^/]*$/, '');
}

function collectImports(pkg: ResolvedPackage, worldName: string, items: WorldItem[], coreImports: CoreImport[], types: TypeRegistry): { funcs: ImportedFunc[]; resources: ImportedResource[] } {
  const find = (moduleId: string, name: string, where: string): CoreImport => {
    const hit = coreImports.find((c) => importModuleId(c.module) === moduleId && c.name === name);
    if (!hit) {
      throw new BindgenError('E_BINDGEN_NO_CORE_IMPORT', `world '${worldName}' imports '${where}', but coreImports has no import for it (module '${moduleId}', name '${name}'); pass worldCoreImports(witDir, '${worldName}') for this world`);
    }
    return hit;
  };
  const funcs: ImportedFunc[] = [];
  const resources: ImportedResource[] = [];
  for (const item of items) {
    if (item.kind === 'func') {
      funcs.push({ userName: camel(item.name), key: camel(item.name), func: item.func, where: item.name, core: find('', item.name, item.name) });
      continue;
    }
    const iface = interfaceOf(item);
    if (!iface) {
      throw new BindgenError('E_BINDGEN_UNSUPPORTED', `world '${worldName}' imports ${refName(item)} from a foreign package, which is not loaded (put it in the WIT directory's deps/ and load it with loadWitDir)`);
    }
    const ifacePkg = item.kind === 'inline-interface' ? undefined : packageOf(item, pkg.id);
    const moduleId = item.kind === 'inline-interface' || !ifacePkg ? iface.name : `${ifacePkg.namespace}:${ifacePkg.name}/${iface.name}`;
    const stem = types.stem(iface);
    for (const def of iface.types) {
      const k = def.kind;
      if (k.kind !== 'resource') continue; // a `use`d resource is bound where it is defined
      const where = `${iface.name}.${def.name}`;
      const className = types.nameOf(def);
      types.claim(className, def, { where });
      const key = `${stem}_${camel(def.name)}`;
      const dropCore =
        coreImports.find((c) => importModuleId(c.module) === moduleId && (c.name === `${def.name}_drop` || c.name === `[resource-drop]${def.name}`)) ??
        find(moduleId, `[resource-drop]${def.name}`, `${where} (drop)`);
      const members = k.functions.map((func): ImportedFunc => {
        const fwhere = func.kind === 'constructor' ? `${where}.constructor` : `${where}.${func.name}`;
        const name = func.kind === 'constructor' ? `[constructor]${def.name}` : `[${func.kind}]${def.name}.${func.name}`;
        const userName = camel(func.name);
        if (func.kind !== 'constructor' && RESOURCE_RESERVED.has(userName)) unsupported({ where: fwhere }, `a resource member named '${func.name}' (the class reserves ${[...RESOURCE_RESERVED].join(', ')})`);
        return { userName, key: `${key}_${func.kind === 'constructor' ? 'new' : camel(func.name)}`, func, where: fwhere, core: find(moduleId, name, fwhere), resource: def };
      });
      resources.push({ def, className, key, where, members, drop: dropCore });
      types.resources.set(def, className);
    }
    for (const func of iface.functions) {
      const where = `${iface.name}.${func.name}`;
      if (func.kind !== 'freestanding') continue;
      const key = `${stem}_${camel(func.name)}`;
      funcs.push({ userName: camel(func.name), key, func, where, core: find(moduleId, func.name, where) });
    }
  }
  const count = new Map<string, number>();
  for (const f of funcs) count.set(f.userName, (count.get(f.userName) ?? 0) + 1);
  for (const f of funcs) if (count.get(f.userName)! > 1) f.userName = f.key;
  return { funcs, resources };
}

export function generateExportGlue(pkg: ResolvedPackage, worldName: string, options: GenerateOptions = {}): GeneratedGlue {
  const world = pkg.worlds.find((w) => w.name === worldName);
  if (!world) throw new BindgenError('E_BINDGEN_UNKNOWN_WORLD', `package ${pkg.id.namespace}:${pkg.id.name} has no world '${worldName}'`);
  const ignoreImports = options.imports === 'ignore';
  if (!ignoreImports && !options.coreImports && world.imports.length > 0) {
    const names = world.imports.map((i) => (i.kind === 'interface' ? (i.ref.kind === 'local' ? i.ref.interface.name : `${i.ref.package.namespace}:${i.ref.package.name}/${i.ref.interface}`) : i.name));
    throw new BindgenError('E_BINDGEN_UNSUPPORTED', `world '${worldName}' imports ${names.join(', ')}: pass coreImports (host/build worldCoreImports(witDir, world)) to bind them, or imports: 'ignore' to skip them`);
  }
  const types = new TypeRegistry();
  types.qualifyCollisions(worldInterfaces(pkg, world));
  const { funcs: imported, resources } = ignoreImports || !options.coreImports ? { funcs: [], resources: [] } : collectImports(pkg, worldName, world.imports, options.coreImports, types);

  const funcs: ExportedFunc[] = [];
  for (const item of world.exports) {
    if (item.kind === 'func') {
      funcs.push({ coreName: camel(item.name), userName: camel(item.name), func: item.func, where: item.name });
      continue;
    }
    const iface = interfaceOf(item);
    if (!iface) {
      throw new BindgenError('E_BINDGEN_UNSUPPORTED', `world '${worldName}' exports ${refName(item)} from a foreign package, which is not loaded (put it in the WIT directory's deps/ and load it with loadWitDir)`);
    }
    for (const type of iface.types) {
      const def = definitionOf(type);
      // A resource `use`d from an imported interface is that interface's class; the exported interface's own are not supported.
      if (def.kind.kind === 'resource' && !types.resources.has(def)) throw new BindgenError('E_BINDGEN_UNSUPPORTED', `interface '${iface.name}': resource '${type.name}' is not supported by the AssemblyScript export glue yet`);
    }
    for (const func of iface.functions) {
      funcs.push({ coreName: `${camel(iface.name)}_${camel(func.name)}`, userName: camel(func.name), func, where: `${iface.name}.${func.name}` });
    }
  }
  // Like host/build: the short name unless two exported functions share it, then `iface_func`.
  const count = new Map<string, number>();
  for (const f of funcs) count.set(f.userName, (count.get(f.userName) ?? 0) + 1);
  for (const f of funcs) if (count.get(f.userName)! > 1) f.userName = f.coreName;

  const bodies: string[] = [];
  for (const f of funcs) bodies.push(generateFunction(f, types));
  const importBodies: string[] = [];
  for (const r of resources) importBodies.push(generateResourceClass(r, types));
  for (const f of imported) importBodies.push(generateImportFunction(f, types));
  const resourceNames = resources.map((r) => r.className);

  const handler = options.handlerModule ?? './handler';
  const typeNames = [...types.decls.keys(), ...(types.usesBox ? ['Box'] : [])];
  const exportsTs = [
    `// Generated by guest-sdk/bindgen/assemblyscript from world '${worldName}' of ${pkg.id.namespace}:${pkg.id.name}. Do not edit.`,
    ...(typeNames.length > 0 ? [`import { ${typeNames.join(', ')} } from "./glue-types";`] : []),
    ...(resourceNames.length > 0 && funcs.length > 0 ? [`import { ${resourceNames.join(', ')} } from "./glue-imports";`] : []),
    ...(funcs.length > 0 ? [`import { ${funcs.map((f) => `${f.userName} as __user_${f.coreName}`).join(', ')} } from "${handler}";`] : []),
    '',
    RUNTIME,
    ...bodies,
  ].join('\n');
  const typesTs = [
    `// Generated by guest-sdk/bindgen/assemblyscript from world '${worldName}' of ${pkg.id.namespace}:${pkg.id.name}. Do not edit.`,
    ...(resourceNames.length > 0 && types.decls.size > 0 ? [`import { ${resourceNames.join(', ')} } from "./glue-imports";`] : []),
    '',
    ...(types.usesBox ? [BOX, ''] : []),
    ...[...types.decls.values()].flatMap((d) => [d, '']),
  ].join('\n');
  const files: Record<string, string> = { 'glue.ts': exportsTs, 'glue-types.ts': typesTs };
  if (imported.length > 0 || resources.length > 0) {
    files['glue-imports.ts'] = [
      `// Generated by guest-sdk/bindgen/assemblyscript from world '${worldName}' of ${pkg.id.namespace}:${pkg.id.name}. Do not edit.`,
      ...(typeNames.length > 0 ? [`import { ${typeNames.join(', ')} } from "./glue-types";`] : []),
      '',
      IMPORT_RUNTIME,
      ...importBodies,
    ].join('\n');
  }
  return { files };
}

interface ImportCall {
  /** Return area and the `@external` core declaration, at module level. */
  prelude: string;
  /** `a: string, b: u32` */
  params: string;
  resultType: string;
  body: string;
}

/**
 * The body of an import wrapper: lowers the arguments (for a method, `this.handle` first, as the implicit
 * `self: borrow<R>`), calls the core import and lifts the result (for a constructor: stores the new handle in
 * `this.handle`).
 */
function emitImportCall(f: ImportedFunc, types: TypeRegistry, depth: number): ImportCall {
  const site = { where: f.where, imports: true };
  const params = f.func.params.map((p) => ({ name: camel(p.name), type: types.asType(p.type, site), wit: p.type }));
  const isCtor = f.func.kind === 'constructor';
  const result = f.func.result;
  const resultType = result ? types.asType(result, site) : 'void';
  const sig = flattenFunc(f.func, 'lower');
  const e = new Emitter(types, site, '__', depth);
  const core = `__import_${f.key}`;
  // The implicit `self: borrow<R>` of a method, lowered like a parameter.
  const self = f.func.kind === 'method' && f.resource ? [{ name: 'this', wit: { kind: 'borrow', def: f.resource } as Type }] : [];
  const all = [...self, ...params];
  e.line('const __mark = __kept.length;');
  let args: string[];
  if (sig.paramsIndirect) {
    const base = e.tmp('args');
    e.line(`const ${base} = __allocKeep(${sig.paramsLayout.size});`);
    const layout = fieldOffsets({ kind: 'tuple', types: all.map((p) => p.wit) });
    layout.forEach((l, i) => e.lowerMem(l.type, all[i]!.name, `${base} + ${l.offset}`));
    args = [`<i32>${base}`];
  } else {
    args = all.flatMap((p) => e.lowerFlatValues(p.wit, p.name));
  }
  let prelude = '';
  const area = `__ret_${f.key}`;
  if (sig.resultsIndirect) {
    prelude = `const ${area}: usize = memory.data(${Math.max(sig.resultLayout!.size, 1)}, ${Math.max(sig.resultLayout!.align, 1)});\n`;
    args.push(`<i32>${area}`);
  }
  const call = `${core}(${args.join(', ')})`;
  let coreRet = 'void';
  if (isCtor && !result) {
    coreRet = 'i32';
    e.line(`const __r: i32 = ${call};`);
    e.line('__freeKept(__mark);');
    e.line('this.handle = __r;');
  } else if (isCtor) {
    return unsupported(site, 'a fallible resource constructor');
  } else if (!result) {
    e.line(`${call};`);
    e.line('__freeKept(__mark);');
  } else if (!sig.resultsIndirect) {
    coreRet = sig.results[0]!;
    e.line(`const __r: ${coreRet} = ${call};`);
    e.line('__freeKept(__mark);');
    e.line(`return ${e.liftFlat(result, [{ expr: '__r', core: coreRet as CoreType }], { i: 0 })};`);
  } else {
    e.line(`${call};`);
    e.line('__freeKept(__mark);');
    e.line(`return ${e.liftMem(result, area)};`);
  }
  const coreParams = sig.params.map((c, i) => `p${i}: ${c}`).join(', ');
  const decl = `// @ts-ignore: decorator\n@external(${JSON.stringify(f.core.module)}, ${JSON.stringify(f.core.name)})\ndeclare function ${core}(${coreParams}): ${coreRet};\n`;
  return { prelude: `${prelude}${decl}`, params: params.map((p) => `${p.name}: ${p.type}`).join(', '), resultType, body: e.lines.join('\n') };
}

function generateImportFunction(f: ImportedFunc, types: TypeRegistry): string {
  const c = emitImportCall(f, types, 1);
  return `${c.prelude}\n/** ${f.where} (import) */\nexport function ${f.userName}(${c.params}): ${c.resultType} {\n${c.body}\n}\n`;
}

/**
 * One class per imported resource: the own handle, the constructor (if any), static functions as static methods,
 * methods as instance methods, `fromHandle` (used to lift handles), and `drop()` calling the resource-drop import.
 */
function generateResourceClass(r: ImportedResource, types: TypeRegistry): string {
  const preludes: string[] = [];
  const members: string[] = [];
  const ctor = r.members.find((m) => m.func.kind === 'constructor');
  const cls = r.className;
  for (const m of r.members) {
    const c = emitImportCall(m, types, 2);
    preludes.push(c.prelude);
    const doc = `  /** ${m.where} (import) */`;
    if (m.func.kind === 'constructor') members.push(`${doc}\n  constructor(${c.params}) {\n${c.body}\n  }`);
    else members.push(`${doc}\n  ${m.func.kind === 'static' ? 'static ' : ''}${m.userName}(${c.params}): ${c.resultType} {\n${c.body}\n  }`);
  }
  const drop = `__import_${r.key}_drop`;
  preludes.push(`// @ts-ignore: decorator\n@external(${JSON.stringify(r.drop.module)}, ${JSON.stringify(r.drop.name)})\ndeclare function ${drop}(handle: i32): void;\n`);
  const lines = [
    ...preludes,
    `/**`,
    ` * resource ${r.where} (import): an instance holds an own handle. Call drop() when done with it (AssemblyScript`,
    ` * has no finalizers); handles not dropped are released when the component instance ends.`,
    ` */`,
    `export class ${cls} {`,
    `  /** The own handle; 0 once dropped or moved to the host (passed as an own<${r.def.name}> argument). */`,
    `  handle: i32 = 0;`,
    ...(ctor ? [] : [`  private constructor() {}`]),
    `  /** Wraps an own handle (the glue lifts own<${r.def.name}> results with this). */`,
    `  static fromHandle(handle: i32): ${cls} {`,
    `    const r = changetype<${cls}>(__new(offsetof<${cls}>(), idof<${cls}>()));`,
    `    r.handle = handle;`,
    `    return r;`,
    `  }`,
    `  /** Moves the handle out (for an own<${r.def.name}> argument): the instance no longer holds it. */`,
    `  __take(): i32 {`,
    `    const h = this.handle;`,
    `    this.handle = 0;`,
    `    return h;`,
    `  }`,
    `  /** Drops the handle (the host's resource is released); a second call does nothing. */`,
    `  drop(): void {`,
    `    const h = this.handle;`,
    `    if (h == 0) return;`,
    `    this.handle = 0;`,
    `    ${drop}(h);`,
    `  }`,
    ...members,
    `}`,
    '',
  ];
  return lines.join('\n');
}

function generateFunction(f: ExportedFunc, types: TypeRegistry): string {
  const site = { where: f.where };
  if (f.func.kind !== 'freestanding') unsupported(site, `resource ${f.func.kind}`);
  // Validate every type first, so the error names the type and function.
  for (const p of f.func.params) types.asType(p.type, site);
  const resultType = f.func.result ? types.asType(f.func.result, site) : undefined;
  const sig = flattenFunc(f.func, 'lift');
  const e = new Emitter(types, site);
  const params = sig.params.map((core, i) => ({ name: `__p${i}`, core }));

  e.line('__freePending();');
  let args: string[];
  if (sig.paramsIndirect) {
    const base = e.tmp('args');
    e.line(`const ${base}: usize = <usize>__p0;`);
    const layout = fieldOffsets({ kind: 'tuple', types: f.func.params.map((p) => p.type) });
    args = layout.map((l) => e.liftMem(l.type, `${base} + ${l.offset}`));
    e.line(`__free(${base}, ${sig.paramsLayout.size});`);
  } else {
    const slots = params.map((p) => ({ expr: p.name, core: p.core }));
    const pos = { i: 0 };
    args = f.func.params.map((p) => e.liftFlat(p.type, slots, pos));
  }
  const call = `__user_${f.coreName}(${args.join(', ')})`;
  const result = f.func.result;
  let ret = 'void';
  let prelude = '';
  if (!result) {
    e.line(`${call};`);
  } else if (!sig.resultsIndirect) {
    ret = sig.results[0]!;
    const r = e.tmp('r');
    e.line(`const ${r}: ${resultType} = ${call};`);
    e.line(`return ${e.lowerFlat(result, r)};`);
  } else {
    ret = 'i32';
    const area = `__ret_${f.coreName}`;
    prelude = `const ${area}: usize = memory.data(${Math.max(elemSize(result), 1)}, ${Math.max(alignment(result), 1)});\n`;
    const r = e.tmp('r');
    e.line(`const ${r}: ${resultType} = ${call};`);
    e.lowerMem(result, r, area);
    e.line(`return <i32>${area};`);
  }
  const main = `${prelude}/** ${f.where} */\nexport function ${f.coreName}(${params.map((p) => `${p.name}: ${p.core}`).join(', ')}): ${ret} {\n${e.lines.join('\n')}\n}\n`;
  if (!result || !allocates(result, site)) return main;
  // Post-return (host/build maps `<core name>_post` to the world's `..._post` export): takes the core function's
  // flat results and frees the buffers this call allocated for its result, which __pending holds (it was emptied
  // at the start of the call and only lowering adds to it).
  const postParams = sig.results.map((core, i) => `__r${i}: ${core}`).join(', ');
  return `${main}\n/** ${f.where}: post-return */\nexport function ${f.coreName}_post(${postParams}): void {\n  __freePending();\n}\n`;
}
