import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { WitError } from './errors.ts';
import { loadWitDir } from './load.ts';
import { definitionOf, interfaceId, isResource, resolvePackage, type WitSource } from './resolve.ts';
import type { Interface, ResolvedPackage, Type, TypeDef, World } from './types.ts';

function resolve(...texts: string[]): ResolvedPackage {
  return resolvePackage(texts.map((text, i) => ({ path: `f${i}.wit`, text })));
}

function resolveError(...files: (string | WitSource)[]): WitError {
  try {
    resolvePackage(files.map((f, i) => (typeof f === 'string' ? { path: `f${i}.wit`, text: f } : f)));
  } catch (e) {
    if (e instanceof WitError) return e;
    throw e;
  }
  throw new Error('expected a WitError');
}

function iface(pkg: ResolvedPackage, name: string): Interface {
  const i = pkg.interfaces.find((x) => x.name === name);
  if (!i) throw new Error(`no interface ${name}`);
  return i;
}

function world(pkg: ResolvedPackage, name: string): World {
  const w = pkg.worlds.find((x) => x.name === name);
  if (!w) throw new Error(`no world ${name}`);
  return w;
}

function typeDef(i: Interface | World, name: string): TypeDef {
  const t = i.types.find((x) => x.name === name);
  if (!t) throw new Error(`no type ${name}`);
  return t;
}

function paramType(i: Interface, func: string, index = 0): Type {
  const f = i.functions.find((x) => x.name === func);
  if (!f) throw new Error(`no func ${func}`);
  return f.params[index]!.type;
}

describe('resolvePackage: packages and files', () => {
  it('takes the package id from the one file that declares it', () => {
    const pkg = resolve('interface a {}', 'package edge:platform@0.1.0;\ninterface b {}');
    expect(pkg.id).toEqual({ namespace: 'edge', name: 'platform', version: '0.1.0' });
    expect(pkg.interfaces.map((i) => i.name)).toEqual(['a', 'b']);
  });

  it('accepts several files declaring the same package, rejects disagreeing ones', () => {
    expect(resolve('package a:b@1.0.0;', 'package a:b@1.0.0;').id.name).toBe('b');
    const e = resolveError('package a:b@1.0.0;', 'package a:b@2.0.0;');
    expect([e.code, e.file, e.line, e.column]).toEqual(['E_WIT_PACKAGE', 'f1.wit', 1, 1]);
    expect(e.detail).toMatch(/package 'a:b@2.0.0' conflicts with 'package a:b@1.0.0' at f0.wit:1:1/);
  });

  it('requires one package declaration', () => {
    const e = resolveError('interface a {}');
    expect([e.code, e.file]).toEqual(['E_WIT_PACKAGE', 'f0.wit']);
  });

  it('reports duplicate interfaces and worlds across files with both positions', () => {
    const e = resolveError('package a:b;\ninterface kv {}', '\n\nworld kv {}');
    expect([e.code, e.file, e.line, e.column]).toEqual(['E_WIT_DUPLICATE', 'f1.wit', 3, 1]);
    expect(e.detail).toBe("world 'kv' is already defined in package a:b (first at f0.wit:2:1)");
  });
});

describe('resolvePackage: types and use', () => {
  it('resolves type references to their definitions, in declaration order, forward references included', () => {
    const pkg = resolve(`package a:b;
      interface i {
        type first = second;
        record second { x: u32, y: list<third> }
        enum third { a, b }
        f: func(s: second) -> option<first>;
      }`);
    const i = iface(pkg, 'i');
    expect(i.types.map((t) => `${t.kind.kind} ${t.name}`)).toEqual(['alias first', 'record second', 'enum third']);
    const first = typeDef(i, 'first');
    expect(first.kind).toEqual({ kind: 'alias', type: { kind: 'ref', def: typeDef(i, 'second') } });
    const second = typeDef(i, 'second');
    expect(second.kind.kind === 'record' && second.kind.fields[1]!.type).toEqual({ kind: 'list', element: { kind: 'ref', def: typeDef(i, 'third') } });
    expect(paramType(i, 'f')).toEqual({ kind: 'ref', def: second });
    expect(i.functions[0]!.result).toEqual({ kind: 'option', some: { kind: 'ref', def: first } });
    expect(second.owner).toEqual({ kind: 'interface', name: 'i' });
  });

  it('resolves use across files, with renames, to the definition', () => {
    const pkg = resolve(
      'package a:b;\ninterface handler {\n  use types.{request, response as resp};\n  handle: func(r: request) -> resp;\n}',
      'interface types {\n  record request { uri: string }\n  record response { status: u16 }\n}',
    );
    const handler = iface(pkg, 'handler');
    const types = iface(pkg, 'types');
    const req = typeDef(handler, 'request');
    expect(req.kind).toEqual({ kind: 'use', from: { kind: 'local', interface: types }, name: 'request', target: typeDef(types, 'request') });
    expect(definitionOf(typeDef(handler, 'resp'))).toBe(typeDef(types, 'response'));
    expect(paramType(handler, 'handle')).toEqual({ kind: 'ref', def: req });
  });

  it('follows chains of use through several interfaces', () => {
    const pkg = resolve('package a:b;\ninterface a { record r { x: u8 } }\ninterface b { use a.{r}; }\ninterface c { use b.{r as s}; f: func(x: s); }');
    const s = typeDef(iface(pkg, 'c'), 's');
    expect(definitionOf(s)).toBe(typeDef(iface(pkg, 'a'), 'r'));
  });

  it('keeps uses of foreign packages as external references', () => {
    const pkg = resolve('package a:b;\ninterface i {\n  use wasi:io/streams@0.2.0.{input-stream};\n  read: func(s: borrow<input-stream>) -> list<u8>;\n  own-it: func(s: input-stream);\n}');
    const i = iface(pkg, 'i');
    const stream = typeDef(i, 'input-stream');
    expect(stream.kind).toEqual({ kind: 'use', from: { kind: 'external', package: { namespace: 'wasi', name: 'io', version: '0.2.0' }, interface: 'streams' }, name: 'input-stream' });
    expect(isResource(stream)).toBe('unknown');
    expect(paramType(i, 'read')).toEqual({ kind: 'borrow', def: stream });
    // Unknown whether a resource: left as a plain reference.
    expect(paramType(i, 'own-it')).toEqual({ kind: 'ref', def: stream });
  });

  it('resolves a top-level use alias, local or foreign', () => {
    const pkg = resolve('package a:b;\nuse wasi:http/types@0.2.0 as http;\nuse base as b;\ninterface i {\n  use http.{request};\n  use b.{t};\n}\ninterface base { type t = u8; }');
    const i = iface(pkg, 'i');
    expect(typeDef(i, 'request').kind).toMatchObject({ from: { kind: 'external', package: { namespace: 'wasi', name: 'http' }, interface: 'types' } });
    expect(definitionOf(typeDef(i, 't'))).toBe(typeDef(iface(pkg, 'base'), 't'));
  });

  it('treats a path naming the package itself as local', () => {
    const pkg = resolve('package a:b@1.0.0;\ninterface x { type t = u8; }\ninterface y { use a:b/x@1.0.0.{t}; }');
    expect(definitionOf(typeDef(iface(pkg, 'y'), 't'))).toBe(typeDef(iface(pkg, 'x'), 't'));
  });

  it('reports unknown types, with the scope, at the name', () => {
    const e = resolveError('package a:b;\ninterface kv {\n  get: func(k: strin) -> u8;\n}');
    expect([e.code, e.line, e.column, e.detail]).toEqual(['E_WIT_UNKNOWN_TYPE', 3, 16, "unknown type 'strin' in interface 'kv'"]);
    expect(resolveError('package a:b;\ninterface i { f: func(); type t = f; }').detail).toBe("'f' is a function in interface 'i', not a type");
    expect(resolveError('package a:b;\ninterface i { type t = list<option<nope>>; }').detail).toBe("unknown type 'nope' in interface 'i'");
  });

  it('reports unknown names in use and unknown interfaces', () => {
    const e = resolveError('package a:b;\ninterface i {\n  use types.{request, nope};\n}\ninterface types { record request { x: u8 } }');
    expect([e.code, e.line, e.column, e.detail]).toEqual(['E_WIT_UNKNOWN_TYPE', 3, 23, "interface 'types' has no type named 'nope'"]);
    const u = resolveError('package a:b;\ninterface i { use typez.{x}; }');
    expect([u.code, u.detail]).toEqual(['E_WIT_UNKNOWN_INTERFACE', "unknown interface 'typez' in package a:b"]);
    expect(resolveError('package a:b;\ninterface i { use w.{x}; }\nworld w {}').detail).toBe("'w' is a world, not an interface");
    expect(resolveError('package a:b;\ninterface i { f: func(); }\ninterface j { use i.{f}; }').detail).toBe("'f' is a function of interface 'i', not a type");
  });

  it('reports duplicate names in every scope, case-insensitively', () => {
    const cases: [string, string][] = [
      ['interface i { type t = u8; record t { x: u8 } }', "'t' is already defined in interface 'i'"],
      ['interface i { f: func(); f: func(); }', "'f' is already defined in interface 'i'"],
      ['interface i { type XML = u8; type xml = u8; }', "'xml' is already defined in interface 'i'"],
      ['interface i { use j.{t}; type t = u8; }\ninterface j { type t = u8; }', "'t' is already defined in interface 'i'"],
      ['interface i { record r { a: u8, a: u16 } }', "field 'a' is already defined in 'r'"],
      ['interface i { variant v { a, a(u8) } }', "case 'a' is already defined in 'v'"],
      ['interface i { enum e { a, a } }', "case 'a' is already defined in 'e'"],
      ['interface i { flags f { a, a } }', "flag 'a' is already defined in 'f'"],
      ['interface i { f: func(a: u8, a: u8); }', "parameter 'a' is already defined in function 'f'"],
      ['interface i { resource r { m: func(); m: static func(); } }', "function 'm' is already defined in 'r'"],
      ['interface i { resource r { constructor(); constructor(x: u8); } }', "function 'constructor' is already defined in 'r'"],
    ];
    for (const [text, detail] of cases) {
      const e = resolveError(`package a:b;\n${text}`);
      expect(e.code).toBe('E_WIT_DUPLICATE');
      expect(e.detail.replace(/ \(first at .*\)$/, '')).toBe(detail);
    }
  });

  it('reports recursive types and use cycles between interfaces', () => {
    const self = resolveError('package a:b;\ninterface i {\n  type foo = foo;\n}');
    expect([self.code, self.line, self.column, self.detail]).toEqual(['E_WIT_CYCLE', 3, 3, "type 'foo' refers to itself"]);
    const mutual = resolveError('package a:b;\ninterface i { record bar1 { a: bar2 } record bar2 { a: list<bar1> } }');
    expect([mutual.code, mutual.detail]).toEqual(['E_WIT_CYCLE', 'types refer to each other in a cycle: bar1 -> bar2 -> bar1']);
    const ifaces = resolveError('package a:b;\ninterface x { use y.{t}; type u = u8; }\ninterface y { use x.{u}; type t = u8; }');
    expect([ifaces.code, ifaces.detail]).toEqual(['E_WIT_CYCLE', 'interfaces use each other in a cycle: x -> y -> x']);
    // A resource whose methods mention a record holding the resource is not a cycle.
    expect(() => resolve('package a:b;\ninterface i { resource r { get: func() -> holder; } record holder { r: r } }')).not.toThrow();
  });
});

describe('resolvePackage: resources and handles', () => {
  const pkg = resolve(`package a:b;
    interface types {
      resource blob {
        constructor(init: list<u8>);
        write: func(bytes: list<u8>);
        merge: static func(lhs: borrow<blob>, rhs: own<blob>) -> blob;
      }
      resource fallible { constructor() -> result<fallible, string>; }
    }
    interface user {
      use types.{blob as b};
      type alias-of-blob = b;
      take: func(x: b, y: alias-of-blob, z: borrow<b>);
    }`);
  const types = iface(pkg, 'types');
  const blob = typeDef(types, 'blob');

  it('keeps methods, statics and the constructor on the resource, in order', () => {
    expect(blob.kind.kind).toBe('resource');
    if (blob.kind.kind !== 'resource') return;
    expect(blob.kind.functions.map((f) => `${f.kind} ${f.name}`)).toEqual(['constructor constructor', 'method write', 'static merge']);
    const merge = blob.kind.functions[2]!;
    expect(merge.params.map((p) => p.type)).toEqual([{ kind: 'borrow', def: blob }, { kind: 'own', def: blob }]);
    expect(merge.result).toEqual({ kind: 'own', def: blob });
    expect(types.functions).toEqual([]);
  });

  it('makes bare resource names owned handles, through use and aliases', () => {
    const user = iface(pkg, 'user');
    const b = typeDef(user, 'b');
    expect(isResource(b)).toBe(true);
    expect(user.functions[0]!.params.map((p) => p.type)).toEqual([
      { kind: 'own', def: b },
      { kind: 'own', def: typeDef(user, 'alias-of-blob') },
      { kind: 'borrow', def: b },
    ]);
  });

  it('rejects borrow or own of a non-resource, and borrowed results', () => {
    const e = resolveError('package a:b;\ninterface i {\n  record r { x: u8 }\n  f: func(x: borrow<r>);\n}');
    expect([e.code, e.line, e.column, e.detail]).toEqual(['E_WIT_INVALID', 4, 14, "borrow<r>: 'r' is a record, not a resource"]);
    expect(resolveError('package a:b;\ninterface i { type t = u8; f: func(x: own<t>); }').detail).toBe("own<t>: 't' is a type alias, not a resource");
    const res = resolveError('package a:b;\ninterface i { resource r; f: func() -> option<borrow<r>>; }');
    expect([res.code, res.detail]).toEqual(['E_WIT_INVALID', "function 'f' returns a borrowed handle (borrow<r>); results can only own handles"]);
  });

  it('checks what a fallible constructor returns', () => {
    const e = resolveError('package a:b;\ninterface i {\n  resource r {\n    constructor() -> result<string>;\n  }\n}');
    expect([e.code, e.line, e.column]).toEqual(['E_WIT_INVALID', 4, 5]);
    expect(e.detail).toBe("the constructor of 'r' may only return result<r> or result<r, E>");
  });
});

describe('resolvePackage: worlds', () => {
  it('resolves imports and exports to interfaces, external interfaces, inline interfaces and functions', () => {
    const pkg = resolve(`package edge:platform@0.1.0;
      interface kv { get: func(k: string) -> option<string>; }
      interface types { record req { uri: string } }
      world w {
        import kv;
        import wasi:io/streams@0.2.0;
        import log: interface { use types.{req}; write: func(msg: string, r: req); }
        export run: func(args: list<string>) -> u32;
        export kv;
      }`);
    const w = world(pkg, 'w');
    expect(w.imports).toMatchObject([
      { kind: 'interface', ref: { kind: 'local', interface: iface(pkg, 'kv') } },
      { kind: 'interface', ref: { kind: 'external', package: { namespace: 'wasi', name: 'io', version: '0.2.0' }, interface: 'streams' } },
      { kind: 'inline-interface', name: 'log', interface: { name: 'log', world: 'w' } },
    ]);
    expect(w.exports.map((e) => e.kind)).toEqual(['func', 'interface']);
    const log = w.imports[2]!;
    if (log.kind !== 'inline-interface') throw new Error('no log');
    const req = typeDef(log.interface, 'req');
    expect(req.owner).toEqual({ kind: 'interface', name: 'log', world: 'w' });
    expect(definitionOf(req)).toBe(typeDef(iface(pkg, 'types'), 'req'));
    const ids = w.imports.flatMap((i) => (i.kind === 'interface' ? [interfaceId(i.ref, pkg.id)] : []));
    expect(ids).toEqual(['edge:platform/kv@0.1.0', 'wasi:io/streams@0.2.0']);
  });

  it('resolves world-level types used by world functions', () => {
    const pkg = resolve('package a:b;\ninterface t { record r { x: u8 } }\nworld w { use t.{r}; type n = u32; export f: func(x: r) -> n; }');
    const w = world(pkg, 'w');
    expect(w.types.map((t) => t.name)).toEqual(['r', 'n']);
    const f = w.exports[0]!;
    expect(f.kind === 'func' && f.func.result).toEqual({ kind: 'ref', def: typeDef(w, 'n') });
    expect(typeDef(w, 'n').owner).toEqual({ kind: 'world', name: 'w' });
  });

  it('flattens includes, de-duplicating interfaces and applying with-renames', () => {
    const pkg = resolve(`package a:b;
      interface x {} interface y {} interface z {}
      world one { import x; import y; import f: func(); export z; }
      world two { import x; import f: func(); }
      world both { include one; include two with { f as g }; export h: func(); }`);
    const both = world(pkg, 'both');
    expect(both.imports.map((i) => (i.kind === 'interface' && i.ref.kind === 'local' ? i.ref.interface.name : i.kind === 'interface' ? '?' : i.name))).toEqual(['x', 'y', 'f', 'g']);
    const g = both.imports[3]!;
    expect(g.kind === 'func' && g.func.name).toBe('g');
    expect(both.exports.map((e) => (e.kind === 'interface' && e.ref.kind === 'local' ? e.ref.interface.name : e.kind === 'interface' ? '?' : e.name))).toEqual(['z', 'h']);
  });

  it('includes worlds declared later and in other files, and keeps foreign includes', () => {
    const pkg = resolve('package a:b;\nworld top { include base; include wasi:cli/imports@0.2.0 with { a as b }; }', 'world base { import k: func(); }');
    const top = world(pkg, 'top');
    expect(top.imports.map((i) => i.kind === 'func' && i.name)).toEqual(['k']);
    expect(top.externalIncludes).toMatchObject([{ package: { namespace: 'wasi', name: 'cli', version: '0.2.0' }, world: 'imports', renames: [{ from: 'a', to: 'b' }] }]);
  });

  it('reports world errors: duplicates, conflicting includes, include cycles, unknown worlds and interfaces', () => {
    const dup = resolveError('package a:b;\ninterface kv {}\nworld w {\n  import kv;\n  import kv;\n}');
    expect([dup.code, dup.line, dup.column, dup.detail.replace(/ \(first.*/, '')]).toEqual(['E_WIT_DUPLICATE', 5, 3, "world 'w' already imports 'a:b/kv'"]);
    const plain = resolveError('package a:b;\nworld one { import f: func(); }\nworld w { import f: func(); include one; }');
    expect(plain.code).toBe('E_WIT_DUPLICATE');
    expect(plain.detail).toMatch(/^including world 'one' brings import 'f', which world 'w' already has; rename it with 'with \{ f as other-name \}'/);
    expect(resolveError('package a:b;\nworld a { include b; }\nworld b { include a; }').code).toBe('E_WIT_CYCLE');
    const unknown = resolveError('package a:b;\nworld w {\n  include nope;\n}');
    expect([unknown.code, unknown.line, unknown.column]).toEqual(['E_WIT_UNKNOWN_WORLD', 3, 11]);
    expect(resolveError('package a:b;\ninterface i {}\nworld w { include i; }').detail).toBe("'i' is an interface, not a world");
    const imp = resolveError('package a:b;\nworld w {\n  export handler;\n}');
    expect([imp.code, imp.line, imp.column, imp.detail]).toEqual(['E_WIT_UNKNOWN_INTERFACE', 3, 10, "unknown interface 'handler' in package a:b"]);
    expect(resolveError('package a:b;\nworld one { import f: func(); }\nworld w { include one with { nope as x }; }').detail).toBe("world 'one' has no plain-named import or export 'nope' to rename");
    expect(resolveError('package a:b;\nworld w { type f = u8; import f: func(); }').code).toBe('E_WIT_DUPLICATE');
    expect(resolveError('package a:b;\nworld one { import i: interface {} }\nworld w { include one with { i as j }; }').code).toBe('E_WIT_UNSUPPORTED');
  });

  it('merges an interface imported both directly and through an include', () => {
    const pkg = resolve('package a:b;\ninterface kv {}\nworld base { import kv; }\nworld w { include base; import kv; export kv; }');
    expect([world(pkg, 'w').imports.length, world(pkg, 'w').exports.length]).toEqual([1, 1]);
  });

  it('allows importing and exporting the same interface', () => {
    const pkg = resolve('package a:b;\ninterface p {}\nworld layer { import p; export p; }');
    expect([world(pkg, 'layer').imports.length, world(pkg, 'layer').exports.length]).toEqual([1, 1]);
  });

  it('reports a top-level use clashing with a package item', () => {
    const e = resolveError('package a:b;\nuse wasi:http/types;\ninterface types {}');
    expect([e.code, e.line]).toEqual(['E_WIT_DUPLICATE', 2]);
  });
});

describe('loadWitDir', () => {
  it('reads every .wit file of a directory in name order, ignoring other files and deps/', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wit-'));
    try {
      await writeFile(join(dir, 'b-world.wit'), 'package edge:platform@0.1.0;\nworld handler { import kv; }\n');
      await writeFile(join(dir, 'a-kv.wit'), 'interface kv { get: func(k: string) -> option<list<u8>>; }\n');
      await writeFile(join(dir, 'notes.md'), 'not wit');
      await mkdir(join(dir, 'deps'));
      await writeFile(join(dir, 'deps', 'x.wit'), 'this is not parsed');
      const pkg = await loadWitDir(dir);
      expect(pkg.id).toEqual({ namespace: 'edge', name: 'platform', version: '0.1.0' });
      expect(pkg.interfaces.map((i) => [i.name, i.span.file])).toEqual([['kv', join(dir, 'a-kv.wit')]]);
      expect(pkg.worlds[0]!.imports).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports errors with the real file path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wit-'));
    try {
      await writeFile(join(dir, 'kv.wit'), 'package a:b;\ninterface kv {\n  get: func() -> list<u8;\n}\n');
      await expect(loadWitDir(dir)).rejects.toMatchObject({ code: 'E_WIT_SYNTAX', file: join(dir, 'kv.wit'), line: 3, column: 25 });
      await rm(join(dir, 'kv.wit'));
      await expect(loadWitDir(dir)).rejects.toMatchObject({ code: 'E_WIT_PACKAGE' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
