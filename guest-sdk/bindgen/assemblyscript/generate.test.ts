// Generates export glue for a small world, builds it with the user's AssemblyScript implementation into a
// component (host/build), transpiles it with jco and calls every function.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePackage } from '../wit/index.ts';
import { BindgenError, generateExportGlue } from './generate.ts';
import { buildTestGuest, expectFlatMemory, type TestGuest } from './test-guest.ts';

const WIT = `package test:glue@0.1.0;

interface api {
  record point { x: s32, y: s32, label: string }
  enum color { red, green, blue }
  record misc { flag: bool, big: s64, ubig: u64, ratio: f32, precise: f64, letter: char, tone: color }

  greet: func(name: string) -> string;
  sum: func(xs: list<u8>) -> u32;
  move: func(p: point, dx: s32) -> point;
  find: func(names: list<string>, n: string) -> option<u32>;
  check: func(n: u32) -> result<string, string>;
  echo-bytes: func(xs: list<u8>) -> list<u8>;
  split: func(s: string) -> list<string>;
  next-color: func(c: color) -> color;
  tweak: func(m: misc) -> misc;
  maybe-name: func(n: option<string>) -> option<string>;
  is-even: func(n: u64) -> bool;
  half: func(r: result<f64, u8>) -> result<f32, string>;
}

world glue {
  export api;
}
`;

const HANDLER = `import { Box, Point, ResultStringString, ResultF32String, ResultF64U8, Color, Misc } from "./glue-types";

export function greet(name: string): string {
  return "Hello, " + name + "!";
}

export function sum(xs: Uint8Array): u32 {
  let s: u32 = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s;
}

export function move(p: Point, dx: i32): Point {
  return new Point(p.x + dx, p.y, p.label + "→");
}

export function find(names: Array<string>, n: string): Box<u32> | null {
  for (let i = 0; i < names.length; i++) if (names[i] == n) return new Box<u32>(<u32>i);
  return null;
}

export function check(n: u32): ResultStringString {
  return n % 2 == 0 ? ResultStringString.ok("even " + n.toString()) : ResultStringString.err("odd " + n.toString());
}

export function echoBytes(xs: Uint8Array): Uint8Array {
  const out = new Uint8Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = xs[xs.length - 1 - i];
  return out;
}

export function split(s: string): Array<string> {
  return s.length == 0 ? new Array<string>() : s.split(",");
}

export function nextColor(c: Color): Color {
  return c == Color.Blue ? Color.Red : <Color>(c + 1);
}

export function tweak(m: Misc): Misc {
  return new Misc(!m.flag, m.big - 1, m.ubig + 1, m.ratio * 2, m.precise / 2, m.letter + 1, m.tone);
}

export function maybeName(n: string | null): string | null {
  if (n == null) return "nobody";
  if (n.length == 0) return null;
  return n.toUpperCase();
}

export function isEven(n: u64): bool {
  return n % 2 == 0;
}

export function half(r: ResultF64U8): ResultF32String {
  if (r.isOk) return ResultF32String.ok(<f32>(r.value / 2));
  return ResultF32String.err("code " + r.error.toString());
}
`;

interface Api {
  greet(name: string): string;
  sum(xs: Uint8Array): number;
  move(p: { x: number; y: number; label: string }, dx: number): { x: number; y: number; label: string };
  find(names: string[], n: string): number | undefined;
  check(n: number): string;
  echoBytes(xs: Uint8Array): Uint8Array;
  split(s: string): string[];
  nextColor(c: string): string;
  tweak(m: Misc): Misc;
  maybeName(n: string | undefined): string | undefined;
  isEven(n: bigint): boolean;
  half(r: { tag: 'ok'; val: number } | { tag: 'err'; val: number }): number;
}

interface Misc {
  flag: boolean;
  big: bigint;
  ubig: bigint;
  ratio: number;
  precise: number;
  letter: string;
  tone: string;
}

let guest: TestGuest<{ api: Api }>;
let api: Api;
let coreExports: string[];
const LONG = 'x'.repeat(50_000) + 'é🎉'.repeat(25_000); // 100 KB of UTF-16 and more

beforeAll(async () => {
  guest = await buildTestGuest<{ api: Api }>({ world: 'glue', wit: WIT, handler: HANDLER, withImports: false });
  api = guest.instance.api;
  coreExports = guest.coreExports;
}, 30_000);

afterAll(async () => {
  await guest.dispose();
});

describe('generateExportGlue (built, transpiled and called)', () => {
  it('strings: empty, non-ASCII, 100 KB', () => {
    expect(api.greet('')).toBe('Hello, !');
    expect(api.greet('héllo 🎉')).toBe('Hello, héllo 🎉!');
    expect(api.greet(LONG)).toBe(`Hello, ${LONG}!`);
    expect(api.split('')).toEqual([]);
    expect(api.split('a,é,🎉,')).toEqual(['a', 'é', '🎉', '']);
    expect(api.split(LONG + ',' + LONG)).toEqual([LONG, LONG]);
  });

  it('list<u8>', () => {
    expect(api.sum(new Uint8Array())).toBe(0);
    expect(api.sum(new Uint8Array([1, 2, 255]))).toBe(258);
    expect(api.sum(new Uint8Array(100_000).fill(3))).toBe(300_000);
    expect([...api.echoBytes(new Uint8Array([1, 2, 3]))]).toEqual([3, 2, 1]);
    expect(api.echoBytes(new Uint8Array()).length).toBe(0);
    const big = new Uint8Array(100_000).map((_, i) => i & 0xff);
    expect(api.echoBytes(big)).toEqual(big.slice().reverse());
  });

  it('records, enums and primitives', () => {
    expect(api.move({ x: 1, y: -2, label: '' }, 5)).toEqual({ x: 6, y: -2, label: '→' });
    expect(api.move({ x: -2147483648, y: 2147483647, label: 'héllo 🎉' }, 0)).toEqual({ x: -2147483648, y: 2147483647, label: 'héllo 🎉→' });
    expect(api.nextColor('red')).toBe('green');
    expect(api.nextColor('blue')).toBe('red');
    expect(api.tweak({ flag: true, big: -(2n ** 62n), ubig: 2n ** 63n, ratio: 1.5, precise: 3, letter: 'a', tone: 'blue' })).toEqual({
      flag: false,
      big: -(2n ** 62n) - 1n,
      ubig: 2n ** 63n + 1n,
      ratio: 3,
      precise: 1.5,
      letter: 'b',
      tone: 'blue',
    });
    expect(api.isEven(2n ** 64n - 2n)).toBe(true);
    expect(api.isEven(7n)).toBe(false);
  });

  it('option and list<string>', () => {
    expect(api.find([], '')).toBeUndefined();
    expect(api.find(['a', 'héllo 🎉', ''], '')).toBe(2);
    expect(api.find(['a', 'héllo 🎉', ''], 'héllo 🎉')).toBe(1);
    expect(api.find(['a'], 'b')).toBeUndefined();
    expect(api.maybeName(undefined)).toBe('nobody');
    expect(api.maybeName('')).toBeUndefined();
    expect(api.maybeName('héllo')).toBe('HÉLLO');
  });

  it('result', () => {
    expect(api.check(4)).toBe('even 4');
    expect(() => api.check(3)).toThrow(/odd 3/);
    expect(api.half({ tag: 'ok', val: 5 })).toBe(2.5);
    expect(() => api.half({ tag: 'err', val: 7 })).toThrow(/code 7/);
  });

  it('1,000 repeated calls with 100 KB arguments do not grow memory without bound', () => {
    const run = (): void => {
      for (let i = 0; i < 1000; i++) {
        expect(api.greet(LONG).length).toBe(LONG.length + 8);
        api.find(['a', LONG, 'b'], 'b');
        api.echoBytes(new Uint8Array(1000));
      }
    };
    expectFlatMemory(guest, run);
    expect(api.greet('héllo 🎉')).toBe('Hello, héllo 🎉!');
  });
});

describe('generateExportGlue (post-return)', () => {
  it('exports a post-return function exactly for the functions whose results allocate buffers', () => {
    const posts = coreExports.filter((name) => name.endsWith('_post')).sort();
    const api = (f: string): string => `cm32p2|test:glue/api@0.1|${f}_post`;
    // Not: sum (u32), find (option<u32>), next-color, tweak (no strings), is-even.
    expect(posts).toEqual(['check', 'echo-bytes', 'greet', 'half', 'maybe-name', 'move', 'split'].map(api).sort());
  });

  it('generates the post-return as <core name>_post taking the return-area pointer', () => {
    const { files } = generateExportGlue(resolvePackage([{ path: 'glue.wit', text: WIT }]), 'glue');
    expect(files['glue.ts']).toContain('export function api_greet_post(__r0: i32): void {\n  __freePending();\n}');
    expect(files['glue.ts']).not.toContain('api_sum_post');
  });
});

describe('generateExportGlue (refusals)', () => {
  const gen = (body: string, world = 'export api;'): unknown => {
    try {
      generateExportGlue(resolvePackage([{ path: 'x.wit', text: `package t:x;\ninterface api {\n${body}\n}\nworld w { ${world} }\n` }]), 'w');
      return undefined;
    } catch (e) {
      return e;
    }
  };

  it.each([
    ['flags fl { a, b }\nf: func() -> fl;', /function 'api\.f': flags 'fl'/],
    ['resource r;\nf: func(x: r);', /resource 'r'/],
  ])('%s', (body, message) => {
    const error = gen(body);
    expect(error).toBeInstanceOf(BindgenError);
    expect((error as BindgenError).code).toBe('E_BINDGEN_UNSUPPORTED');
    expect((error as BindgenError).message).toMatch(message);
  });

  it('refuses imports unless told to ignore them', () => {
    const error = gen('f: func();', 'import api; export g: func();');
    expect((error as BindgenError).code).toBe('E_BINDGEN_UNSUPPORTED');
    expect((error as BindgenError).message).toMatch(/imports api/);
    const ok = generateExportGlue(resolvePackage([{ path: 'x.wit', text: 'package t:x;\ninterface api { f: func(); }\nworld w { import api; export g: func(); }\n' }]), 'w', { imports: 'ignore' });
    expect(ok.files['glue.ts']).toContain('export function g(): void');
  });
});
