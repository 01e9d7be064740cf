// The shapes of the WIT front end: tokens' positions, the syntax tree of one file (…Ast) and the
// resolved model of one package (no suffix), which the binding generator consumes.

/** A position in a source file; line and column start at 1 (column counts UTF-16 units). */
export interface Span {
  file: string;
  line: number;
  column: number;
}

export type PrimitiveName =
  | 'bool'
  | 's8'
  | 's16'
  | 's32'
  | 's64'
  | 'u8'
  | 'u16'
  | 'u32'
  | 'u64'
  | 'f32'
  | 'f64'
  | 'char'
  | 'string';

/** Feature gates: `@since(version = 0.2.0)`, `@unstable(feature = x)`, `@deprecated(version = 0.2.2)`. */
export type Gate =
  | { kind: 'since'; version: string; feature?: string }
  | { kind: 'unstable'; feature: string }
  | { kind: 'deprecated'; version: string };

export interface PackageId {
  namespace: string;
  name: string;
  version?: string;
}

// ---------------------------------------------------------------------------------------------
// Syntax tree of one file
// ---------------------------------------------------------------------------------------------

/** What every declaration carries: its doc comment (lines joined by '\n'), gates and position. */
export interface DeclAst {
  docs?: string;
  gates: Gate[];
  span: Span;
}

/** `kv` (an interface of this package, or a top-level `use` name) or `wasi:io/streams@0.2.0`. */
export type UsePathAst =
  | { kind: 'local'; name: string; span: Span }
  | { kind: 'package'; package: PackageId; interface: string; span: Span };

export type TypeExprAst =
  | { kind: 'primitive'; name: PrimitiveName; span: Span }
  | { kind: 'list'; element: TypeExprAst; span: Span }
  | { kind: 'option'; some: TypeExprAst; span: Span }
  | { kind: 'result'; ok?: TypeExprAst; err?: TypeExprAst; span: Span }
  | { kind: 'tuple'; types: TypeExprAst[]; span: Span }
  | { kind: 'borrow'; name: string; span: Span }
  | { kind: 'own'; name: string; span: Span }
  | { kind: 'named'; name: string; span: Span };

export interface ParamAst {
  name: string;
  type: TypeExprAst;
  span: Span;
}

export interface FuncTypeAst {
  params: ParamAst[];
  result?: TypeExprAst;
  span: Span;
}

export interface FuncAst extends DeclAst {
  kind: 'func';
  name: string;
  func: FuncTypeAst;
}

export interface ResourceMemberAst extends DeclAst {
  kind: 'method' | 'static' | 'constructor';
  /** 'constructor' for the constructor. */
  name: string;
  func: FuncTypeAst;
}

export interface FieldAst {
  name: string;
  type: TypeExprAst;
  docs?: string;
  span: Span;
}

export interface CaseAst {
  name: string;
  type?: TypeExprAst;
  docs?: string;
  span: Span;
}

/** An enum case or a flag. */
export interface LabelAst {
  name: string;
  docs?: string;
  span: Span;
}

export type TypeBodyAst =
  | { kind: 'record'; fields: FieldAst[] }
  | { kind: 'variant'; cases: CaseAst[] }
  | { kind: 'enum'; cases: LabelAst[] }
  | { kind: 'flags'; flags: LabelAst[] }
  | { kind: 'resource'; members: ResourceMemberAst[] }
  | { kind: 'alias'; type: TypeExprAst };

export interface TypeDeclAst extends DeclAst {
  kind: 'typedef';
  name: string;
  body: TypeBodyAst;
}

export interface UseNameAst {
  name: string;
  /** `b as c`: alias is `c`. */
  alias?: string;
  span: Span;
}

/** `use types.{a, b as c};` inside an interface or world. */
export interface UseAst extends DeclAst {
  kind: 'use';
  path: UsePathAst;
  names: UseNameAst[];
}

export type InterfaceItemAst = UseAst | TypeDeclAst | FuncAst;

export interface InterfaceAst extends DeclAst {
  kind: 'interface';
  name: string;
  items: InterfaceItemAst[];
}

/** What follows `import`/`export`. */
export type ExternAst =
  | { kind: 'path'; path: UsePathAst }
  | { kind: 'func'; name: string; func: FuncTypeAst }
  | { kind: 'interface'; name: string; items: InterfaceItemAst[] };

export interface ImportExportAst extends DeclAst {
  kind: 'import' | 'export';
  extern: ExternAst;
}

export interface IncludeAst extends DeclAst {
  kind: 'include';
  path: UsePathAst;
  /** `include w with { a as b }`. */
  renames: { from: string; to: string; span: Span }[];
}

export type WorldItemAst = ImportExportAst | IncludeAst | UseAst | TypeDeclAst;

export interface WorldAst extends DeclAst {
  kind: 'world';
  name: string;
  items: WorldItemAst[];
}

/** `use wasi:http/types@1.0.0 as http-types;` at the top of a file. */
export interface TopLevelUseAst extends DeclAst {
  kind: 'toplevel-use';
  path: UsePathAst;
  alias?: string;
}

export interface PackageDeclAst {
  id: PackageId;
  docs?: string;
  span: Span;
}

export interface WitFileAst {
  path: string;
  package?: PackageDeclAst;
  items: (InterfaceAst | WorldAst | TopLevelUseAst)[];
}

// ---------------------------------------------------------------------------------------------
// Resolved model of one package (and the packages of its deps/)
// ---------------------------------------------------------------------------------------------

/**
 * A type as used somewhere. Named types point at the TypeDef in the scope where the name was
 * written (which may be a `use` entry: follow it with `definitionOf`). A name whose definition is a
 * resource is an owned handle (`own`), whether written `r` or `own<r>`.
 */
export type Type =
  | { kind: 'primitive'; name: PrimitiveName }
  | { kind: 'list'; element: Type }
  | { kind: 'option'; some: Type }
  | { kind: 'result'; ok?: Type; err?: Type }
  | { kind: 'tuple'; types: Type[] }
  | { kind: 'ref'; def: TypeDef }
  | { kind: 'own'; def: TypeDef }
  | { kind: 'borrow'; def: TypeDef };

/**
 * An interface of this package, or one of another package. An `external` reference has a `target` when the other
 * package was loaded (from `deps/`, see `loadWitDir`); `package` is then the loaded package's id (with its version
 * even where the reference left it out). Without deps (`resolvePackage` without `deps`) it has no target.
 */
export type InterfaceRef =
  | { kind: 'local'; interface: Interface }
  | { kind: 'external'; package: PackageId; interface: string; target?: Interface };

/** Where a TypeDef lives: a named interface, an inline `import x: interface {}` of a world, or a world. */
export type TypeOwner =
  | { kind: 'interface'; name: string; world?: string }
  | { kind: 'world'; name: string };

export interface Field {
  name: string;
  type: Type;
  docs?: string;
  span: Span;
}

export interface Case {
  name: string;
  type?: Type;
  docs?: string;
  span: Span;
}

export interface Label {
  name: string;
  docs?: string;
  span: Span;
}

export type TypeDefKind =
  | { kind: 'record'; fields: Field[] }
  | { kind: 'variant'; cases: Case[] }
  | { kind: 'enum'; cases: Label[] }
  | { kind: 'flags'; flags: Label[] }
  /** Methods, static functions and the constructor, in declaration order. */
  | { kind: 'resource'; functions: Func[] }
  | { kind: 'alias'; type: Type }
  /**
   * `use from.{name as <this def's name>}`. `target` is the TypeDef in `from` (itself possibly a
   * `use`); it is undefined when `from` is an external interface.
   */
  | { kind: 'use'; from: InterfaceRef; name: string; target?: TypeDef };

export interface TypeDef {
  name: string;
  owner: TypeOwner;
  docs?: string;
  gates: Gate[];
  span: Span;
  kind: TypeDefKind;
}

export interface Param {
  name: string;
  type: Type;
}

export interface Func {
  /** As written: `get`, `open`, or 'constructor'. */
  name: string;
  /** Resource members take an implicit `self: borrow<R>` (methods) or return `R` (constructor). */
  kind: 'freestanding' | 'method' | 'static' | 'constructor';
  params: Param[];
  /** Undefined: no result (for an infallible constructor: the resource itself). */
  result?: Type;
  docs?: string;
  gates: Gate[];
  span: Span;
}

export interface Interface {
  name: string;
  /** Set for `import x: interface { ... }`: the world holding it. */
  world?: string;
  docs?: string;
  gates: Gate[];
  span: Span;
  /** Type definitions and `use`d names, in declaration order. */
  types: TypeDef[];
  functions: Func[];
}

export type WorldItem =
  /** `import kv;`, `export wasi:http/incoming-handler@0.2.0;` */
  | { kind: 'interface'; ref: InterfaceRef; docs?: string; gates: Gate[]; span: Span }
  /** `import name: interface { ... }` (docs and gates on the interface). */
  | { kind: 'inline-interface'; name: string; interface: Interface }
  /** `export run: func();` (docs and gates on the func). */
  | { kind: 'func'; name: string; func: Func };

/** An `include` of a foreign world of a package that is not loaded (no deps given): kept as written. */
export interface ExternalInclude {
  package: PackageId;
  world: string;
  renames: { from: string; to: string }[];
  gates: Gate[];
  span: Span;
}

export interface World {
  name: string;
  docs?: string;
  gates: Gate[];
  span: Span;
  /** `use`d names and type definitions of the world itself. */
  types: TypeDef[];
  /** Own imports and those of included worlds, in order. */
  imports: WorldItem[];
  exports: WorldItem[];
  externalIncludes: ExternalInclude[];
}

export interface ResolvedPackage {
  id: PackageId;
  docs?: string;
  interfaces: Interface[];
  worlds: World[];
  /**
   * The packages of `deps/` this one refers to, directly or through each other (dependencies first); set only when
   * there are any. References into them are `external` InterfaceRefs with a `target`.
   */
  deps?: ResolvedPackage[];
}
