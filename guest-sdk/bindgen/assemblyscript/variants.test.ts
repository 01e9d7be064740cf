// Variants (with and without payloads), tuples, and handles of imported resources in exported functions: generates
// glue for a world that imports `host` (variant/tuple functions, resource `body`) and exports `api`, builds it with an
// AssemblyScript handler, transpiles it with jco and instantiates it with JS imports.
//
// jco represents a variant as `{ tag: 'case-name', val }` (no `val` for a case without payload), a tuple as an
// array, u64 as BigInt, and an imported resource's handle as the JS instance.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestGuest, expectFlatMemory, type TestGuest } from './test-guest.ts';

const WIT = `package test:var@0.1.0;

interface host {
  variant shape { none, circle(f32), rect(tuple<f64, f64>), label(string), code(u64) }
  variant small { f(f32), i(u32) }
  variant body-error { closed, too-large(u64), io(string) }
  resource body {
    make: static func(data: list<u8>) -> body;
    read: func(max: u32) -> result<option<list<u8>>, body-error>;
  }
  echo: func(s: shape) -> shape;
  small-echo: func(s: small) -> small;
  swap: func(p: tuple<string, u32>) -> tuple<u32, string>;
}

interface api {
  use host.{shape, small, body};
  record req { name: string, body: option<body> }
  variant resp-body { empty, bytes(list<u8>), streamed }
  record resp { status: u16, body: resp-body }
  roundtrip: func(s: shape) -> shape;
  describe: func(s: shape) -> string;
  make: func(n: u32) -> shape;
  small-trip: func(s: small) -> small;
  tup: func(t: tuple<string, f32>) -> tuple<f32, string, u8>;
  handle: func(r: req) -> resp;
  pass: func(r: req) -> option<body>;
  fresh: func(n: u32) -> body;
}

world vars {
  import host;
  export api;
}
`;

const HANDLER = `import { Shape, Small, Req, Resp, RespBody, BodyError, TupleF64F64, TupleStringF32, TupleF32StringU8, TupleStringU32 } from "./glue-types";
import { echo, smallEcho, swap, Body } from "./glue-imports";

export function roundtrip(s: Shape): Shape {
  return echo(s);
}

export function describe(s: Shape): string {
  switch (s.tag) {
    case Shape.NONE: return "none";
    case Shape.CIRCLE: return "circle " + s.asCircle.toString();
    case Shape.RECT: return "rect " + s.asRect.f0.toString() + " " + s.asRect.f1.toString();
    case Shape.LABEL: return "label " + s.asLabel;
    case Shape.CODE: return "code " + s.asCode.toString();
  }
  return "?";
}

export function make(n: u32): Shape {
  if (n == 0) return Shape.none();
  if (n == 1) return Shape.circle(1.5);
  if (n == 2) return Shape.rect(new TupleF64F64(2.25, -1e300));
  if (n == 3) return Shape.label("é🎉");
  return Shape.code(u64.MAX_VALUE);
}

export function smallTrip(s: Small): Small {
  const e = smallEcho(s);
  if (e.tag == Small.F) return Small.f(e.asF + <f32>0.5);
  return Small.i(e.asI + 1);
}

export function tup(t: TupleStringF32): TupleF32StringU8 {
  const s = swap(new TupleStringU32(t.f0, 7));
  return new TupleF32StringU8(t.f1 * 2, s.f1 + "|" + t.f0, <u8>s.f0);
}

export function handle(r: Req): Resp {
  const b = r.body;
  if (b == null) return new Resp(204, RespBody.empty());
  let total = 0;
  let out = new Array<u8>();
  for (;;) {
    const c = b.read(4);
    if (!c.isOk) {
      const e = c.error;
      b.drop();
      if (e.tag == BodyError.TOO_LARGE) return new Resp(413, RespBody.bytes(Uint8Array.wrap(String.UTF8.encode(e.asTooLarge.toString()))));
      if (e.tag == BodyError.IO) return new Resp(500, RespBody.bytes(Uint8Array.wrap(String.UTF8.encode(e.asIo))));
      return new Resp(499, RespBody.streamed());
    }
    const chunk = c.value;
    if (chunk == null) break;
    for (let i = 0; i < chunk.length; i++) out.push(chunk[i]);
    total += chunk.length;
  }
  b.drop();
  const bytes = new Uint8Array(out.length);
  for (let i = 0; i < out.length; i++) bytes[i] = out[i];
  return new Resp(<u16>(200 + (total > 0 ? 1 : 0)), RespBody.bytes(bytes));
}

export function pass(r: Req): Body | null {
  return r.body;
}

export function fresh(n: u32): Body {
  const a = new Uint8Array(<i32>n);
  a.fill(7);
  return Body.make(a);
}
`;

type Shape =
  | { tag: 'none' }
  | { tag: 'circle'; val: number }
  | { tag: 'rect'; val: [number, number] }
  | { tag: 'label'; val: string }
  | { tag: 'code'; val: bigint };
type Small = { tag: 'f'; val: number } | { tag: 'i'; val: number };

class Body {
  data: Uint8Array;
  fail: { tag: 'err'; val: unknown } | undefined;
  disposed = 0;
  constructor(data: Uint8Array, fail?: { tag: 'err'; val: unknown }) {
    this.data = data;
    this.fail = fail;
  }
  static make(data: Uint8Array): Body {
    return new Body(data);
  }
  read(max: number): Uint8Array | undefined | { tag: 'err'; val: unknown } {
    if (this.fail) return this.fail;
    if (this.data.length === 0) return undefined;
    const c = this.data.slice(0, max);
    this.data = this.data.slice(max);
    return c;
  }
  [Symbol.dispose](): void {
    this.disposed++;
  }
}

interface Api {
  roundtrip(s: Shape): Shape;
  describe(s: Shape): string;
  make(n: number): Shape;
  smallTrip(s: Small): Small;
  tup(t: [string, number]): [number, string, number];
  handle(r: { name: string; body: Body | undefined }): { status: number; body: { tag: string; val?: Uint8Array } };
  pass(r: { name: string; body: Body | undefined }): Body | undefined;
  fresh(n: number): Body;
}

const echo = (s: Shape): Shape => {
  switch (s.tag) {
    case 'none':
      return s;
    case 'circle':
      return { tag: 'circle', val: s.val * 2 };
    case 'rect':
      return { tag: 'rect', val: [s.val[1], s.val[0]] };
    case 'label':
      return { tag: 'label', val: `${s.val}!` };
    case 'code':
      return { tag: 'code', val: s.val - 1n };
  }
};

let guest: TestGuest<{ api: Api }>;
let api: Api;
let generated: Record<string, string>;

beforeAll(async () => {
  guest = await buildTestGuest<{ api: Api }>({
    world: 'vars',
    wit: WIT,
    handler: HANDLER,
    imports: {
      'test:var/host': {
        Body,
        echo,
        smallEcho: (s: Small): Small => (s.tag === 'f' ? { tag: 'f', val: s.val * 4 } : { tag: 'i', val: s.val * 3 }),
        swap: ([s, n]: [string, number]): [number, string] => [n + s.length, s.toUpperCase()],
      },
    },
  });
  api = guest.instance.api;
  generated = guest.generated;
}, 60_000);

afterAll(async () => {
  await guest.dispose();
});

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('variants, tuples, imported handles in exports (built, transpiled, instantiated)', () => {
  it('generates a class per variant with tag constants, constructors and accessors', () => {
    const t = generated['glue-types.ts']!;
    expect(t).toContain('export class Shape {');
    expect(t).toContain('  static readonly NONE: u32 = 0;');
    expect(t).toContain('  static readonly TOO_LARGE: u32 = 1;');
    expect(t).toContain('  static circle(v: f32): Shape {');
    expect(t).toContain('  get asRect(): TupleF64F64 {');
    expect(t).toContain('export class TupleF32StringU8 {');
    expect(generated['glue.ts']).toContain('import { Body } from "./glue-imports";');
  });

  it('variants in both directions (f32/f64/u64/string payloads in joined i64 slots)', () => {
    const cases: [Shape, Shape][] = [
      [{ tag: 'none' }, { tag: 'none' }],
      [{ tag: 'circle', val: 1.25 }, { tag: 'circle', val: 2.5 }],
      [{ tag: 'rect', val: [3.5, -1e300] }, { tag: 'rect', val: [-1e300, 3.5] }],
      [{ tag: 'label', val: 'é🎉' }, { tag: 'label', val: 'é🎉!' }],
      [{ tag: 'label', val: '' }, { tag: 'label', val: '!' }],
      [{ tag: 'code', val: 2n ** 64n - 1n }, { tag: 'code', val: 2n ** 64n - 2n }],
    ];
    for (const [arg, want] of cases) expect(api.roundtrip(arg)).toEqual(want);
    expect(api.describe({ tag: 'none' })).toBe('none');
    expect(api.describe({ tag: 'circle', val: 0.5 })).toBe('circle 0.5');
    expect(api.describe({ tag: 'rect', val: [1.5, -2] })).toBe('rect 1.5 -2.0');
    expect(api.describe({ tag: 'label', val: 'wörld' })).toBe('label wörld');
    expect(api.describe({ tag: 'code', val: 2n ** 63n })).toBe('code 9223372036854775808');
    expect(api.make(0)).toEqual({ tag: 'none' });
    expect(api.make(1)).toEqual({ tag: 'circle', val: 1.5 });
    expect(api.make(2)).toEqual({ tag: 'rect', val: [2.25, -1e300] });
    expect(api.make(3)).toEqual({ tag: 'label', val: 'é🎉' });
    expect(api.make(4)).toEqual({ tag: 'code', val: 2n ** 64n - 1n });
  });

  it('an f32 payload in an i32 slot', () => {
    expect(api.smallTrip({ tag: 'f', val: 1.5 })).toEqual({ tag: 'f', val: 6.5 });
    expect(api.smallTrip({ tag: 'f', val: -0.25 })).toEqual({ tag: 'f', val: -0.5 });
    expect(api.smallTrip({ tag: 'i', val: 1_000_000_000 })).toEqual({ tag: 'i', val: 3_000_000_001 });
  });

  it('tuples in both directions', () => {
    expect(api.tup(['ab', 1.5])).toEqual([3, 'AB|ab', 9]);
    expect(api.tup(['', 0])).toEqual([0, '|', 7]);
  });

  it('an own handle inside an exported record parameter; variant results; errors with payloads', () => {
    const b = new Body(bytes('hello wörld'));
    expect(api.handle({ name: 'x', body: b })).toEqual({ status: 201, body: { tag: 'bytes', val: bytes('hello wörld') } });
    expect(b.disposed).toBe(1);
    expect(api.handle({ name: 'x', body: undefined })).toEqual({ status: 204, body: { tag: 'empty' } });
    expect(api.handle({ name: 'x', body: new Body(bytes(''), { tag: 'err', val: { tag: 'too-large', val: 2n ** 40n } }) })).toEqual({
      status: 413,
      body: { tag: 'bytes', val: bytes('1099511627776') },
    });
    expect(api.handle({ name: 'x', body: new Body(bytes(''), { tag: 'err', val: { tag: 'io', val: 'ö' } }) })).toEqual({ status: 500, body: { tag: 'bytes', val: bytes('ö') } });
    expect(api.handle({ name: 'x', body: new Body(bytes(''), { tag: 'err', val: { tag: 'closed' } }) })).toEqual({ status: 499, body: { tag: 'streamed' } });
  });

  it('returned own handles are moved out to the host', () => {
    const b = new Body(bytes('abc'));
    const back = api.pass({ name: 'y', body: b });
    expect(back).toBe(b);
    expect(b.disposed).toBe(0);
    expect(api.pass({ name: 'y', body: undefined })).toBeUndefined();
    const f = api.fresh(5);
    expect(f).toBeInstanceOf(Body);
    expect(f.data).toEqual(new Uint8Array(5).fill(7));
  });

  it('1,000 calls keep the guest memory flat', () => {
    const long = 'x'.repeat(10_000) + 'é';
    const body = bytes('y'.repeat(2_000));
    const loop = (): void => {
      for (let i = 0; i < 1000; i++) {
        expect(api.roundtrip({ tag: 'label', val: long })).toEqual({ tag: 'label', val: `${long}!` });
        expect(api.handle({ name: long, body: new Body(body) }).body.val!.length).toBe(2_000);
        expect(api.tup([long, 1])[1].length).toBe(2 * long.length + 1);
        expect(api.pass({ name: long, body: new Body(body) })).toBeInstanceOf(Body);
      }
    };
    expectFlatMemory(guest, loop);
  });
});
