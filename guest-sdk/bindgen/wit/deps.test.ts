// Packages that refer to each other: resolveWithDeps (from parsed files) and loadWitDir with a deps/ directory.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { elemSize } from '../abi/index.ts';
import { WitError } from './errors.ts';
import { loadWitDir } from './load.ts';
import { parseWit } from './parser.ts';
import { printWit } from './print.ts';
import { definitionOf, interfaceId, isResource, resolveWithDeps, type DepPackage } from './resolve.ts';
import type { ResolvedPackage, TypeDef, WorldItem } from './types.ts';

const GEO = `package example:geo@0.1.0;
interface types {
  record point { lat: f64, lon: f64 }
}
interface lookup {
  use types.{point};
  variant error { not-granted(string), invalid-address(string) }
  resource table {
    open: static func(binding: string) -> result<table, error>;
    region: func(ip: string) -> result<option<string>, error>;
    locate: func(ip: string) -> option<point>;
  }
  version: func() -> string;
}
world geo-user {
  import lookup;
  export run: func();
}
`;

const PLATFORM = `package edge:platform@0.1.0;
interface log { write: func(msg: string); }
interface kv { get: func(k: string) -> option<string>; }
world worker {
  import log;
  import kv;
  export handle: func(url: string) -> string;
}
`;

function dep(source: string, ...texts: string[]): DepPackage {
  return { source, files: texts.map((t, i) => parseWit(`${source}/f${i}.wit`, t)) };
}

function resolve(root: string, deps: DepPackage[] = [dep('deps/example-geo', GEO), dep('deps/edge-platform', PLATFORM)]): ResolvedPackage {
  return resolveWithDeps([parseWit('root.wit', root)], deps);
}

function resolveError(root: string, deps?: DepPackage[]): WitError {
  try {
    resolve(root, deps);
  } catch (e) {
    if (e instanceof WitError) return e;
    throw e;
  }
  throw new Error('expected a WitError');
}

function ids(items: WorldItem[], pkg: ResolvedPackage): string[] {
  return items.map((i) => (i.kind === 'interface' ? interfaceId(i.ref, pkg.id) : i.name));
}

function typeDef(types: TypeDef[], name: string): TypeDef {
  const t = types.find((d) => d.name === name);
  if (!t) throw new Error(`no type ${name}`);
  return t;
}

describe('resolution across packages', () => {
  it('flattens an included foreign world and imports a foreign interface, each once', () => {
    const pkg = resolve('package edge:guest;\nworld guest {\n  include edge:platform/worker@0.1.0;\n  import example:geo/lookup@0.1.0;\n  import edge:platform/kv@0.1.0;\n}\n');
    const w = pkg.worlds[0]!;
    expect(ids(w.imports, pkg)).toEqual(['edge:platform/log@0.1.0', 'edge:platform/kv@0.1.0', 'example:geo/lookup@0.1.0']);
    expect(ids(w.exports, pkg)).toEqual(['handle']);
    expect(w.externalIncludes).toEqual([]);
    const geo = w.imports[2]!;
    expect(geo.kind === 'interface' && geo.ref.kind === 'external' && geo.ref.target?.name).toBe('lookup');
    // Dependencies first, each once.
    expect(pkg.deps!.map((d) => d.id.name)).toEqual(['geo', 'platform']);
    const platform = pkg.deps!.find((d) => d.id.name === 'platform')!;
    const log = w.imports[0]!;
    expect(log.kind === 'interface' && log.ref.kind === 'external' && log.ref.target).toBe(platform.interfaces[0]);
    // The root prints with package paths.
    expect(printWit(pkg)).toContain('  import example:geo/lookup@0.1.0;\n');
  });

  it('resolves `use` of foreign types in interfaces and worlds: resources are own handles, layouts follow', () => {
    const pkg = resolve(`package edge:guest;
interface cache {
  use example:geo/lookup@0.1.0.{table, error as geo-error, point};
  keep: func(t: table, p: point) -> result<_, geo-error>;
  peek: func(t: borrow<table>);
}
world guest {
  use example:geo/types@0.1.0.{point};
  import cache;
  export where: func() -> point;
}
`);
    const cache = pkg.interfaces[0]!;
    const table = typeDef(cache.types, 'table');
    expect(isResource(table)).toBe(true);
    expect(definitionOf(table).kind.kind).toBe('resource');
    expect(definitionOf(table).owner).toEqual({ kind: 'interface', name: 'lookup' });
    const keep = cache.functions[0]!;
    expect(keep.params.map((p) => p.type.kind)).toEqual(['own', 'ref']);
    expect(cache.functions[1]!.params[0]!.type.kind).toBe('borrow');
    // `point` is used through lookup from types: two links to the record.
    const point = typeDef(cache.types, 'point');
    expect(definitionOf(point).kind.kind).toBe('record');
    expect(elemSize({ kind: 'ref', def: point })).toBe(16);
    expect(definitionOf(typeDef(pkg.worlds[0]!.types, 'point'))).toBe(definitionOf(point));
  });

  it('matches a reference without version to the one package of that name, and top-level use aliases', () => {
    const pkg = resolve('package edge:guest;\nuse example:geo/lookup as geo;\ninterface i { use geo.{table}; f: func(t: table); }\nworld w { import geo; include edge:platform/worker; }\n');
    const w = pkg.worlds[0]!;
    expect(ids(w.imports, pkg)).toEqual(['example:geo/lookup@0.1.0', 'edge:platform/log@0.1.0', 'edge:platform/kv@0.1.0']);
    expect(isResource(typeDef(pkg.interfaces[0]!.types, 'table'))).toBe(true);
  });

  it('resolves deps that refer to each other, and only those the root reaches', () => {
    const other = dep('deps/example-other', 'package example:other@1.0.0;\ninterface o { use example:geo/lookup@0.1.0.{table}; f: func(t: table); }\n');
    const unused = dep('deps/example-unused', 'package example:unused@1.0.0;\ninterface u { use nowhere:x/y.{z}; }\n');
    const pkg = resolve('package a:b;\nworld w { import example:other/o@1.0.0; }\n', [unused, other, dep('deps/example-geo', GEO)]);
    expect(pkg.deps!.map((d) => `${d.id.namespace}:${d.id.name}`)).toEqual(['example:geo', 'example:other']);
    const o = pkg.deps![1]!.interfaces[0]!;
    expect(isResource(typeDef(o.types, 'table'))).toBe(true);
  });

  it('keeps a package that refers to none without deps', () => {
    const pkg = resolve('package a:b;\ninterface i { f: func(); }\n');
    expect(pkg.deps).toBeUndefined();
  });
});

describe('errors across packages', () => {
  it('names an unknown package at the reference and lists what deps/ holds', () => {
    const e = resolveError('package a:b;\nworld w {\n  import wasi:io/streams@0.2.0;\n}\n');
    expect([e.code, e.file, e.line, e.column]).toEqual(['E_WIT_PACKAGE', 'root.wit', 3, 10]);
    expect(e.detail).toBe('unknown package wasi:io@0.2.0: deps/ holds example:geo@0.1.0 (deps/example-geo), edge:platform@0.1.0 (deps/edge-platform)');
  });

  it('reports a version deps/ does not have, and a reference without version that two versions match', () => {
    const e = resolveError('package a:b;\ninterface i {\n  use example:geo/lookup@0.2.0.{table};\n}\n');
    expect([e.code, e.line]).toEqual(['E_WIT_PACKAGE', 3]);
    expect(e.detail).toMatch(/^unknown package example:geo@0\.2\.0: deps\/ holds example:geo@0\.1\.0/);
    const two = [dep('deps/geo-1', GEO), dep('deps/geo-2', GEO.replace('@0.1.0', '@0.2.0'))];
    const amb = resolveError('package a:b;\nworld w { import example:geo/lookup; }\n', two);
    expect([amb.code, amb.line]).toEqual(['E_WIT_PACKAGE', 2]);
    expect(amb.detail).toContain('package example:geo is ambiguous without a version');
  });

  it('reports unknown interfaces, worlds and types of a known package', () => {
    const i = resolveError('package a:b;\nworld w {\n  import example:geo/nope@0.1.0;\n}\n');
    expect([i.code, i.line, i.detail]).toEqual(['E_WIT_UNKNOWN_INTERFACE', 3, "package example:geo@0.1.0 has no interface 'nope' (it has: types, lookup)"]);
    const wi = resolveError('package a:b;\nworld w { import example:geo/geo-user@0.1.0; }\n');
    expect([wi.code, wi.detail]).toEqual(['E_WIT_UNKNOWN_INTERFACE', "'geo-user' is a world of package example:geo@0.1.0, not an interface"]);
    const w = resolveError('package a:b;\nworld w {\n  include edge:platform/nope@0.1.0;\n}\n');
    expect([w.code, w.line, w.detail]).toEqual(['E_WIT_UNKNOWN_WORLD', 3, "package edge:platform@0.1.0 has no world 'nope' (it has: worker)"]);
    const iw = resolveError('package a:b;\nworld w { include edge:platform/kv@0.1.0; }\n');
    expect(iw.detail).toBe("'kv' is an interface of package edge:platform@0.1.0, not a world");
    const t = resolveError('package a:b;\ninterface i {\n  use example:geo/lookup@0.1.0.{tabel};\n}\n');
    expect([t.code, t.line, t.detail]).toEqual(['E_WIT_UNKNOWN_TYPE', 3, "interface 'example:geo/lookup@0.1.0' has no type named 'tabel'"]);
    const f = resolveError('package a:b;\ninterface i { use example:geo/lookup@0.1.0.{version}; }\n');
    expect(f.detail).toBe("'version' is a function of interface 'example:geo/lookup@0.1.0', not a type");
  });

  it('reports errors inside a dependency at their own file', () => {
    const bad = dep('deps/example-geo', 'package example:geo@0.1.0;\ninterface lookup {\n  f: func() -> nope;\n}\n');
    const e = resolveError('package a:b;\nworld w { import example:geo/lookup@0.1.0; }\n', [bad]);
    expect([e.code, e.file, e.line]).toEqual(['E_WIT_UNKNOWN_TYPE', 'deps/example-geo/f0.wit', 3]);
  });

  it('reports a dep without package, a package twice, and packages that refer to each other', () => {
    const none = resolveError('package a:b;\nworld w { import example:geo/lookup@0.1.0; }\n', [dep('deps/geo', 'interface lookup {}')]);
    expect([none.code, none.file, none.detail]).toEqual(['E_WIT_PACKAGE', 'deps/geo/f0.wit', "deps/geo declares no package: add 'package namespace:name@version;'"]);
    const twice = resolveError('package a:b;\nworld w { import example:geo/lookup@0.1.0; }\n', [dep('deps/a', GEO), dep('deps/b', GEO)]);
    expect([twice.code, twice.detail]).toEqual(['E_WIT_PACKAGE', 'package example:geo@0.1.0 is in deps/ twice: deps/a and deps/b']);
    const x = dep('deps/x', 'package p:x;\ninterface i { use p:y/j.{t}; type u = u32; }\n');
    const y = dep('deps/y', 'package p:y;\ninterface j {\n  use p:x/i.{u};\n  type t = u32;\n}\n');
    const cycle = resolveError('package a:b;\nworld w { import p:x/i; }\n', [x, y]);
    expect([cycle.code, cycle.file, cycle.line, cycle.detail]).toEqual(['E_WIT_CYCLE', 'deps/y/f0.wit', 3, 'packages refer to each other in a cycle: p:x -> p:y -> p:x']);
  });
});

describe('loadWitDir with deps/', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  async function witDir(files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'wit-deps-'));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) {
      await mkdir(join(dir, name, '..'), { recursive: true });
      await writeFile(join(dir, name), text);
    }
    return dir;
  }

  it('loads directories and single files of deps/', async () => {
    const dir = await witDir({
      'guest.wit': 'package edge:guest;\nworld guest { include edge:platform/worker@0.1.0; import example:geo/lookup@0.1.0; }\n',
      'deps/edge-platform/a.wit': PLATFORM.split('world')[0]!,
      'deps/edge-platform/b.wit': 'package edge:platform@0.1.0;\nworld' + PLATFORM.split('world')[1]!,
      'deps/geo.wit': GEO,
      'deps/README.md': 'ignored',
    });
    const pkg = await loadWitDir(dir);
    expect(ids(pkg.worlds[0]!.imports, pkg)).toEqual(['edge:platform/log@0.1.0', 'edge:platform/kv@0.1.0', 'example:geo/lookup@0.1.0']);
    // In the order they were first referred to (the import is resolved before the include is flattened).
    expect(pkg.deps!.map((d) => d.interfaces[0]!.span.file)).toEqual([join(dir, 'deps', 'geo.wit'), join(dir, 'deps', 'edge-platform', 'a.wit')]);
  });

  it('names the missing package, the file and line, and what deps/ holds (or that there is none)', async () => {
    const dir = await witDir({ 'guest.wit': 'package edge:guest;\n\nworld guest {\n  import example:geo/lookup@0.1.0;\n}\n' });
    await expect(loadWitDir(dir)).rejects.toMatchObject({
      code: 'E_WIT_PACKAGE',
      file: join(dir, 'guest.wit'),
      line: 4,
      detail: `unknown package example:geo@0.1.0: ${join(dir, 'deps')}/ is empty or missing`,
    });
    await mkdir(join(dir, 'deps'));
    await writeFile(join(dir, 'deps', 'geo.wit'), GEO.replace('example:geo', 'example:geo2'));
    await expect(loadWitDir(dir)).rejects.toThrow(`guest.wit:4:10: unknown package example:geo@0.1.0: ${join(dir, 'deps')}/ holds example:geo2@0.1.0 (deps/geo.wit)`);
  });
});
