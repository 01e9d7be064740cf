// Canonical ABI layout of the resolved WIT model: alignment, size and field offsets in linear memory,
// flattening to core wasm value types, and the core signature of a component function.
// Written from the Component Model's design/mvp/CanonicalABI.md (sections Despecialization, Alignment,
// Element Size, Flattening); the spec's names are given beside ours.
import { WitError } from '../wit/errors.ts';
import { definitionOf } from '../wit/resolve.ts';
import type { Func, PrimitiveName, Type, TypeDef } from '../wit/types.ts';

/** A core WebAssembly value type. */
export type CoreType = 'i32' | 'i64' | 'f32' | 'f64';

/** The integer type holding a variant's case index (spec: `discriminant_type`). */
export type DiscriminantType = 'u8' | 'u16' | 'u32';

/** spec: MAX_FLAT_PARAMS. More flat parameters than this are passed as one pointer to a tuple in memory. */
export const MAX_FLAT_PARAMS = 16;
/** spec: MAX_FLAT_RESULTS. More flat results than this are passed through memory. */
export const MAX_FLAT_RESULTS = 1;

/**
 * A type with names followed and specialized types expanded (spec: `despecialize`): tuples become
 * records (fields named '0', '1', ...), enum/option/result become variants. string and flags keep
 * their own representation; own/borrow handles are `handle`.
 */
export type AbiShape =
  | { kind: 'primitive'; name: Exclude<PrimitiveName, 'string'> }
  | { kind: 'string' }
  | { kind: 'list'; element: Type }
  | { kind: 'record'; fields: { name: string; type: Type }[] }
  | { kind: 'variant'; cases: { name: string; type?: Type }[] }
  | { kind: 'flags'; count: number }
  | { kind: 'handle' };

/** Follows `use` links and `type x = ...` aliases to the definition that determines the layout. */
function layoutDef(def: TypeDef): TypeDef | Type {
  const seen = new Set<TypeDef>();
  let d = definitionOf(def);
  for (;;) {
    if (seen.has(d)) throw new WitError('E_WIT_CYCLE', d.span, `type '${d.name}' is defined in terms of itself`);
    seen.add(d);
    const k = d.kind;
    if (k.kind === 'use') {
      const from = k.from.kind === 'local' ? k.from.interface.name : `${k.from.package.namespace}:${k.from.package.name}/${k.from.interface}`;
      throw new WitError(
        'E_WIT_UNSUPPORTED',
        d.span,
        `cannot lay out '${d.name}': it comes from '${from}', a foreign package that is not loaded`,
      );
    }
    if (k.kind !== 'alias') return d;
    const t = k.type;
    if (t.kind !== 'ref') return t;
    d = definitionOf(t.def);
  }
}

export function despecialize(t: Type): AbiShape {
  switch (t.kind) {
    case 'primitive':
      return t.name === 'string' ? { kind: 'string' } : { kind: 'primitive', name: t.name };
    case 'list':
      return { kind: 'list', element: t.element };
    case 'tuple':
      return { kind: 'record', fields: t.types.map((type, i) => ({ name: String(i), type })) };
    case 'option':
      return { kind: 'variant', cases: [{ name: 'none' }, { name: 'some', type: t.some }] };
    case 'result':
      return { kind: 'variant', cases: [{ name: 'ok', type: t.ok }, { name: 'error', type: t.err }] };
    case 'own':
    case 'borrow':
      return { kind: 'handle' };
    case 'ref': {
      const d = layoutDef(t.def);
      if (!('owner' in d)) return despecialize(d);
      const k = d.kind;
      switch (k.kind) {
        case 'record':
          return { kind: 'record', fields: k.fields.map((f) => ({ name: f.name, type: f.type })) };
        case 'variant':
          return { kind: 'variant', cases: k.cases.map((c) => ({ name: c.name, type: c.type })) };
        case 'enum':
          return { kind: 'variant', cases: k.cases.map((c) => ({ name: c.name })) };
        case 'flags':
          return { kind: 'flags', count: k.flags.length };
        case 'resource':
          return { kind: 'handle' };
        default:
          // 'alias' and 'use' are resolved by layoutDef.
          throw new Error(`unreachable: ${k.kind}`);
      }
    }
  }
}

export function alignTo(offset: number, align: number): number {
  return Math.ceil(offset / align) * align;
}

/** spec: `discriminant_type`, the smallest unsigned integer that numbers `caseCount` cases (1 ≤ n < 2^32). */
export function discriminantType(caseCount: number): DiscriminantType {
  if (!Number.isInteger(caseCount) || caseCount < 1 || caseCount >= 2 ** 32) {
    throw new RangeError(`a variant has 1 to 2^32-1 cases, not ${caseCount}`);
  }
  if (caseCount <= 0x100) return 'u8';
  if (caseCount <= 0x10000) return 'u16';
  return 'u32';
}

/** Bytes of the discriminant of a variant with `caseCount` cases: 1, 2 or 4. */
export function discriminantSize(caseCount: number): 1 | 2 | 4 {
  const d = discriminantType(caseCount);
  return d === 'u8' ? 1 : d === 'u16' ? 2 : 4;
}

/** spec: `num_i32_flags`, the number of i32 values a flags type flattens to. */
export function flagsI32Count(count: number): number {
  return Math.ceil(count / 32);
}

/** spec: `alignment_flags`. */
export function flagsAlignment(count: number): 1 | 2 | 4 {
  if (count <= 8) return 1;
  if (count <= 16) return 2;
  return 4;
}

/**
 * spec: `elem_size_flags`: 0 flags take 0 bytes (an older spec; WIT now requires at least one flag),
 * up to 8 one byte, up to 16 two, up to 32 four, and more a sequence of u32 (the current spec limits
 * flags to 32, so more than 32 is the older rule).
 */
export function flagsSize(count: number): number {
  if (count === 0) return 0;
  if (count <= 8) return 1;
  if (count <= 16) return 2;
  return 4 * flagsI32Count(count);
}

const PRIMITIVE_SIZE: Record<Exclude<PrimitiveName, 'string'>, number> = {
  bool: 1,
  s8: 1,
  u8: 1,
  s16: 2,
  u16: 2,
  s32: 4,
  u32: 4,
  s64: 8,
  u64: 8,
  f32: 4,
  f64: 8,
  char: 4,
};

function maxCaseAlignment(cases: { type?: Type }[]): number {
  let a = 1;
  for (const c of cases) if (c.type) a = Math.max(a, alignment(c.type));
  return a;
}

/** spec: `alignment`. */
export function alignment(t: Type): number {
  const s = despecialize(t);
  switch (s.kind) {
    case 'primitive':
      return PRIMITIVE_SIZE[s.name];
    case 'string':
    case 'list':
    case 'handle':
      return 4;
    case 'record': {
      let a = 1;
      for (const f of s.fields) a = Math.max(a, alignment(f.type));
      return a;
    }
    case 'variant':
      return Math.max(discriminantSize(s.cases.length), maxCaseAlignment(s.cases));
    case 'flags':
      return flagsAlignment(s.count);
  }
}

/** spec: `elem_size` (formerly `size`): the bytes a value takes in linear memory, e.g. as a list element. */
export function elemSize(t: Type): number {
  const s = despecialize(t);
  switch (s.kind) {
    case 'primitive':
      return PRIMITIVE_SIZE[s.name];
    case 'string':
    case 'list':
      return 8;
    case 'handle':
      return 4;
    case 'record':
      return structLayout(s.fields.map((f) => f.type)).size;
    case 'variant':
      return variantLayoutOf(s.cases).size;
    case 'flags':
      return flagsSize(s.count);
  }
}

/** Where one field of a record or tuple lives, relative to the start of the record. */
export interface FieldLayout {
  name: string;
  type: Type;
  offset: number;
  size: number;
  align: number;
}

export interface StructLayout {
  size: number;
  align: number;
  offsets: number[];
}

/** Lays out a sequence of (size, align) items one after another, each at its alignment (a C struct). */
export function structLayoutOf(items: { size: number; align: number }[]): StructLayout {
  let offset = 0;
  let align = 1;
  const offsets: number[] = [];
  for (const item of items) {
    offset = alignTo(offset, item.align);
    offsets.push(offset);
    offset += item.size;
    align = Math.max(align, item.align);
  }
  return { size: alignTo(offset, align), align, offsets };
}

/** The layout of a tuple of these types (spec: `elem_size_record` / `alignment_record`). */
export function structLayout(types: Type[]): StructLayout {
  return structLayoutOf(types.map((t) => ({ size: elemSize(t), align: alignment(t) })));
}

/** The fields of a record or tuple (a Type naming one, or the record's TypeDef) with their offsets. */
export function fieldOffsets(record: Type | TypeDef): FieldLayout[] {
  const t: Type = 'owner' in record ? { kind: 'ref', def: record } : record;
  const s = despecialize(t);
  if (s.kind !== 'record') throw new TypeError(`fieldOffsets: not a record or tuple (${s.kind})`);
  const items = s.fields.map((f) => ({ name: f.name, type: f.type, size: elemSize(f.type), align: alignment(f.type) }));
  const { offsets } = structLayoutOf(items);
  return items.map((f, i) => ({ ...f, offset: offsets[i]! }));
}

export interface VariantLayout {
  /** The cases in order; case i has discriminant value i. Enum cases have no type. */
  cases: { name: string; type?: Type }[];
  discriminant: DiscriminantType;
  discriminantSize: 1 | 2 | 4;
  /** Where every case's payload starts: the discriminant's size aligned to the largest payload alignment. */
  payloadOffset: number;
  /** The size of the largest payload. */
  payloadSize: number;
  size: number;
  align: number;
}

function variantLayoutOf(cases: { name: string; type?: Type }[]): VariantLayout {
  const discriminant = discriminantType(cases.length);
  const dsize = discriminantSize(cases.length);
  const caseAlign = maxCaseAlignment(cases);
  const payloadOffset = alignTo(dsize, caseAlign);
  let payloadSize = 0;
  for (const c of cases) if (c.type) payloadSize = Math.max(payloadSize, elemSize(c.type));
  const align = Math.max(dsize, caseAlign);
  return {
    cases,
    discriminant,
    discriminantSize: dsize,
    payloadOffset,
    payloadSize,
    size: alignTo(payloadOffset + payloadSize, align),
    align,
  };
}

/** The layout of a variant, enum, option or result (a Type naming one, or the TypeDef). */
export function variantLayout(variant: Type | TypeDef): VariantLayout {
  const t: Type = 'owner' in variant ? { kind: 'ref', def: variant } : variant;
  const s = despecialize(t);
  if (s.kind !== 'variant') throw new TypeError(`variantLayout: not a variant, enum, option or result (${s.kind})`);
  return variantLayoutOf(s.cases);
}

/** spec: `join`, the core type that can carry both a and b (bits reinterpreted, i32 zero-extended). */
export function join(a: CoreType, b: CoreType): CoreType {
  if (a === b) return a;
  if ((a === 'i32' && b === 'f32') || (a === 'f32' && b === 'i32')) return 'i32';
  return 'i64';
}

const PRIMITIVE_FLAT: Record<Exclude<PrimitiveName, 'string'>, CoreType> = {
  bool: 'i32',
  s8: 'i32',
  u8: 'i32',
  s16: 'i32',
  u16: 'i32',
  s32: 'i32',
  u32: 'i32',
  s64: 'i64',
  u64: 'i64',
  f32: 'f32',
  f64: 'f64',
  char: 'i32',
};

/** spec: `flatten_type`: the core values a value of this type is passed as. */
export function flatten(t: Type): CoreType[] {
  const s = despecialize(t);
  switch (s.kind) {
    case 'primitive':
      return [PRIMITIVE_FLAT[s.name]];
    case 'string':
    case 'list':
      return ['i32', 'i32'];
    case 'handle':
      return ['i32'];
    case 'record':
      return s.fields.flatMap((f) => flatten(f.type));
    case 'variant': {
      discriminantType(s.cases.length); // validates the case count
      const payload: CoreType[] = [];
      for (const c of s.cases) {
        if (!c.type) continue;
        flatten(c.type).forEach((ft, i) => {
          payload[i] = i < payload.length ? join(payload[i]!, ft) : ft;
        });
      }
      // Every discriminant type (u8, u16, u32) flattens to one i32.
      return ['i32', ...payload];
    }
    case 'flags':
      return new Array<CoreType>(flagsI32Count(s.count)).fill('i32');
  }
}

/** spec: `flatten_types`. */
export function flattenTypes(ts: Type[]): CoreType[] {
  return ts.flatMap(flatten);
}

/**
 * The core signature of a component function (spec: `flatten_functype`).
 * - 'lift': the guest implements it (an export); results that do not fit are written to memory the
 *   callee allocates, and it returns one i32 pointer to them.
 * - 'lower': the guest calls it (an import); results that do not fit are written by the host to memory
 *   the caller provides, passed as an extra last i32 parameter, and the core function returns nothing.
 * Parameters that do not fit (more than 16 flat values) are passed as one i32 pointer to a tuple of
 * them in memory (`paramsLayout`).
 */
export interface CoreSignature {
  params: CoreType[];
  results: CoreType[];
  paramsIndirect: boolean;
  resultsIndirect: boolean;
  /** The parameters as a tuple in memory (used when paramsIndirect): `self` first for methods. */
  paramsLayout: StructLayout;
  /** The result in memory (used when resultsIndirect), undefined when the function returns nothing. */
  resultLayout?: { size: number; align: number };
}

export type FlattenContext = 'lift' | 'lower';

const HANDLE_ITEM = { size: 4, align: 4 };

export function flattenFunc(func: Func, context: FlattenContext): CoreSignature {
  // Methods take `self: borrow<R>` first: one i32 handle.
  const self = func.kind === 'method';
  let params: CoreType[] = [...(self ? (['i32'] as CoreType[]) : []), ...flattenTypes(func.params.map((p) => p.type))];
  const paramsLayout = structLayoutOf([
    ...(self ? [HANDLE_ITEM] : []),
    ...func.params.map((p) => ({ size: elemSize(p.type), align: alignment(p.type) })),
  ]);
  const paramsIndirect = params.length > MAX_FLAT_PARAMS;
  if (paramsIndirect) params = ['i32'];

  // An infallible constructor (no written result) returns `own<R>`: one i32 handle.
  let results: CoreType[];
  let resultLayout: { size: number; align: number } | undefined;
  if (func.result) {
    results = flatten(func.result);
    resultLayout = { size: elemSize(func.result), align: alignment(func.result) };
  } else if (func.kind === 'constructor') {
    results = ['i32'];
    resultLayout = HANDLE_ITEM;
  } else {
    results = [];
  }
  const resultsIndirect = results.length > MAX_FLAT_RESULTS;
  if (resultsIndirect) {
    if (context === 'lift') {
      results = ['i32'];
    } else {
      params = [...params, 'i32'];
      results = [];
    }
  }
  return { params, results, paramsIndirect, resultsIndirect, paramsLayout, ...(resultLayout ? { resultLayout } : {}) };
}
