// Generates import glue (and export glue) for a world that imports a host interface, builds it with an
// AssemblyScript handler that calls the imports, transpiles it with jco and instantiates it with JS imports.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePackage } from '../wit/index.ts';
import { BindgenError, generateExportGlue } from './generate.ts';
import { buildTestGuest, expectFlatMemory, type TestGuest } from './test-guest.ts';

const WIT = `package test:glue@0.1.0;

interface host-api {
  enum level { info, warn }
  record entry { level: level, text: string, data: list<u8> }

  log: func(msg: string);
  lookup: func(key: string) -> option<string>;
  add: func(a: u64, b: u64) -> u64;
  tags: func() -> list<string>;
  check: func(n: u32) -> result<string, string>;
  stamp: func(e: entry, scale: option<f32>, names: list<string>) -> entry;
  pick: func(r: result<u64, f32>) -> f64;
  many: func(a: u32, b: u32, c: u32, d: u32, e: u32, f: u32, g: u32, h: u32, i: u32, j: u32, k: u32, l: u32, m: u32, n: u32, o: u32, p: u32, q: u8) -> u32;
}

interface api {
  run: func(key: string, n: u32) -> string;
  sum: func(a: u64, b: u64) -> u64;
  all-tags: func() -> list<string>;
  extra: func(text: string) -> string;
}

world glue {
  import host-api;
  export api;
}
`;

const HANDLER = `import { log, lookup, add, tags, check, stamp, pick, many } from "./glue-imports";
import { Box, Entry, Level, ResultU64F32 } from "./glue-types";

export function run(key: string, n: u32): string {
  log("run " + key);
  const v = lookup(key);
  const c = check(n);
  return (v == null ? "none" : "found " + v) + ";" + (c.isOk ? "ok " + c.value : "err " + c.error);
}

export function sum(a: u64, b: u64): u64 {
  return add(a, b);
}

export function allTags(): Array<string> {
  const t = tags();
  t.push(t.length.toString());
  return t;
}

export function extra(text: string): string {
  const data = new Uint8Array(3);
  data[0] = 1; data[1] = 2; data[2] = 255;
  const names = new Array<string>();
  names.push("é"); names.push(""); names.push(text);
  const e = stamp(new Entry(Level.Warn, text, data), new Box<f32>(1.5), names);
  const e2 = stamp(new Entry(Level.Info, "", new Uint8Array(0)), null, new Array<string>());
  let bytes = "";
  for (let i = 0; i < e.data.length; i++) bytes += e.data[i].toString() + ",";
  return (e.level == Level.Info ? "info" : "warn") + "|" + e.text + "|" + bytes + "|" + e2.text + "|" + e2.data.length.toString()
    + "|" + pick(ResultU64F32.ok(9007199254740993)).toString() + "|" + pick(ResultU64F32.err(<f32>2.5)).toString()
    + "|" + many(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 200).toString();
}
`;

interface Api {
  run(key: string, n: number): string;
  sum(a: bigint, b: bigint): bigint;
  allTags(): string[];
  extra(text: string): string;
}

interface Entry {
  level: string;
  text: string;
  data: Uint8Array;
}

let guest: TestGuest<{ api: Api }>;
let api: Api;
let generated: Record<string, string>;
const logs: string[] = [];
const table = new Map<string, string>();
let currentTags: string[] = [];
const stamps: unknown[] = [];
const picks: unknown[] = [];

const hostApi = {
  log: (msg: string): void => {
    logs.push(msg);
  },
  lookup: (key: string): string | undefined => table.get(key),
  add: (a: bigint, b: bigint): bigint => BigInt.asUintN(64, a + b),
  tags: (): string[] => currentTags,
  // jco: a plain return is ok; err is `{ tag: 'err', val }` (or a thrown object with a `payload`).
  check: (n: number): string | { tag: 'err'; val: string } => (n % 2 === 0 ? `even ${n} ✓` : { tag: 'err', val: `odd ${n} ✗` }),
  stamp: (e: Entry, scale: number | undefined, names: string[]): Entry => {
    stamps.push({ ...e, data: [...e.data], scale, names });
    return { level: e.level === 'warn' ? 'info' : 'warn', text: `${e.text}·${names.join('+')}·${scale ?? 'none'}`, data: new Uint8Array([...e.data].reverse()) };
  },
  pick: (r: { tag: 'ok'; val: bigint } | { tag: 'err'; val: number }): number => {
    picks.push(r);
    return r.tag === 'ok' ? Number(r.val % 1000n) + 0.5 : r.val * 2;
  },
  many: (...xs: number[]): number => xs.reduce((s, x) => s + x, 0),
};

beforeAll(async () => {
  guest = await buildTestGuest<{ api: Api }>({ world: 'glue', wit: WIT, handler: HANDLER, imports: { 'test:glue/host-api': hostApi } });
  api = guest.instance.api;
  generated = guest.generated;
}, 30_000);

afterAll(async () => {
  await guest.dispose();
});

describe('generateExportGlue with coreImports (built, transpiled, instantiated with JS imports)', () => {
  it('generates glue-imports.ts with plain wrappers over the core imports jco expects', () => {
    const g = generated['glue-imports.ts']!;
    expect(g).toContain('@external("cm32p2|test:glue/host-api@0.1", "log")');
    expect(g).toContain('export function log(msg: string): void {');
    expect(g).toContain('export function lookup(key: string): string | null {');
    expect(g).toContain('export function add(a: u64, b: u64): u64 {');
    expect(g).toContain('export function tags(): Array<string> {');
    expect(g).toContain('export function check(n: u32): ResultStringString {');
  });

  it('strings, options and results through the imports (empty and non-ASCII)', () => {
    table.set('héllo 🎉', 'wörld 🌍');
    table.set('', '');
    expect(api.run('héllo 🎉', 4)).toBe('found wörld 🌍;ok even 4 ✓');
    expect(api.run('missing', 3)).toBe('none;err odd 3 ✗');
    expect(api.run('', 0)).toBe('found ;ok even 0 ✓');
    expect(logs).toEqual(['run héllo 🎉', 'run missing', 'run ']);
  });

  it('u64 through an import', () => {
    expect(api.sum(2n ** 63n, 2n ** 62n)).toBe(2n ** 63n + 2n ** 62n);
    expect(api.sum(2n ** 64n - 1n, 2n)).toBe(1n);
  });

  it('list<string> results: empty, non-ASCII', () => {
    currentTags = [];
    expect(api.allTags()).toEqual(['0']);
    currentTags = ['a', '', 'é🎉', 'x'.repeat(10_000)];
    expect(api.allTags()).toEqual(['a', '', 'é🎉', 'x'.repeat(10_000), '4']);
  });

  it('records, enums, list<u8>, option<f32>, joined variant slots, more than 16 flat parameters', () => {
    stamps.length = 0;
    picks.length = 0;
    expect(api.extra('ü')).toBe('info|ü·é++ü·1.5|255,2,1,|··none|0|993.5|5.0|336');
    expect(stamps).toEqual([
      { level: 'warn', text: 'ü', data: [1, 2, 255], scale: 1.5, names: ['é', '', 'ü'] },
      { level: 'info', text: '', data: [], scale: undefined, names: [] },
    ]);
    expect(picks).toEqual([
      { tag: 'ok', val: 9007199254740993n },
      { tag: 'err', val: 2.5 },
    ]);
  });

  it('1,000 calls keep the guest memory flat', () => {
    currentTags = ['a', 'é🎉'.repeat(1000), ''];
    const long = 'x'.repeat(10_000) + 'é';
    table.set(long, long);
    const run = (): void => {
      for (let i = 0; i < 1000; i++) {
        expect(api.run(long, i).length).toBeGreaterThan(10_000);
        api.allTags();
        api.extra(long);
      }
    };
    expectFlatMemory(guest, run);
    logs.length = 0;
  });
});

describe('import glue (refusals)', () => {
  const gen = (wit: string, coreImports: { module: string; name: string }[]): unknown => {
    try {
      generateExportGlue(resolvePackage([{ path: 'x.wit', text: wit }]), 'w', { coreImports });
      return undefined;
    } catch (e) {
      return e;
    }
  };

  it('refuses an imported resource whose drop the core import list lacks (resources: resources.test.ts)', () => {
    const error = gen('package t:x;\ninterface api {\nresource r;\nf: func(x: borrow<r>);\n}\nworld w { import api; }\n', [{ module: 'cm32p2|t:x/api', name: 'f' }]);
    expect(error).toBeInstanceOf(BindgenError);
    expect((error as BindgenError).code).toBe('E_BINDGEN_NO_CORE_IMPORT');
    expect((error as BindgenError).message).toMatch(/api\.r \(drop\)/);
  });

  it('refuses an import the core import list does not have', () => {
    const error = gen('package t:x;\ninterface api {\nf: func();\n}\nworld w { import api; }\n', [{ module: 'cm32p2|t:x/other', name: 'f' }]);
    expect((error as BindgenError).code).toBe('E_BINDGEN_NO_CORE_IMPORT');
    expect((error as BindgenError).message).toMatch(/api\.f/);
  });
});
