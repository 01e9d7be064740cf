import { describe, it, expect } from 'vitest';
import { printWit } from './print.ts';
import { definitionOf, resolvePackage } from './resolve.ts';
import type { Interface, ResolvedPackage, TypeDef, TypeOwner } from './types.ts';

/**
 * The model as plain data for structural comparison: positions dropped, TypeDef links replaced by
 * `owner.name` and local interface links by the interface's name (the model is a graph).
 */
function plain(x: unknown, key = ''): unknown {
  if (Array.isArray(x)) return x.map((v) => plain(v));
  if (!x || typeof x !== 'object') return x;
  if (key === 'def' || key === 'target') return defName(x as TypeDef);
  const o = x as Record<string, unknown>;
  if (o.kind === 'local' && o.interface) return { kind: 'local', interface: (o.interface as Interface).name };
  return Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'span').map(([k, v]) => [k, plain(v, k)]));
}

function defName(def: TypeDef): string {
  const o: TypeOwner = def.owner;
  return `${o.kind === 'interface' && o.world ? o.world + '/' : ''}${o.name}.${def.name}`;
}

function roundTrip(pkg: ResolvedPackage): ResolvedPackage {
  return resolvePackage([{ path: 'printed.wit', text: printWit(pkg) }]);
}

// A realistic package in three files, the way the platform's wit/ directory will look.
const SAMPLE = [
  {
    path: 'http.wit',
    text: `/// HTTP types shared by the handler and its host.
interface http {
  /// An incoming request, fully buffered.
  record request {
    method: string,
    uri: string,
    /// Name/value pairs in arrival order; names may repeat.
    headers: list<tuple<string, string>>,
    body: list<u8>,
  }

  record response {
    status: u16,
    headers: list<tuple<string, string>>,
    body: list<u8>,
  }
}
`,
  },
  {
    path: 'kv.wit',
    text: `package edge:platform@0.1.0;

/// Key-value storage bound to the worker as namespaces.
interface kv {
  variant error {
    not-found,
    /// The value exceeds the limit, in bytes.
    too-large(u32),
    internal(string),
  }

  resource namespace {
    /// Opens a namespace the worker was granted.
    open: static func(name: string) -> result<namespace, error>;
    get: func(key: string) -> result<option<list<u8>>, error>;
    put: func(key: string, value: list<u8>, ttl-seconds: option<u32>) -> result<_, error>;
    delete: func(key: string) -> result<_, error>;
    list-keys: func(prefix: option<string>, limit: u32) -> result<list<string>, error>;
  }
}

interface log {
  enum level { debug, info, warn, error }
  write: func(level: level, message: string);
}
`,
  },
  {
    path: 'world.wit',
    text: `interface incoming-handler {
  use http.{request, response};
  handle: func(req: request) -> response;
}

world handler {
  import kv;
  import log;
  export incoming-handler;
}
`,
  },
];

// Every construct the front end supports, for the round trip.
const EVERYTHING = `/// Package docs.
package test:all@1.2.3-rc.1;

use wasi:http/types@0.2.0 as http;

@since(version = 1.0.0)
interface prims {
  type a = bool; type b = s8; type c = s16; type d = s32; type e = s64;
  type f = u8; type g = u16; type h = u32; type i = u64; type j = f32; type k = f64;
  type l = char; type m = string;
  type results = tuple<result, result<u8>, result<_, string>, result<u8, string>>;
  type nested = list<option<tuple<u8, list<string>>>>;
  /** Block docs
   *  over two lines. */
  flags perms { read, write, %own }
  enum %enum { %record, plain }
  @unstable(feature = fancy)
  @deprecated(version = 1.1.0)
  old: func();
  %type: func(%use: u32) -> m;
}

interface res {
  use http.{request as http-request, fields};
  use wasi:io/streams@0.2.0.{input-stream};
  resource blob {
    constructor(init: list<u8>);
    /// Reads.
    read: func(n: u32) -> list<u8>;
    @since(version = 1.1.0)
    merge: static func(lhs: borrow<blob>, rhs: own<blob>) -> blob;
  }
  resource fallible {
    constructor() -> result<fallible, string>;
  }
  resource plain;
  take: func(r: http-request, s: borrow<input-stream>, o: own<input-stream>, f: fields);
}

interface uses {
  use res.{blob, plain as renamed};
  use prims.{%enum as e, perms};
  type alias = blob;
  holder: func(b: alias, r: renamed, x: e) -> option<perms>;
}

world base {
  import f: func();
  export uses;
}

/// A world.
world everything {
  use prims.{m};
  type local-type = list<m>;
  import prims;
  import wasi:clocks/monotonic-clock@0.2.0;
  /// Inline.
  @since(version = 1.0.0)
  import inline: interface {
    use res.{blob};
    make: func() -> blob;
  }
  include base with { f as g };
  include wasi:cli/imports@0.2.0 with { environment as env };
  export run: func(args: list<local-type>) -> result;
  export res;
}

world empty {}
`;

describe('printWit', () => {
  const sample = resolvePackage(SAMPLE);

  it('resolves the sample package across files', () => {
    const ns = sample.interfaces.find((i) => i.name === 'kv')!.types.find((t) => t.name === 'namespace')!;
    expect(ns.kind.kind === 'resource' && ns.kind.functions.map((f) => `${f.kind} ${f.name}`)).toEqual(['static open', 'method get', 'method put', 'method delete', 'method list-keys']);
    const handler = sample.interfaces.find((i) => i.name === 'incoming-handler')!;
    expect(definitionOf(handler.types[0]!).kind.kind).toBe('record');
    expect(sample.worlds[0]!.imports.map((i) => i.kind === 'interface' && i.ref.kind === 'local' && i.ref.interface.name)).toEqual(['kv', 'log']);
  });

  it('prints readable WIT', () => {
    const text = printWit(sample);
    expect(text.startsWith('package edge:platform@0.1.0;\n\n/// HTTP types shared by the handler and its host.\ninterface http {\n')).toBe(true);
    expect(text).toContain('  record request {\n    method: string,\n    uri: string,\n    /// Name/value pairs in arrival order; names may repeat.\n    headers: list<tuple<string, string>>,\n    body: list<u8>,\n  }\n');
    expect(text).toContain('  resource namespace {\n    /// Opens a namespace the worker was granted.\n    open: static func(name: string) -> result<namespace, error>;\n');
    expect(text).toContain('    put: func(key: string, value: list<u8>, ttl-seconds: option<u32>) -> result<_, error>;\n');
    expect(text).toContain('interface incoming-handler {\n  use http.{request};\n  use http.{response};\n  handle: func(req: request) -> response;\n}\n');
    expect(text).toContain('world handler {\n  import kv;\n  import log;\n  export incoming-handler;\n}\n');
  });

  it('round-trips the sample: parse(print(x)) equals x', () => {
    expect(plain(roundTrip(sample))).toEqual(plain(sample));
  });

  it('round-trips every supported construct, and printing is a fixed point', () => {
    const pkg = resolvePackage([{ path: 'all.wit', text: EVERYTHING }]);
    const again = roundTrip(pkg);
    expect(plain(again)).toEqual(plain(pkg));
    expect(printWit(again)).toBe(printWit(pkg));
  });

  it('prints escapes, gates, docs, handles and includes as WIT', () => {
    const text = printWit(resolvePackage([{ path: 'all.wit', text: EVERYTHING }]));
    expect(text).toContain('/// Package docs.\npackage test:all@1.2.3-rc.1;\n');
    expect(text).toContain('  /// Block docs\n  ///  over two lines.\n  flags perms {\n    read,\n    write,\n    %own,\n  }\n');
    expect(text).toContain('  enum %enum {\n    %record,\n    plain,\n  }\n');
    expect(text).toContain('  @unstable(feature = fancy)\n  @deprecated(version = 1.1.0)\n  old: func();\n');
    expect(text).toContain('  %type: func(%use: u32) -> m;\n');
    expect(text).toContain('  use wasi:http/types@0.2.0.{request as http-request};\n');
    expect(text).toContain('    @since(version = 1.1.0)\n    merge: static func(lhs: borrow<blob>, rhs: blob) -> blob;\n');
    expect(text).toContain('  take: func(r: http-request, s: borrow<input-stream>, o: own<input-stream>, f: fields);\n');
    expect(text).toContain('  resource plain;\n');
    expect(text).toContain('  /// Inline.\n  @since(version = 1.0.0)\n  import inline: interface {\n    use res.{blob};\n    make: func() -> blob;\n  }\n');
    expect(text).toContain('  import g: func();\n');
    expect(text).toContain('  include wasi:cli/imports@0.2.0 with { environment as env };\n');
    expect(text).toContain('world empty {}\n');
  });
});
