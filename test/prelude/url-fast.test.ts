// The prelude splits simple absolute http(s) URLs itself (no call to the host's parser): for every input, the record
// must be exactly what WHATWG parsing (Node's URL, Ada, as the host uses) gives, whichever path it took.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPreludeIsolate, type PreludeIsolate } from '../helpers/prelude-isolate.ts';

const FIELDS = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'] as const;

const INPUTS = [
  'http://example.com', 'https://example.com/', 'http://example.com?x=1', 'http://example.com/?', 'http://example.com/#', 'http://example.com/a#b',
  'http://a.localhost:8787/path/to/x.json?q=1&r=%20s#frag', 'https://api.example.org:8443/v1/items?limit=10', 'http://127.0.0.1:9000/x',
  'http://127.1/', 'http://0x7f.1/', 'http://999.1.1.1/', 'http://1.2.3.4.5/', 'http://01.2.3.4/', 'http://example.com:80/', 'https://example.com:443/',
  'http://example.com:0080/', 'http://example.com:65536/', 'http://EXAMPLE.com/', 'HTTP://example.com/', 'http://example.com/a/./b', 'http://example.com/a/../b',
  'http://example.com/a/%2e%2E/b', 'http://example.com/.', 'http://example.com/..', "http://example.com/it's", "http://example.com/?it's", "http://example.com/#it's",
  'http://example.com/a b', 'http://example.com/?a b', 'http://example.com/a\\b', 'http://user:pw@example.com/', 'http://xn--nxasmq6b.com/', 'http://xn--x.com/',
  'http://example.com./', 'http://-bad.com/', 'http://a..b/', 'http://example.com/%zz', 'http://example.com/~user/(x)*,;=:@!$&', 'ftp://example.com/', 'http://é.com/',
  'http://example.com/path?q=%E2%9C%93#x?y/z', 'http://[::1]:8080/', 'https://a-b.c-d.example/x', 'http://a.b/c?d#e#f',
];

describe('URL: simple absolute URLs split in the isolate', () => {
  let p: PreludeIsolate;
  beforeAll(async () => {
    p = await createPreludeIsolate();
  });
  afterAll(() => p.dispose());

  it.each(INPUTS)('%s parses as WHATWG says', async (input) => {
    const got = await p.run<Record<string, string> | null>(`const u = URL.parse(${JSON.stringify(input)}); return u && Object.fromEntries(${JSON.stringify(FIELDS)}.map((k) => [k, u[k]]));`);
    const want = URL.parse(input);
    expect(got).toEqual(want && Object.fromEntries(FIELDS.map((k) => [k, want[k]])));
  });
});
