import { describe, it, expect, beforeAll } from 'vitest';
import { WitError } from '../wit/errors.ts';
import { loadWitDir } from '../wit/load.ts';
import { resolvePackage } from '../wit/resolve.ts';
import type { Func, Interface, ResolvedPackage, Type, TypeDef } from '../wit/types.ts';
import {
  alignment,
  discriminantSize,
  discriminantType,
  elemSize,
  fieldOffsets,
  flagsSize,
  flatten,
  flattenFunc,
  join,
  structLayout,
  variantLayout,
  type CoreType,
} from './index.ts';

function resolve(body: string): ResolvedPackage {
  return resolvePackage([{ path: 't.wit', text: `package t:t;\ninterface t {\n${body}\n}` }]);
}

/** The type `type x = <expr>;` declared after `decls`. */
function ty(expr: string, decls = ''): Type {
  const def = resolve(`${decls}\ntype x = ${expr};`).interfaces[0]!.types.find((d) => d.name === 'x')!;
  return { kind: 'ref', def };
}

function def(body: string, name: string): TypeDef {
  const d = resolve(body).interfaces[0]!.types.find((x) => x.name === name);
  if (!d) throw new Error(`no type ${name}`);
  return d;
}

function layout(t: Type): [number, number] {
  return [elemSize(t), alignment(t)];
}

function iface(pkg: ResolvedPackage, name: string): Interface {
  const i = pkg.interfaces.find((x) => x.name === name);
  if (!i) throw new Error(`no interface ${name}`);
  return i;
}

/** A function of an interface, or `resource.member`. */
function func(i: Interface, name: string): Func {
  const [res, member] = name.split('.');
  if (member === undefined) {
    const f = i.functions.find((x) => x.name === name);
    if (!f) throw new Error(`no func ${name}`);
    return f;
  }
  const r = i.types.find((x) => x.name === res);
  if (!r || r.kind.kind !== 'resource') throw new Error(`no resource ${res}`);
  const f = r.kind.functions.find((x) => x.name === member);
  if (!f) throw new Error(`no func ${name}`);
  return f;
}

describe('primitives, strings, lists, handles', () => {
  it('have the spec sizes, alignments and flat types', () => {
    const table: [string, number, number, CoreType[]][] = [
      ['bool', 1, 1, ['i32']],
      ['u8', 1, 1, ['i32']],
      ['s8', 1, 1, ['i32']],
      ['u16', 2, 2, ['i32']],
      ['s16', 2, 2, ['i32']],
      ['u32', 4, 4, ['i32']],
      ['s32', 4, 4, ['i32']],
      ['u64', 8, 8, ['i64']],
      ['s64', 8, 8, ['i64']],
      ['f32', 4, 4, ['f32']],
      ['f64', 8, 8, ['f64']],
      ['char', 4, 4, ['i32']],
      ['string', 8, 4, ['i32', 'i32']],
      ['list<u8>', 8, 4, ['i32', 'i32']],
      ['list<tuple<u64, string>>', 8, 4, ['i32', 'i32']],
    ];
    for (const [expr, size, align, flat] of table) {
      const t = ty(expr);
      expect([expr, elemSize(t), alignment(t), flatten(t)]).toEqual([expr, size, align, flat]);
    }
  });

  it('passes own and borrow handles (also through aliases and bare names) as one i32', () => {
    const decls = 'resource r;\ntype a = r;\ntype b = own<r>;';
    for (const expr of ['r', 'own<r>', 'borrow<r>', 'a', 'b']) {
      expect([expr, ...layout(ty(expr, decls)), flatten(ty(expr, decls))]).toEqual([expr, 4, 4, ['i32']]);
    }
  });

  it('follows aliases and `use` links to the definition', () => {
    const pkg = resolvePackage([
      {
        path: 't.wit',
        text: `package t:t;
          interface a { record pair { x: u8, y: u64 } type p2 = pair; }
          interface b { use a.{p2 as q}; type x = q; f: func(v: x) -> q; }`,
      },
    ]);
    const f = func(iface(pkg, 'b'), 'f');
    expect(layout(f.params[0]!.type)).toEqual([16, 8]);
    expect(layout(f.result!)).toEqual([16, 8]);
    expect(flatten(f.result!)).toEqual(['i32', 'i64']);
  });

  it('refuses a type from a foreign package that is not loaded', () => {
    const pkg = resolvePackage([{ path: 't.wit', text: 'package t:t;\ninterface i { use wasi:io/streams@0.2.0.{input-stream}; type x = list<input-stream>; }' }]);
    const x = pkg.interfaces[0]!.types.find((d) => d.name === 'input-stream')!;
    let err: unknown;
    try {
      elemSize({ kind: 'ref', def: x });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WitError);
    expect((err as WitError).code).toBe('E_WIT_UNSUPPORTED');
    expect((err as WitError).detail).toMatch(/wasi:io\/streams/);
  });
});

describe('records and tuples', () => {
  it('tuple<u8, u32, u8>: fields at 0, 4, 8, size 12, align 4', () => {
    const t = ty('tuple<u8, u32, u8>');
    expect(layout(t)).toEqual([12, 4]);
    expect(fieldOffsets(t).map((f) => [f.name, f.offset, f.size])).toEqual([
      ['0', 0, 1],
      ['1', 4, 4],
      ['2', 8, 1],
    ]);
    expect(flatten(t)).toEqual(['i32', 'i32', 'i32']);
  });

  it('a record with mixed fields: each field at its alignment, size rounded up to the largest', () => {
    const r = def('record r { a: u8, b: u64, c: u16, d: string, e: bool, f: option<u8> }', 'r');
    expect(fieldOffsets(r).map((f) => [f.name, f.offset])).toEqual([
      ['a', 0],
      ['b', 8],
      ['c', 16],
      ['d', 20],
      ['e', 28],
      ['f', 29],
    ]);
    expect(layout({ kind: 'ref', def: r })).toEqual([32, 8]);
    expect(flatten({ kind: 'ref', def: r })).toEqual(['i32', 'i64', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  });

  it('nested records keep their own alignment', () => {
    const t = ty('tuple<u8, inner, u8>', 'record inner { a: u16, b: u8 }');
    expect(layout(t)).toEqual([8, 2]);
    expect(fieldOffsets(t).map((f) => f.offset)).toEqual([0, 2, 6]);
    expect(structLayout([ty('u8'), ty('f64')])).toEqual({ size: 16, align: 8, offsets: [0, 8] });
  });

  it('fieldOffsets refuses what is not a record or tuple', () => {
    expect(() => fieldOffsets(ty('u32'))).toThrow(/not a record/);
  });
});

describe('variants, enums, options, results', () => {
  it('option<u8>: size 2, align 1, payload at 1', () => {
    const t = ty('option<u8>');
    expect(layout(t)).toEqual([2, 1]);
    expect(variantLayout(t)).toMatchObject({ discriminant: 'u8', discriminantSize: 1, payloadOffset: 1, payloadSize: 1 });
    expect(flatten(t)).toEqual(['i32', 'i32']);
  });

  it('option<u64>: size 16, align 8, payload at 8', () => {
    const t = ty('option<u64>');
    expect(layout(t)).toEqual([16, 8]);
    expect(variantLayout(t).payloadOffset).toBe(8);
    expect(flatten(t)).toEqual(['i32', 'i64']);
  });

  it('result<u32, string>: u8 discriminant at 0, payload at 4, size 12, align 4', () => {
    const t = ty('result<u32, string>');
    expect(layout(t)).toEqual([12, 4]);
    expect(variantLayout(t)).toMatchObject({ discriminant: 'u8', payloadOffset: 4, payloadSize: 8, size: 12, align: 4 });
    expect(variantLayout(t).cases.map((c) => c.name)).toEqual(['ok', 'error']);
    expect(flatten(t)).toEqual(['i32', 'i32', 'i32']);
  });

  it('results without payloads are just a discriminant', () => {
    for (const expr of ['result', 'result<_, u8>', 'result<u8>']) {
      const t = ty(expr);
      expect([expr, elemSize(t), alignment(t)]).toEqual([expr, expr === 'result' ? 1 : 2, 1]);
    }
    expect(flatten(ty('result'))).toEqual(['i32']);
    expect(flatten(ty('result<_, u8>'))).toEqual(['i32', 'i32']);
  });

  it('joins case payloads per flat position (i32+f32=i32, anything else mixed = i64)', () => {
    expect(flatten(ty('v', 'variant v { a(f32), b(s64) }'))).toEqual(['i32', 'i64']);
    expect(flatten(ty('v', 'variant v { a(f32), b(u32) }'))).toEqual(['i32', 'i32']);
    expect(flatten(ty('v', 'variant v { a(f32), b(f64) }'))).toEqual(['i32', 'i64']);
    expect(flatten(ty('v', 'variant v { a(u32), b(f64) }'))).toEqual(['i32', 'i64']);
    expect(flatten(ty('v', 'variant v { a(f32), b, c(f32) }'))).toEqual(['i32', 'f32']);
    expect(flatten(ty('v', 'variant v { a(tuple<f32, f32>), b(u64), c }'))).toEqual(['i32', 'i64', 'f32']);
    expect(flatten(ty('v', 'variant v { a, b }'))).toEqual(['i32']);
    expect([join('i32', 'f32'), join('f32', 'i32'), join('i32', 'i64'), join('f32', 'f64'), join('f64', 'f64')]).toEqual([
      'i32',
      'i32',
      'i64',
      'i64',
      'f64',
    ]);
  });

  it('a variant with f32 and i64 payloads: size 16, align 8', () => {
    const t = ty('v', 'variant v { a(f32), b(s64) }');
    expect(layout(t)).toEqual([16, 8]);
    expect(variantLayout(t).payloadOffset).toBe(8);
  });

  it('enums: 256 cases take a u8 discriminant, 257 a u16', () => {
    const cases = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`).join(', ');
    const e256 = ty('e', `enum e { ${cases(256)} }`);
    const e257 = ty('e', `enum e { ${cases(257)} }`);
    expect([...layout(e256), variantLayout(e256).discriminant]).toEqual([1, 1, 'u8']);
    expect([...layout(e257), variantLayout(e257).discriminant]).toEqual([2, 2, 'u16']);
    expect(flatten(e257)).toEqual(['i32']);
    expect([discriminantType(1), discriminantType(256), discriminantType(257)]).toEqual(['u8', 'u8', 'u16']);
    expect([discriminantType(65536), discriminantType(65537), discriminantType(2 ** 32 - 1)]).toEqual(['u16', 'u32', 'u32']);
    expect(discriminantSize(70000)).toBe(4);
    expect(() => discriminantType(0)).toThrow(RangeError);
    expect(() => discriminantType(2 ** 32)).toThrow(RangeError);
  });

  it('a u16 discriminant before a u8 payload: payload at 2', () => {
    const cases = Array.from({ length: 300 }, (_, i) => `c${i}(u8)`).join(', ');
    const t = ty('v', `variant v { ${cases} }`);
    expect(variantLayout(t)).toMatchObject({ discriminant: 'u16', payloadOffset: 2, size: 4, align: 2 });
  });

  it('sql value (s64, f64, string, list): [i32, i64, i32], size 16, align 8', () => {
    const t = ty('value', 'variant value { null, integer(s64), real(f64), text(string), blob(list<u8>) }');
    expect(flatten(t)).toEqual(['i32', 'i64', 'i32']);
    expect(layout(t)).toEqual([16, 8]);
  });

  it('variantLayout refuses what is not a variant', () => {
    expect(() => variantLayout(ty('string'))).toThrow(/not a variant/);
  });
});

describe('flags', () => {
  const flags = (n: number) => ty('f', `flags f { ${Array.from({ length: n }, (_, i) => `flag${i}`).join(', ')} }`);

  it('8 flags: 1 byte; 9: 2 bytes; 16: 2; 17 and 32: 4; 33: two u32', () => {
    expect([...layout(flags(1)), flatten(flags(1))]).toEqual([1, 1, ['i32']]);
    expect([...layout(flags(8)), flatten(flags(8))]).toEqual([1, 1, ['i32']]);
    expect([...layout(flags(9)), flatten(flags(9))]).toEqual([2, 2, ['i32']]);
    expect(layout(flags(16))).toEqual([2, 2]);
    expect(layout(flags(17))).toEqual([4, 4]);
    expect([...layout(flags(32)), flatten(flags(32))]).toEqual([4, 4, ['i32']]);
    expect([...layout(flags(33)), flatten(flags(33))]).toEqual([8, 4, ['i32', 'i32']]);
    expect([...layout(flags(65)), flatten(flags(65))]).toEqual([12, 4, ['i32', 'i32', 'i32']]);
  });

  it('no flags take no bytes (the older spec rule)', () => {
    expect(flagsSize(0)).toBe(0);
  });
});

describe('flattenFunc', () => {
  const sig = (params: string, result = '', decls = '') => {
    const pkg = resolve(`${decls}\nf: func(${params})${result ? ` -> ${result}` : ''};`);
    return pkg.interfaces[0]!.functions.find((f) => f.name === 'f')!;
  };
  const nParams = (n: number) => Array.from({ length: n }, (_, i) => `p${i}: u32`).join(', ');

  it('16 flat params stay flat; 17 go through one i32 pointer to a tuple', () => {
    const f16 = flattenFunc(sig(nParams(16)), 'lift');
    expect([f16.params.length, f16.paramsIndirect]).toEqual([16, false]);
    const f17 = flattenFunc(sig(nParams(17)), 'lift');
    expect(f17).toMatchObject({ params: ['i32'], results: [], paramsIndirect: true, resultsIndirect: false });
    expect(f17.paramsLayout.size).toBe(68);
    expect(f17.paramsLayout.offsets[16]).toBe(64);
    // Counted in flat values, not parameters: 8 strings are 16 values, 9 are 18.
    expect(flattenFunc(sig(Array.from({ length: 9 }, (_, i) => `str${i}: string`).join(', ')), 'lower').paramsIndirect).toBe(true);
    expect(flattenFunc(sig(Array.from({ length: 8 }, (_, i) => `str${i}: string`).join(', ')), 'lower').paramsIndirect).toBe(false);
  });

  it('one flat result is returned; more go through memory: returned pointer (lift) or out-pointer param (lower)', () => {
    expect(flattenFunc(sig('a: f64', 'f32'), 'lift')).toMatchObject({ params: ['f64'], results: ['f32'], resultsIndirect: false });
    expect(flattenFunc(sig('', 'option<u8>'), 'lift')).toMatchObject({ params: [], results: ['i32'], resultsIndirect: true });
    expect(flattenFunc(sig('', 'option<u8>'), 'lower')).toMatchObject({ params: ['i32'], results: [], resultsIndirect: true });
    expect(flattenFunc(sig('', 'option<u8>'), 'lower').resultLayout).toEqual({ size: 2, align: 1 });
    expect(flattenFunc(sig('a: u8'), 'lower')).toMatchObject({ params: ['i32'], results: [], resultsIndirect: false });
    expect(flattenFunc(sig('a: u8'), 'lower').resultLayout).toBeUndefined();
    // Both at once, for an import: the params pointer, then the results pointer.
    expect(flattenFunc(sig(nParams(17), 'string'), 'lower')).toMatchObject({ params: ['i32', 'i32'], results: [] });
    expect(flattenFunc(sig(nParams(17), 'string'), 'lift')).toMatchObject({ params: ['i32'], results: ['i32'] });
  });

  it('resource members: methods take self first, constructors return the handle, statics neither', () => {
    const i = resolve('resource r { constructor(a: u64); m: func(x: f32) -> u8; s: static func() -> r; }\nresource q { constructor() -> result<q, string>; }').interfaces[0]!;
    expect(flattenFunc(func(i, 'r.constructor'), 'lower')).toMatchObject({ params: ['i64'], results: ['i32'], resultsIndirect: false });
    expect(flattenFunc(func(i, 'r.constructor'), 'lift').resultLayout).toEqual({ size: 4, align: 4 });
    expect(flattenFunc(func(i, 'r.m'), 'lower')).toMatchObject({ params: ['i32', 'f32'], results: ['i32'] });
    expect(flattenFunc(func(i, 'r.m'), 'lower').paramsLayout).toEqual({ size: 8, align: 4, offsets: [0, 4] });
    expect(flattenFunc(func(i, 'r.s'), 'lower')).toMatchObject({ params: [], results: ['i32'] });
    expect(flattenFunc(func(i, 'q.constructor'), 'lower')).toMatchObject({ params: ['i32'], results: [], resultsIndirect: true });
  });
});

describe('the platform contract (wit/)', () => {
  let pkg: ResolvedPackage;
  beforeAll(async () => {
    pkg = await loadWitDir('wit');
  });

  it('kv namespace.get: self + string flat, result<option<entry>, error> indirect', () => {
    const get = func(iface(pkg, 'kv'), 'namespace.get');
    expect(get.kind).toBe('method');
    expect(flattenFunc(get, 'lower')).toMatchObject({
      params: ['i32', 'i32', 'i32', 'i32'],
      results: [],
      paramsIndirect: false,
      resultsIndirect: true,
    });
    expect(flattenFunc(get, 'lift')).toMatchObject({ params: ['i32', 'i32', 'i32'], results: ['i32'] });
    // entry { list<u8>, option<string>, option<u64> } = 40/8 (the u64 option aligned to 24); option<entry> = 48/8;
    // error (u64 payload) = 16/8.
    const t = get.result!;
    expect(layout(t)).toEqual([56, 8]);
    expect(variantLayout(t).payloadOffset).toBe(8);
    const entry = iface(pkg, 'kv').types.find((d) => d.name === 'entry')!;
    expect(fieldOffsets(entry).map((f) => [f.name, f.offset])).toEqual([
      ['value', 0],
      ['metadata', 8],
      ['expiration', 24],
    ]);
    expect(flattenFunc(get, 'lower').resultLayout).toEqual({ size: 56, align: 8 });
    // option<entry> = [i32, i32, i32, i32, i32, i32, i32, i64]; error = [i32, i64 (u64 joined with i32), i32].
    expect(flatten(t)).toEqual(['i32', 'i32', 'i64', 'i32', 'i32', 'i32', 'i32', 'i32', 'i64']);
  });

  it('kv namespace.open (static): no self; result<namespace, error> indirect', () => {
    const open = func(iface(pkg, 'kv'), 'namespace.open');
    expect(flattenFunc(open, 'lower')).toMatchObject({ params: ['i32', 'i32', 'i32'], results: [], resultsIndirect: true });
    // The handle [i32] joined with error [i32, i64, i32], after the result's own discriminant.
    expect(flatten(open.result!)).toEqual(['i32', 'i32', 'i64', 'i32']);
  });

  it('http-types request: body option<incoming-body> (own handle) at 24, size 32', () => {
    const request = iface(pkg, 'http-types').types.find((d) => d.name === 'request')!;
    expect(fieldOffsets(request).map((f) => [f.name, f.offset, f.size, f.align])).toEqual([
      ['method', 0, 8, 4],
      ['url', 8, 8, 4],
      ['headers', 16, 8, 4],
      ['body', 24, 8, 4],
    ]);
    const t: Type = { kind: 'ref', def: request };
    expect(layout(t)).toEqual([32, 4]);
    expect(variantLayout(fieldOffsets(request)[3]!.type).payloadOffset).toBe(4);
    expect(flatten(t)).toEqual(Array(8).fill('i32'));
    // The handler: 8 flat params; the response (u16, list, variant) comes back through a pointer.
    const handle = func(iface(pkg, 'incoming-handler'), 'handle');
    expect(flattenFunc(handle, 'lift')).toMatchObject({ params: Array(8).fill('i32'), results: ['i32'], resultsIndirect: true });
    expect(flattenFunc(handle, 'lift').resultLayout).toEqual({ size: 24, align: 4 });
  });

  it('blob multipart-upload.key (method returning a string): self, then the out-pointer for imports', () => {
    const key = func(iface(pkg, 'blob'), 'multipart-upload.key');
    expect(flattenFunc(key, 'lower')).toMatchObject({ params: ['i32', 'i32'], results: [] });
  });

  it('log write: enum + string, nothing returned', () => {
    const write = func(iface(pkg, 'log'), 'write');
    expect(flattenFunc(write, 'lower')).toMatchObject({ params: ['i32', 'i32', 'i32'], results: [], resultsIndirect: false });
  });

  it('every type used by every function has a size that is a multiple of its alignment', () => {
    const funcs: Func[] = [];
    const collect = (i: Interface) => {
      funcs.push(...i.functions);
      for (const d of i.types) if (d.kind.kind === 'resource') funcs.push(...d.kind.functions);
    };
    pkg.interfaces.forEach(collect);
    for (const w of pkg.worlds) {
      for (const item of [...w.imports, ...w.exports]) {
        if (item.kind === 'inline-interface') collect(item.interface);
        if (item.kind === 'func') funcs.push(item.func);
      }
    }
    expect(funcs.length).toBeGreaterThan(30);

    const seen = new Set<Type>();
    const visit = (t: Type): void => {
      if (seen.has(t)) return;
      seen.add(t);
      const size = elemSize(t);
      const align = alignment(t);
      expect([1, 2, 4, 8]).toContain(align);
      expect(size % align).toBe(0);
      expect(flatten(t).length).toBeGreaterThan(0);
      // Children.
      switch (t.kind) {
        case 'list':
          return visit(t.element);
        case 'option':
          return visit(t.some);
        case 'result':
          if (t.ok) visit(t.ok);
          if (t.err) visit(t.err);
          return;
        case 'tuple':
          return t.types.forEach(visit);
        case 'ref': {
          const fields = (() => {
            try {
              return fieldOffsets(t);
            } catch {
              return undefined;
            }
          })();
          if (fields) {
            let end = 0;
            for (const f of fields) {
              expect(f.offset % f.align).toBe(0);
              expect(f.offset).toBeGreaterThanOrEqual(end);
              end = f.offset + f.size;
              visit(f.type);
            }
            expect(end).toBeLessThanOrEqual(size);
          }
          const k = t.def.kind;
          if (k.kind === 'variant') for (const c of k.cases) if (c.type) visit(c.type);
          if (k.kind === 'alias') visit(k.type);
          return;
        }
        default:
          return;
      }
    };
    let checked = 0;
    for (const f of funcs) {
      for (const p of f.params) visit(p.type);
      if (f.result) visit(f.result);
      for (const ctx of ['lift', 'lower'] as const) {
        const s = flattenFunc(f, ctx);
        expect(s.params.length).toBeLessThanOrEqual(17);
        expect(s.results.length).toBeLessThanOrEqual(1);
        checked++;
      }
    }
    expect(checked).toBe(funcs.length * 2);
    expect(seen.size).toBeGreaterThan(50);
  });
});
