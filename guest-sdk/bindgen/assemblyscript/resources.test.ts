// Imported resources: generates import glue for a world importing `store` (resource `bucket` with a constructor,
// a static function, methods, an own and a borrow parameter), builds it with an AssemblyScript handler, transpiles
// it with jco and instantiates it with a JS class for the resource.
//
// jco (`--instantiation async`) maps an imported resource to a class in the interface's import object, keyed by
// its PascalCase name (`{ 'test:res/store': { Bucket } }`): `[constructor]bucket` is `new Bucket(...)`,
// `[static]bucket.open` is `Bucket.open(...)`, `[method]bucket.get` is `instance.get(...)`; a guest's
// resource-drop of an own handle calls `instance[Symbol.dispose]()` if the class has it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePackage } from '../wit/index.ts';
import { BindgenError, generateExportGlue } from './generate.ts';
import { buildTestGuest, expectFlatMemory, type TestGuest } from './test-guest.ts';

const WIT = `package test:res@0.1.0;

interface store {
  resource bucket {
    constructor(name: string);
    open: static func(name: string) -> result<bucket, string>;
    get: func(key: string) -> option<string>;
    put: func(key: string, value: string);
    absorb: func(other: bucket) -> u32;
    keys: func() -> cursor;
  }
  resource cursor {
    next: func() -> option<string>;
  }
  peek: func(b: borrow<bucket>, key: string) -> option<string>;
}

interface api {
  run: func(x: string, y: string) -> string;
  fail: func(name: string) -> string;
  make: func(name: string) -> string;
}

world res {
  import store;
  export api;
}
`;

const HANDLER = `import { Bucket, peek } from "./glue-imports";

export function run(x: string, y: string): string {
  const r1 = Bucket.open(x);
  const r2 = Bucket.open(y);
  if (!r1.isOk || !r2.isOk) return "unexpected err";
  const a = r1.value;
  const b = r2.value;
  a.put("k", y);
  b.put("k", x);
  a.put(b.get("k")!, "cross");
  const ax = a.get(x);
  const missing = b.get("missing");
  const p = peek(b, "k");
  const s = a.get("k")! + "|" + b.get("k")! + "|" + (ax == null ? "none" : ax) + "|" + (missing == null ? "none" : missing)
    + "|" + (p == null ? "none" : p);
  a.drop();
  b.drop();
  a.drop(); // a second drop does nothing
  return s;
}

export function fail(name: string): string {
  const r = Bucket.open(name);
  if (r.isOk) {
    r.value.drop();
    return "ok";
  }
  return "err " + r.error;
}

export function make(name: string): string {
  const c = new Bucket(name);
  const d = Bucket.open("other").value;
  d.put("z", "1");
  d.put("y", "2");
  const n = c.absorb(d); // own<bucket>: moved to the host
  const moved = d.handle;
  d.drop(); // nothing left to drop
  const z = c.get("z");
  const keys = c.keys();
  let k = keys.next();
  let all = "";
  while (k != null) {
    all += k + ",";
    k = keys.next();
  }
  keys.drop();
  const s = n.toString() + "|" + moved.toString() + "|" + (z == null ? "none" : z) + "|" + (c.handle != 0 ? "held" : "lost") + "|" + all;
  c.drop();
  return s;
}
`;

interface Api {
  run(x: string, y: string): string;
  fail(name: string): string;
  make(name: string): string;
}

const stats = { created: 0, opened: 0, disposed: 0, disposedNames: [] as string[] };

class Bucket {
  readonly name: string;
  readonly data = new Map<string, string>();
  constructor(name: string) {
    this.name = name;
    stats.created++;
  }
  static open(name: string): Bucket | { tag: 'err'; val: string } {
    if (name === '') return { tag: 'err', val: 'empty name ✗' };
    stats.opened++;
    return new Bucket(name);
  }
  get(key: string): string | undefined {
    return this.data.get(key);
  }
  put(key: string, value: string): void {
    this.data.set(key, value);
  }
  absorb(other: Bucket): number {
    for (const [k, v] of other.data) this.data.set(k, v);
    return this.data.size;
  }
  keys(): Cursor {
    return new Cursor([...this.data.keys()]);
  }
  [Symbol.dispose](): void {
    stats.disposed++;
    if (stats.disposedNames.length < 100) stats.disposedNames.push(this.name);
  }
}

/** A resource without a constructor, returned by a method. */
class Cursor {
  private readonly keys: string[];
  constructor(keys: string[]) {
    this.keys = keys;
  }
  next(): string | undefined {
    return this.keys.shift();
  }
  [Symbol.dispose](): void {
    stats.disposed++;
    if (stats.disposedNames.length < 100) stats.disposedNames.push('cursor');
  }
}

let guest: TestGuest<{ api: Api }>;
let api: Api;
let generated: Record<string, string>;

beforeAll(async () => {
  guest = await buildTestGuest<{ api: Api }>({ world: 'res', wit: WIT, handler: HANDLER, imports: { 'test:res/store': { Bucket, Cursor, peek: (b: Bucket, key: string): string | undefined => b.data.get(key) } } });
  api = guest.instance.api;
  generated = guest.generated;
}, 30_000);

afterAll(async () => {
  await guest.dispose();
});

const reset = (): void => {
  stats.created = 0;
  stats.opened = 0;
  stats.disposed = 0;
  stats.disposedNames.length = 0;
};

describe('imported resources (built, transpiled, instantiated with a JS class)', () => {
  it('generates a class over the core imports jco expects', () => {
    const g = generated['glue-imports.ts']!;
    expect(g).toContain('@external("cm32p2|test:res/store@0.1", "[constructor]bucket")');
    expect(g).toContain('@external("cm32p2|test:res/store@0.1", "[static]bucket.open")');
    expect(g).toContain('@external("cm32p2|test:res/store@0.1", "[method]bucket.get")');
    expect(g).toContain('@external("cm32p2|test:res/store@0.1", "bucket_drop")');
    expect(g).toContain('export class Bucket {');
    expect(g).toContain('export class Cursor {');
    expect(g).toContain('  private constructor() {}');
    expect(g).toContain('  keys(): Cursor {');
    expect(g).toContain('  static open(name: string): ResultBucketString {');
    expect(g).toContain('  get(key: string): string | null {');
    expect(g).toContain('  constructor(name: string) {');
    expect(g).toContain('export function peek(b: Bucket, key: string): string | null {');
    expect(generated['glue-types.ts']).toContain('import { Bucket, Cursor } from "./glue-imports";');
  });

  it('static open, methods across two instances, a borrow parameter, drop (non-ASCII, empty)', () => {
    reset();
    expect(api.run('é🎉', 'wörld')).toBe('wörld|é🎉|cross|none|é🎉');
    expect(stats).toEqual({ created: 2, opened: 2, disposed: 2, disposedNames: ['é🎉', 'wörld'] });
    reset();
    expect(api.run('a', '')).toBe('unexpected err'); // '' is refused by open; 'a' is left undropped
    expect(stats.disposed).toBe(0);
  });

  it('a result<bucket, string> err', () => {
    reset();
    expect(api.fail('')).toBe('err empty name ✗');
    expect(api.fail('x')).toBe('ok');
    expect(stats).toEqual({ created: 1, opened: 1, disposed: 1, disposedNames: ['x'] });
  });

  it('constructor; an own parameter moves the handle to the host', () => {
    reset();
    expect(api.make('c')).toBe('2|0|1|held|z,y,');
    // The cursor and c are dropped (disposed); d was moved to the host by absorb, so the guest's drop() did nothing.
    expect(stats).toEqual({ created: 2, opened: 1, disposed: 2, disposedNames: ['cursor', 'c'] });
  });

  it('1,000 calls keep the guest memory flat, and every handle is dropped', () => {
    const long = 'x'.repeat(10_000) + 'é';
    const loop = (): void => {
      for (let i = 0; i < 1000; i++) {
        expect(api.run(long, `b${i}`)).toBe(`b${i}|${long}|cross|none|${long}`);
        expect(api.make(long)).toBe('2|0|1|held|z,y,');
      }
    };
    reset();
    expectFlatMemory(guest, loop, () => expect(stats.disposed).toBe(2000 + 2000));
  });
});

describe('resource glue (refusals)', () => {
  const gen = (wit: string, coreImports: { module: string; name: string }[]): unknown => {
    try {
      generateExportGlue(resolvePackage([{ path: 'x.wit', text: wit }]), 'w', { coreImports });
      return undefined;
    } catch (e) {
      return e;
    }
  };

  it('refuses exported resources and handles in exported functions', () => {
    const exported = gen('package t:x;\ninterface api {\nresource r;\n}\nworld w { export api; }\n', []);
    expect((exported as BindgenError).code).toBe('E_BINDGEN_UNSUPPORTED');
    expect((exported as BindgenError).message).toMatch(/resource 'r'/);
    const handle = gen('package t:x;\ninterface s {\nresource r;\n}\ninterface api {\nuse s.{r};\nf: func(x: borrow<r>);\n}\nworld w { import s; export api; }\n', [{ module: 'cm32p2|t:x/s', name: 'r_drop' }]);
    expect((handle as BindgenError).code).toBe('E_BINDGEN_UNSUPPORTED');
    expect((handle as BindgenError).message).toMatch(/resource 'r'/); // the `use`d resource in the exported interface
  });

  it('refuses a method the generated class reserves, and a core import list without the drop', () => {
    const reserved = gen('package t:x;\ninterface s {\nresource r {\ndrop: func();\n}\n}\nworld w { import s; }\n', [
      { module: 'cm32p2|t:x/s', name: '[method]r.drop' },
      { module: 'cm32p2|t:x/s', name: 'r_drop' },
    ]);
    expect((reserved as BindgenError).code).toBe('E_BINDGEN_UNSUPPORTED');
    expect((reserved as BindgenError).message).toMatch(/s\.r\.drop/);
    const noDrop = gen('package t:x;\ninterface s {\nresource r;\n}\nworld w { import s; }\n', []);
    expect((noDrop as BindgenError).code).toBe('E_BINDGEN_NO_CORE_IMPORT');
  });
});
