import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPreludeIsolate, type PreludeIsolate } from '../helpers/prelude-isolate.ts';

let pi: PreludeIsolate;
beforeAll(async () => {
  pi = await createPreludeIsolate();
});
afterAll(() => pi.dispose());

const PARTS = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'] as const;

function snapshot(u: URL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of PARTS) out[p] = u[p];
  return out;
}

// Each case: a starting URL, a setter and a value. Node's own URL (WHATWG-conformant) is the reference.
const SETTER_CASES: Array<[string, (typeof PARTS)[number], string]> = [
  ['https://example.com/a/b?q=1#h', 'pathname', '/x/y'],
  ['https://example.com/a/b?q=1#h', 'pathname', 'no-slash'],
  ['https://example.com/a/b?q=1#h', 'pathname', 'sp ace/q?m#h%41'],
  ['https://example.com/a/b?q=1#h', 'pathname', '/./a/../b/%2e%2E/c'],
  ['https://example.com/a', 'pathname', '\\back\\slash'],
  ['https://example.com/a', 'pathname', 'ünï/😀'],
  ['foo://host/a', 'pathname', 'rel'],
  ['foo://host/a', 'pathname', ''],
  ['foo:/a', 'pathname', '//double'],
  ['mailto:someone@example.com', 'pathname', '/x'],
  ['https://example.com/a?q=1#h', 'search', 'x=1&y=2'],
  ['https://example.com/a?q=1#h', 'search', '?leading'],
  ['https://example.com/a?q=1#h', 'search', ''],
  ['https://example.com/a?q=1#h', 'search', 'a b#c"d'],
  ['https://example.com/a?q=1#h', 'search', '?'],
  ['https://example.com/a?q=1#h', 'hash', 'frag ment'],
  ['https://example.com/a?q=1#h', 'hash', '#x'],
  ['https://example.com/a?q=1#h', 'hash', ''],
  ['https://example.com/a?q=1#h', 'hash', 'trailing '],
  ['mailto:a@b.c', 'hash', 'x'],
  ['https://example.com:8080/a', 'host', 'other.org'],
  ['https://example.com:8080/a', 'host', 'other.org:9090'],
  ['https://example.com:8080/a', 'host', 'other.org:443'],
  ['https://example.com:8080/a', 'host', 'other.org:abc'],
  ['https://example.com:8080/a', 'host', 'other.org:99999'],
  ['https://example.com/a', 'host', 'other.org/path?x'],
  ['https://example.com/a', 'host', ''],
  ['https://example.com/a', 'host', 'EXAMPLE.ORG'],
  ['https://example.com/a', 'host', '[::1]:81'],
  ['https://example.com:8080/a', 'hostname', 'other.org'],
  ['https://example.com:8080/a', 'hostname', 'other.org:1'],
  ['https://example.com/a', 'hostname', 'bücher.de'],
  ['https://example.com/a', 'hostname', 'bad host'],
  ['https://example.com/a', 'port', '8443'],
  ['https://example.com:8443/a', 'port', '443'],
  ['https://example.com:8443/a', 'port', ''],
  ['https://example.com/a', 'port', '12ab'],
  ['https://example.com/a', 'port', 'ab'],
  ['https://example.com/a', 'port', '70000'],
  ['https://example.com/a', 'port', '0081'],
  ['file:///tmp/x', 'port', '80'],
  ['https://example.com/a', 'protocol', 'http'],
  ['https://example.com:80/a', 'protocol', 'http:'],
  ['http://example.com:443/a', 'protocol', 'HTTPS://ignored'],
  ['https://example.com/a', 'protocol', 'foo'],
  ['foo://example.com/a', 'protocol', 'https'],
  ['foo://example.com/a', 'protocol', 'bar'],
  ['https://example.com/a', 'protocol', 'ht tp'],
  ['https://u:p@example.com/a', 'protocol', 'file'],
  ['https://example.com/a', 'protocol', 'wss'],
  ['https://example.com/a', 'username', 'us er@:x'],
  ['https://example.com/a', 'username', 'ünï'],
  ['https://u@example.com/a', 'username', ''],
  ['https://u:p@example.com/a', 'username', ''],
  ['https://example.com/a', 'password', 'p@ss:w/rd'],
  ['https://u:p@example.com/a', 'password', ''],
  ['file:///a', 'username', 'x'],
  ['mailto:x@y.z', 'username', 'x'],
  ['https://example.com/a', 'href', 'http://other.org/b?c#d'],
];

describe('URL', () => {
  it('parses like WHATWG URL, with and without a base', async () => {
    const inputs: Array<[string, string?]> = [
      ['https://user:pass@EXAMPLE.com:443/a/../b/./c?x=1 2#frag ment'],
      ['/path?q', 'https://example.com/base/'],
      ['../up', 'https://example.com/a/b/c'],
      ['http://[::1]:8080/'],
      ['https://bücher.de/ü'],
      ['  https://trim.me/  '],
      ['data:text/plain,hello world'],
      ['file:///C:/dir/file'],
    ];
    const got = await pi.run<Array<Record<string, string>>>(`
      const inputs = ${JSON.stringify(inputs)};
      return inputs.map(([u, b]) => { const x = new URL(u, b); return Object.fromEntries(${JSON.stringify(PARTS)}.map((p) => [p, x[p]])); });
    `);
    expect(got).toEqual(inputs.map(([u, b]) => snapshot(new URL(u, b))));
  });

  it('throws TypeError: Invalid URL for relative input without a base and for garbage', async () => {
    expect(
      await pi.run(`
        const out = [];
        for (const [u, b] of [['/relative'], ['http://exa mple.com'], ['https://'], ['x', 'not a base']]) {
          try { new URL(u, b); out.push('parsed'); } catch (e) { out.push(e.constructor.name + ': ' + e.message); }
        }
        return out;
      `),
    ).toEqual(['TypeError: Invalid URL: /relative', 'TypeError: Invalid URL: http://exa mple.com', 'TypeError: Invalid URL: https://', 'TypeError: Invalid URL: x']);
  });

  it('has canParse, parse, toString and toJSON', async () => {
    expect(
      await pi.run(`
        const u = URL.parse('/p', 'https://a.example');
        return [URL.canParse('https://a'), URL.canParse('nope'), URL.canParse('/x', 'https://a'), URL.parse('nope'), u instanceof URL, u.href, String(u), JSON.stringify({ u })];
      `),
    ).toEqual([true, false, true, null, true, 'https://a.example/p', 'https://a.example/p', '{"u":"https://a.example/p"}']);
  });

  it.each(SETTER_CASES)('%s: set %s = %j matches WHATWG', async (start, part, value) => {
    const expected = new URL(start);
    (expected as unknown as Record<string, string>)[part] = value;
    const got = await pi.run(`
      const u = new URL(${JSON.stringify(start)});
      u[${JSON.stringify(part)}] = ${JSON.stringify(value)};
      return Object.fromEntries(${JSON.stringify(PARTS)}.map((p) => [p, u[p]]));
    `);
    expect(got).toEqual(snapshot(expected));
  });

  it('setting href to an invalid URL throws and keeps the URL', async () => {
    expect(
      await pi.run(`
        const u = new URL('https://a.example/');
        try { u.href = 'nope'; } catch (e) { return [e.constructor.name, u.href]; }
        return 'no error';
      `),
    ).toEqual(['TypeError', 'https://a.example/']);
  });

  it('links searchParams and search both ways', async () => {
    expect(
      await pi.run(`
        const u = new URL('https://a.example/p?a=1&b=2#h');
        const sp = u.searchParams;
        sp.append('c', 'x y');
        sp.set('a', 'é');
        const afterAppend = u.href;
        u.search = '?z=9';
        const afterSearch = [...sp];
        u.href = 'https://b.example/?k=v';
        const afterHref = [...sp];
        sp.delete('k');
        const afterDelete = u.href;
        return [sp === u.searchParams, afterAppend, afterSearch, afterHref, afterDelete, u.search];
      `),
    ).toEqual([
      true,
      'https://a.example/p?a=%C3%A9&b=2&c=x+y#h',
      [['z', '9']],
      [['k', 'v']],
      'https://b.example/',
      '',
    ]);
  });
});

describe('URLSearchParams', () => {
  it('parses + as space, percent-escapes, unicode and stray %', async () => {
    expect(
      await pi.run(`
        const p = new URLSearchParams('?a=1+2&b=%20x%2By&c=%E2%82%AC&d=%zz&e=%E2%82&&f&=g&a=3');
        return [[...p], p.get('a'), p.getAll('a'), p.has('f'), p.get('nope'), p.size];
      `),
    ).toEqual([
      [['a', '1 2'], ['b', ' x+y'], ['c', '€'], ['d', '%zz'], ['e', '\uFFFD'], ['f', ''], ['', 'g'], ['a', '3']],
      '1 2',
      ['1 2', '3'],
      true,
      null,
      8,
    ]);
  });

  it('serializes like application/x-www-form-urlencoded (matches Node)', async () => {
    const pairs: Array<[string, string]> = [
      ['a b', 'c+d'],
      ['*-._', '~!\'()'],
      ['emoji', '😀'],
      ['lone', '\uD800'],
      ['amp&eq=', '%25'],
      ['newline', 'a\r\nb'],
    ];
    const got = await pi.run(`return new URLSearchParams(${JSON.stringify(pairs)}).toString()`);
    expect(got).toBe(new URLSearchParams(pairs).toString());
  });

  it('constructs from records, sequences and another URLSearchParams', async () => {
    expect(
      await pi.run(`
        const a = new URLSearchParams({ x: '1', y: 2 });
        const b = new URLSearchParams([['k', 'v'], ['k', 'w']]);
        const c = new URLSearchParams(b);
        c.append('z', '1');
        let err = null;
        try { new URLSearchParams([['only-one']]); } catch (e) { err = e.constructor.name; }
        return [a.toString(), b.toString(), c.toString(), err];
      `),
    ).toEqual(['x=1&y=2', 'k=v&k=w', 'k=v&k=w&z=1', 'TypeError']);
  });

  it('has delete/has with value, set, stable sort and forEach', async () => {
    expect(
      await pi.run(`
        const p = new URLSearchParams('b=1&a=2&b=3&a=1&c=0');
        const hv = [p.has('b', '3'), p.has('b', '4')];
        p.delete('b', '1');
        const afterDelete = p.toString();
        p.set('a', 'new');
        const afterSet = p.toString();
        p.append('a', 'z');
        p.sort();
        const seen = [];
        p.forEach((v, k) => seen.push(k + '=' + v));
        return [hv, afterDelete, afterSet, p.toString(), seen, [...p.keys()], [...p.values()]];
      `),
    ).toEqual([
      [true, false],
      'a=2&b=3&a=1&c=0',
      'a=new&b=3&c=0',
      'a=new&a=z&b=3&c=0',
      ['a=new', 'a=z', 'b=3', 'c=0'],
      ['a', 'a', 'b', 'c'],
      ['new', 'z', '3', '0'],
    ]);
  });
});
