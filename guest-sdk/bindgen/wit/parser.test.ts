import { describe, it, expect } from 'vitest';
import { WitError } from './errors.ts';
import { parseWit } from './parser.ts';
import type { InterfaceAst, TypeExprAst, WorldAst } from './types.ts';

function parseError(text: string, path = 't.wit'): WitError {
  try {
    parseWit(path, text);
  } catch (e) {
    if (e instanceof WitError) return e;
    throw e;
  }
  throw new Error('expected a WitError');
}

function iface(body: string): InterfaceAst {
  const item = parseWit('t.wit', `package a:b;\ninterface i {\n${body}\n}`).items[0];
  if (item?.kind !== 'interface') throw new Error('no interface');
  return item;
}

function world(body: string): WorldAst {
  const item = parseWit('t.wit', `package a:b;\nworld w {\n${body}\n}`).items[0];
  if (item?.kind !== 'world') throw new Error('no world');
  return item;
}

/** The type of `type t = <text>;` without spans. */
function typeOf(text: string): unknown {
  const item = iface(`type t = ${text};`).items[0];
  if (item?.kind !== 'typedef' || item.body.kind !== 'alias') throw new Error('no alias');
  return stripSpans(item.body.type);
}

function stripSpans(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(stripSpans);
  if (x && typeof x === 'object') {
    return Object.fromEntries(Object.entries(x).filter(([k]) => k !== 'span').map(([k, v]) => [k, stripSpans(v)]));
  }
  return x;
}

describe('parseWit: package and top level', () => {
  it('parses the package declaration with its docs and version', () => {
    const f = parseWit('t.wit', '/// The platform.\npackage edge:platform@0.1.0;');
    expect(f.package).toMatchObject({ id: { namespace: 'edge', name: 'platform', version: '0.1.0' }, docs: 'The platform.', span: { line: 2, column: 1 } });
    expect(parseWit('t.wit', 'package wasi:clocks;').package?.id).toEqual({ namespace: 'wasi', name: 'clocks' });
  });

  it('allows files without a package declaration', () => {
    const f = parseWit('t.wit', 'interface a {}');
    expect(f.package).toBeUndefined();
    expect(f.items.map((i) => i.kind)).toEqual(['interface']);
  });

  it('parses top-level use with and without as', () => {
    const f = parseWit('t.wit', 'package a:b;\nuse wasi:http/types@1.0.0;\nuse wasi:http/handler as h;\nuse local-iface as l;');
    expect(stripSpans(f.items)).toEqual([
      { kind: 'toplevel-use', path: { kind: 'package', package: { namespace: 'wasi', name: 'http', version: '1.0.0' }, interface: 'types' }, gates: [] },
      { kind: 'toplevel-use', path: { kind: 'package', package: { namespace: 'wasi', name: 'http' }, interface: 'handler' }, alias: 'h', gates: [] },
      { kind: 'toplevel-use', path: { kind: 'local', name: 'local-iface' }, alias: 'l', gates: [] },
    ]);
  });

  it('rejects use pkg/iface.{names} at top level, pointing at the dot', () => {
    const e = parseError('package a:b;\nuse wasi:http/types.{request};');
    expect([e.code, e.line, e.column]).toEqual(['E_WIT_SYNTAX', 2, 20]);
    expect(e.detail).toMatch(/expected ';' or 'as' after a top-level use path, found '\.'/);
  });

  it('reports nested package blocks as unsupported', () => {
    const e = parseError('package a:b {\n interface x {} \n}');
    expect([e.code, e.line, e.column]).toEqual(['E_WIT_UNSUPPORTED', 1, 13]);
  });

  it('requires the package declaration first', () => {
    expect(parseError('interface a {}\npackage a:b;').detail).toMatch(/must come first/);
  });

  it('reports a missing semicolon after the package', () => {
    expect(parseError('package a:b@1.0.0\ninterface x {}').message).toBe("t.wit:2:1: expected ';' after the package name, found keyword 'interface'");
  });

  it('reports a bad version', () => {
    expect(parseError('package a:b@1.0;').detail).toBe("expected a semver version such as 0.1.0, found integer '1'");
  });
});

describe('parseWit: types', () => {
  it('parses every primitive', () => {
    for (const p of ['bool', 's8', 's16', 's32', 's64', 'u8', 'u16', 'u32', 'u64', 'f32', 'f64', 'char', 'string']) {
      expect(typeOf(p)).toEqual({ kind: 'primitive', name: p });
    }
  });

  it('parses list, option, tuple (trailing comma), borrow, own and names', () => {
    expect(typeOf('list<list<u8>>')).toEqual({ kind: 'list', element: { kind: 'list', element: { kind: 'primitive', name: 'u8' } } });
    expect(typeOf('option<x>')).toEqual({ kind: 'option', some: { kind: 'named', name: 'x' } });
    expect(typeOf('tuple<string, u32,>')).toEqual({ kind: 'tuple', types: [{ kind: 'primitive', name: 'string' }, { kind: 'primitive', name: 'u32' }] });
    expect(typeOf('borrow<r>')).toEqual({ kind: 'borrow', name: 'r' });
    expect(typeOf('own<r>')).toEqual({ kind: 'own', name: 'r' });
    expect(typeOf('%list')).toEqual({ kind: 'named', name: 'list' });
  });

  it('parses all four result forms', () => {
    const u32: TypeExprAst = { kind: 'primitive', name: 'u32', span: { file: '', line: 0, column: 0 } };
    const plain = stripSpans(u32);
    expect(typeOf('result<u32, e>')).toEqual({ kind: 'result', ok: plain, err: { kind: 'named', name: 'e' } });
    expect(typeOf('result<_, e>')).toEqual({ kind: 'result', err: { kind: 'named', name: 'e' } });
    expect(typeOf('result<u32>')).toEqual({ kind: 'result', ok: plain });
    expect(typeOf('result')).toEqual({ kind: 'result' });
  });

  it("reports an unclosed list at the found token: kv.wit:12:18: expected '>' ...", () => {
    const text = `package edge:platform;\ninterface kv {\n${'\n'.repeat(9)} type t = list<u8;\n}`;
    const e = parseError(text, 'kv.wit');
    expect(e.message).toBe("kv.wit:12:18: expected '>' to close list<...>, found ';'");
    expect([e.code, e.file, e.line, e.column]).toEqual(['E_WIT_SYNTAX', 'kv.wit', 12, 18]);
  });

  it('reports unclosed option, result, tuple, borrow', () => {
    expect(parseError('interface i { type t = option<u8; }').detail).toBe("expected '>' to close option<...>, found ';'");
    expect(parseError('interface i { type t = result<u8, u8; }').detail).toBe("expected '>' to close result<...>, found ';'");
    expect(parseError('interface i { type t = tuple<u8; }').detail).toBe("expected '>' to close tuple<...>, found ';'");
    expect(parseError('interface i { type t = borrow<r; }').detail).toBe("expected '>' to close borrow<...>, found ';'");
    expect(parseError('interface i { type t = result<_>; }').detail).toBe("expected ',' after '_' in result<_, E>, found '>'");
    expect(parseError('interface i { type t = tuple<>; }').detail).toBe("expected a type in tuple<...>, found '>'");
  });

  it('reports future, stream, map and fixed-length lists as unsupported', () => {
    for (const [t, col] of [['future<u8>', 24], ['stream<u8>', 24], ['map<string, u8>', 24], ['list<u8, 4>', 31]] as const) {
      const e = parseError(`interface i { type t = ${t}; }`);
      expect([e.code, e.column]).toEqual(['E_WIT_UNSUPPORTED', col]);
    }
  });

  it('parses records, variants, enums and flags with field docs and trailing commas', () => {
    const i = iface(`
      /// A request.
      record request {
        /// The method.
        method: string,
        headers: list<tuple<string, string>>,
      }
      variant error { not-found, too-large(u32), internal(string) }
      enum color { red, green, }
      flags perms { read, write }`);
    expect(stripSpans(i.items)).toEqual([
      {
        kind: 'typedef', name: 'request', docs: 'A request.', gates: [],
        body: { kind: 'record', fields: [
          { name: 'method', docs: 'The method.', type: { kind: 'primitive', name: 'string' } },
          { name: 'headers', type: { kind: 'list', element: { kind: 'tuple', types: [{ kind: 'primitive', name: 'string' }, { kind: 'primitive', name: 'string' }] } } },
        ] },
      },
      {
        kind: 'typedef', name: 'error', gates: [],
        body: { kind: 'variant', cases: [{ name: 'not-found' }, { name: 'too-large', type: { kind: 'primitive', name: 'u32' } }, { name: 'internal', type: { kind: 'primitive', name: 'string' } }] },
      },
      { kind: 'typedef', name: 'color', gates: [], body: { kind: 'enum', cases: [{ name: 'red' }, { name: 'green' }] } },
      { kind: 'typedef', name: 'perms', gates: [], body: { kind: 'flags', flags: [{ name: 'read' }, { name: 'write' }] } },
    ]);
  });

  it('requires at least one field, case or flag', () => {
    const e = parseError('interface i {\n  record r {}\n}');
    expect([e.line, e.column, e.detail]).toEqual([2, 13, "record 'r' needs at least one field"]);
    expect(parseError('interface i { enum e {} }').detail).toBe("enum 'e' needs at least one case");
  });

  it('parses resources with constructor, methods and static functions', () => {
    const i = iface(`
      resource blob;
      resource namespace {
        /// Opens one.
        constructor(init: list<u8>);
        open: static func(name: string) -> result<namespace, error>;
        get: func(key: string) -> result<option<list<u8>>, error>;
      }
      resource fallible { constructor() -> result<fallible>; }`);
    expect(stripSpans(i.items)).toMatchObject([
      { name: 'blob', body: { kind: 'resource', members: [] } },
      {
        name: 'namespace',
        body: { kind: 'resource', members: [
          { kind: 'constructor', name: 'constructor', docs: 'Opens one.', func: { params: [{ name: 'init' }] } },
          { kind: 'static', name: 'open', func: { params: [{ name: 'name' }], result: { kind: 'result' } } },
          { kind: 'method', name: 'get' },
        ] },
      },
      { name: 'fallible', body: { members: [{ kind: 'constructor', func: { params: [], result: { kind: 'result', ok: { kind: 'named', name: 'fallible' } } } }] } },
    ]);
  });

  it('parses functions with no, one and several parameters, with and without results', () => {
    const i = iface('a: func();\nb: func(x: u32) -> string;\nc: func(x: u32, y: list<u8>,) -> result;');
    expect(stripSpans(i.items)).toEqual([
      { kind: 'func', name: 'a', gates: [], func: { params: [] } },
      { kind: 'func', name: 'b', gates: [], func: { params: [{ name: 'x', type: { kind: 'primitive', name: 'u32' } }], result: { kind: 'primitive', name: 'string' } } },
      { kind: 'func', name: 'c', gates: [], func: { params: [{ name: 'x', type: { kind: 'primitive', name: 'u32' } }, { name: 'y', type: { kind: 'list', element: { kind: 'primitive', name: 'u8' } } }], result: { kind: 'result' } } },
    ]);
  });

  it('reports async and named results as unsupported at the right token', () => {
    const a = parseError('interface i {\n  f: async func();\n}');
    expect([a.code, a.line, a.column, a.detail]).toEqual(['E_WIT_UNSUPPORTED', 2, 6, "'async' functions are not supported"]);
    const n = parseError('interface i {\n  f: func() -> (a: u32, b: u32);\n}');
    expect([n.code, n.line, n.column]).toEqual(['E_WIT_UNSUPPORTED', 2, 16]);
    expect(n.detail).toMatch(/named results .* return a tuple or a record/);
  });

  it('hints at % when a keyword is used as a name, and accepts the escaped form', () => {
    const e = parseError('interface i { record: func(); }');
    expect([e.column, e.detail]).toEqual([15, "expected a function name, found keyword 'record' (write '%record' to use it as a name)"]);
    expect(parseError('interface i { f: func(type: u32); }').detail).toBe("expected a parameter name, found keyword 'type' (write '%type' to use it as a name)");
    const i = iface('%record: func(%type: u32);');
    expect(stripSpans(i.items[0])).toMatchObject({ kind: 'func', name: 'record', func: { params: [{ name: 'type' }] } });
  });

  it('parses use inside interfaces, local and foreign, with renames', () => {
    const i = iface('use types.{request, response as resp};\nuse wasi:io/streams@0.2.0.{input-stream};');
    expect(stripSpans(i.items)).toEqual([
      { kind: 'use', gates: [], path: { kind: 'local', name: 'types' }, names: [{ name: 'request' }, { name: 'response', alias: 'resp' }] },
      { kind: 'use', gates: [], path: { kind: 'package', package: { namespace: 'wasi', name: 'io', version: '0.2.0' }, interface: 'streams' }, names: [{ name: 'input-stream' }] },
    ]);
    expect(parseError('interface i { use types.{}; }').detail).toBe("expected a type name in 'use', found '}'");
    expect(parseError('interface i { use types; }').detail).toMatch(/^expected '\.' after the interface in 'use'/);
  });

  it('reports a missing closing brace at end of file', () => {
    const e = parseError('interface i {\n  f: func();\n');
    expect([e.line, e.column, e.detail]).toEqual([3, 1, "expected '}' to close the interface, found end of file"]);
  });
});

describe('parseWit: gates and docs', () => {
  it('parses @since, @unstable, @deprecated and keeps docs written before them', () => {
    const i = iface(`
      /// Gated.
      @since(version = 0.2.0)
      @deprecated(version = 0.2.2)
      a: func();
      @unstable(feature = fancy-foo)
      b: func();
      @since(version = 0.2.1, feature = old-style)
      type c = u8;`);
    expect(stripSpans(i.items)).toMatchObject([
      { name: 'a', docs: 'Gated.', gates: [{ kind: 'since', version: '0.2.0' }, { kind: 'deprecated', version: '0.2.2' }] },
      { name: 'b', gates: [{ kind: 'unstable', feature: 'fancy-foo' }] },
      { name: 'c', gates: [{ kind: 'since', version: '0.2.1', feature: 'old-style' }] },
    ]);
  });

  it('parses gates on interfaces, worlds and world items', () => {
    const f = parseWit('t.wit', '@since(version = 1.0.0)\ninterface i {}\n@unstable(feature = x)\nworld w { @since(version = 1.0.0) import i; }');
    expect(stripSpans(f.items)).toMatchObject([
      { kind: 'interface', gates: [{ kind: 'since', version: '1.0.0' }] },
      { kind: 'world', gates: [{ kind: 'unstable', feature: 'x' }], items: [{ kind: 'import', gates: [{ kind: 'since' }] }] },
    ]);
  });

  it('rejects unknown attributes and malformed gates', () => {
    const e = parseError('interface i {\n  @external-id(foo) f: func();\n}');
    expect([e.code, e.line, e.column]).toEqual(['E_WIT_UNSUPPORTED', 2, 4]);
    expect(parseError('interface i { @since(feature = x) f: func(); }').detail).toBe("expected 'version', found identifier 'feature'");
    expect(parseError('interface i { @since(version = 1.0.0 f: func(); }').detail).toBe("expected ')' to close '@since(...)', found identifier 'f'");
  });

  it('joins multi-line docs and block docs', () => {
    const i = iface('/// line one\n/// line two\na: func();\n/**\n * Block doc.\n */\nb: func();');
    expect(i.items.map((x) => x.docs)).toEqual(['line one\nline two', 'Block doc.']);
  });
});

describe('parseWit: worlds', () => {
  it('parses imports and exports by name, by path, inline interfaces and functions', () => {
    const w = world(`
      import kv;
      import wasi:io/streams@0.2.0;
      import log: interface { write: func(msg: string); }
      export run: func() -> u32;
      export incoming-handler;`);
    expect(stripSpans(w.items)).toMatchObject([
      { kind: 'import', extern: { kind: 'path', path: { kind: 'local', name: 'kv' } } },
      { kind: 'import', extern: { kind: 'path', path: { kind: 'package', package: { namespace: 'wasi', name: 'io', version: '0.2.0' }, interface: 'streams' } } },
      { kind: 'import', extern: { kind: 'interface', name: 'log', items: [{ kind: 'func', name: 'write' }] } },
      { kind: 'export', extern: { kind: 'func', name: 'run', func: { params: [], result: { kind: 'primitive', name: 'u32' } } } },
      { kind: 'export', extern: { kind: 'path', path: { kind: 'local', name: 'incoming-handler' } } },
    ]);
  });

  it('parses include with and without with { a as b }, use and typedefs in worlds', () => {
    const w = world('include base;\ninclude wasi:cli/imports@0.2.0 with { a as b, c as d, };\nuse types.{t};\ntype x = u8;');
    expect(stripSpans(w.items)).toMatchObject([
      { kind: 'include', path: { kind: 'local', name: 'base' }, renames: [] },
      { kind: 'include', path: { kind: 'package', interface: 'imports' }, renames: [{ from: 'a', to: 'b' }, { from: 'c', to: 'd' }] },
      { kind: 'use', names: [{ name: 't' }] },
      { kind: 'typedef', name: 'x' },
    ]);
  });

  it('reports the plain-name-implements form and bad world items', () => {
    expect(parseError('world w { import cache: store; }').code).toBe('E_WIT_UNSUPPORTED');
    expect(parseError('world w { import f: async func(); }').code).toBe('E_WIT_UNSUPPORTED');
    const e = parseError('world w {\n  f: func();\n}');
    expect([e.line, e.column]).toEqual([2, 3]);
    expect(e.detail).toBe("expected 'import', 'export', 'include', 'use' or a type definition in a world, found identifier 'f'");
    expect(parseError('world w { import wasi:io; }').detail).toMatch(/^expected '\/' and an interface name after the package name/);
    expect(parseError('world w { include x with { a b }; }').detail).toBe("expected 'as' after 'a' in 'with { ... }', found identifier 'b'");
  });
});
