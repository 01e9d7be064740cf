// @edge/guest end to end: a worker using every part of the API is written to a temporary directory (outside the
// repo), built with buildWorker, transpiled with jco and called in Node with recording platform imports.

import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWorker } from '../../host/build/worker-build.ts';
import { bodyText, instantiateWorker, request, type TestWorker, type WitResponse } from './test-worker.ts';

const WORKER = `import { Request, Response, ResponseWriter, Headers, URL, URLSearchParams, console, vars, jsonString,
  parseJsonString, decodeURIComponentLenient, utf8Encode } from "@edge/guest";
import { lines } from "./lines";

function headersRoute(request: Request): Response {
  const h = request.headers;
  const out = new Headers();
  out.append("X-Multi", "a");
  out.append("x-multi", "b");
  out.set("X-Single", "1");
  out.set("x-single", "2");
  out.append("x-gone", "1");
  out.delete("X-GONE");
  const o = new lines();
  o.add("get", h.get("X-Repeat") || "(null)");
  o.add("getAll", h.getAll("x-repeat").join("|"));
  o.add("has", h.has("CONTENT-TYPE") ? "yes" : "no");
  o.add("missing", h.get("nope") == null ? "null" : "not null");
  o.add("size", h.size.toString());
  o.add("out", out.get("x-multi")! + ";" + out.get("X-Single")! + ";" + (out.has("x-gone") ? "gone?" : "deleted"));
  const entries = out.entries();
  for (let i = 0; i < entries.length; i++) o.add("entry", entries[i].name + "=" + entries[i].value);
  return new Response(o.text(), 201, out);
}

function chunksRoute(request: Request): Response {
  const body = request.body;
  if (body == null) return Response.text("no body");
  let count = 0;
  let total = 0;
  let chunk = body.read(1000);
  while (chunk != null) {
    count++;
    total += chunk.length;
    chunk = body.read(1000);
  }
  return Response.text(count.toString() + " " + total.toString());
}

function produce(writer: ResponseWriter): void {
  writer.writeText("one,");
  writer.writeText("two");
}

function streamRoute(request: Request): Response {
  const headers = new Headers();
  headers.set("Content-Type", "text/plain");
  const writer = Response.begin(200, headers);
  const n = I32.parseInt(request.searchParams.get("n") || "3", 10);
  let written = 0;
  for (let i = 0; i < n; i++) {
    if (!writer.write(utf8Encode("chunk " + i.toString() + ";"))) break;
    written++;
  }
  console.log("written " + written.toString() + " gone " + (writer.clientGone ? "yes" : "no"));
  if (request.searchParams.has("leave-open")) return Response.text("ignored");
  return writer.close();
}

function logRoute(): Response {
  console.log("log line");
  console.info(42);
  console.warn(1.5);
  console.error(true);
  console.debug("débug ✓");
  return Response.empty();
}

function varsRoute(): Response {
  const o = new lines();
  o.add("get", vars.get("GREETING") || "(null)");
  o.add("string", vars.string("GREETING") || "(null)");
  o.add("number", vars.get("COUNT") || "(null)");
  o.add("number-as-string", vars.string("COUNT") || "(null)");
  o.add("missing", vars.get("NOPE") == null ? "null" : "not null");
  o.add("names", vars.names().join(","));
  return Response.text(o.text());
}

function urlRoute(request: Request): Response {
  const u = new URL(request.url);
  const o = new lines();
  o.add("protocol", u.protocol);
  o.add("host", u.host);
  o.add("hostname", u.hostname);
  o.add("port", u.port);
  o.add("pathname", u.pathname);
  o.add("search", u.search);
  o.add("hash", u.hash);
  o.add("origin", u.origin);
  o.add("path", request.path);
  o.add("q", request.searchParams.get("q") || "(null)");
  o.add("all", request.searchParams.getAll("a").join("|"));
  o.add("flag", request.searchParams.has("flag") ? "yes" : "no");
  o.add("bad", request.searchParams.get("bad") || "(null)");
  const p = new URLSearchParams("?x=1&y=a b");
  p.set("x", "é&=");
  p.append("z", "");
  o.add("serialized", p.toString());
  o.add("decoded", decodeURIComponentLenient("a%20b+c%zz"));
  const rel = new URL("/only/path?k=v#frag");
  o.add("relative", rel.pathname + " " + rel.search + " " + rel.hash + " " + rel.origin);
  return Response.text(o.text());
}

function jsonRoute(): Response {
  const s = "quote \\" back \\\\ nl \\n tab \\t ctl \\u0001 é";
  const quoted = jsonString(s);
  const back = parseJsonString(quoted);
  const o = new lines();
  o.add("quoted", quoted);
  o.add("roundtrip", back != null && back == s ? "ok" : "mismatch");
  o.add("unicode", parseJsonString(" \\"\\\\u00e9\\\\u2713\\" ") || "(null)");
  o.add("not-a-string", parseJsonString("42") == null ? "null" : "not null");
  return Response.json("{\\"s\\":" + quoted + "}");
}

export function fetch(request: Request): Response {
  const path = request.path;
  if (path == "/headers") return headersRoute(request);
  if (path == "/text") return Response.text(request.text().length.toString() + ":" + request.text());
  if (path == "/bytes") return Response.bytes(request.bytes(), 200);
  if (path == "/chunks") return chunksRoute(request);
  if (path == "/stream") return streamRoute(request);
  if (path == "/stream-fn") return Response.stream(202, null, produce);
  if (path == "/log") return logRoute();
  if (path == "/vars") return varsRoute();
  if (path == "/url") return urlRoute(request);
  if (path == "/json") return jsonRoute();
  if (path == "/redirect") return Response.redirect("/elsewhere", 301);
  if (path == "/empty") return new Response(null, 204);
  if (path == "/ignore") return new Response("ignored the body");
  return Response.text("not found: " + path, 404);
}
`;

// A second module of the worker, imported relatively by the main one.
const LINES = `export class lines {
  private out: string = "";
  add(key: string, value: string): void { this.out += key + ": " + value + "\\n"; }
  text(): string { return this.out; }
}
`;

let dir: string;
let component: Uint8Array;
let warnings: string[];
let worker: TestWorker;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edge-sdk-test-'));
  await mkdir(join(dir, 'src'));
  await writeFile(join(dir, 'src/main.ts'), WORKER);
  await writeFile(join(dir, 'src/lines.ts'), LINES);
  ({ component, warnings } = await buildWorker({ dir, main: 'src/main.ts' }));
  worker = await instantiateWorker(component, { GREETING: 'hello "world"', COUNT: 3 });
}, 120_000);

afterAll(async () => {
  await worker?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function call(method: string, path: string, headers: [string, string][] = [], body?: string | Uint8Array): WitResponse {
  return worker.handle(request(method, `http://sdk.localhost:8787${path}`, headers, body));
}

describe('@edge/guest', () => {
  it('builds from a directory outside the repo without warnings', () => {
    expect(warnings).toEqual([]);
    expect(component.byteLength).toBeGreaterThan(1000);
  });

  it('Headers: case-insensitive get/has, repeated names, set/append/delete, entries in order', () => {
    const res = call('GET', '/headers', [['x-repeat', 'one'], ['x-repeat', 'two'], ['content-type', 'text/plain']]);
    expect(res.status).toBe(201);
    expect(bodyText(res)).toBe(
      'get: one, two\ngetAll: one|two\nhas: yes\nmissing: null\nsize: 3\nout: a, b;2;deleted\nentry: x-multi=a\nentry: x-multi=b\nentry: x-single=2\n',
    );
    expect(res.headers).toEqual([['x-multi', 'a'], ['x-multi', 'b'], ['x-single', '2']]);
  });

  it('text() decodes UTF-8; bytes() returns the body as it came; a second read returns the same body', () => {
    const text = 'grüße, 世界 ✓ 🎉';
    const res = call('POST', '/text', [], text);
    expect(bodyText(res)).toBe(`${text.length}:${text}`);
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => i % 256);
    const back = call('POST', '/bytes', [], bytes);
    expect(back.body).toEqual({ tag: 'bytes', val: bytes });
    expect(bodyText(call('GET', '/text'))).toBe('0:');
    expect(bodyText(call('POST', '/text', [], ''))).toBe('0:');
  });

  it('reads a body in chunks until none, and drops it once', () => {
    const req = request('POST', 'http://sdk.localhost/chunks', [], 'x'.repeat(10_500));
    const res = worker.handle(req);
    expect(bodyText(res)).toBe('11 10500');
    expect(req.body!.reads).toHaveLength(12);
    expect(req.body!.reads.every((m) => m === 1000)).toBe(true);
    expect(req.body!.dropped).toBe(1);
  });

  it('drops a body the handler never read', () => {
    const req = request('POST', 'http://sdk.localhost/ignore', [], 'unread');
    expect(bodyText(worker.handle(req))).toBe('ignored the body');
    expect(req.body!.reads).toEqual([]);
    expect(req.body!.dropped).toBe(1);
  });

  it('streams a response through begin-response and outgoing-body.write', () => {
    const before = worker.recorder.begun.length;
    const res = call('GET', '/stream?n=4');
    expect(res.body).toEqual({ tag: 'streamed' });
    const begun = worker.recorder.begun.slice(before);
    expect(begun).toHaveLength(1);
    expect(begun[0]!.status).toBe(200);
    expect(begun[0]!.headers).toEqual([['content-type', 'text/plain']]);
    expect(begun[0]!.body.chunks).toHaveLength(4);
    expect(begun[0]!.body.text()).toBe('chunk 0;chunk 1;chunk 2;chunk 3;');
    expect(begun[0]!.body.dropped).toBe(1);

    const fn = call('GET', '/stream-fn');
    expect(fn.body).toEqual({ tag: 'streamed' });
    const last = worker.recorder.begun.at(-1)!;
    expect(last.status).toBe(202);
    expect(last.body.text()).toBe('one,two');
    expect(last.body.dropped).toBe(1);
  });

  it('a streamed body left open is ended by the adapter, and the response is the streamed one', () => {
    const res = call('GET', '/stream?n=2&leave-open');
    expect(res.body).toEqual({ tag: 'streamed' });
    const last = worker.recorder.begun.at(-1)!;
    expect(last.body.text()).toBe('chunk 0;chunk 1;');
    expect(last.body.dropped).toBe(1);
  });

  it('stops writing once the client has gone away (write returns false)', () => {
    worker.recorder.closeAfterChunks = 2;
    try {
      expect(call('GET', '/stream?n=10').body).toEqual({ tag: 'streamed' });
    } finally {
      delete worker.recorder.closeAfterChunks;
    }
    expect(worker.recorder.begun.at(-1)!.body.chunks).toHaveLength(2);
    expect(worker.recorder.logs.at(-1)).toEqual({ level: 'info', message: 'written 2 gone yes' });
  });

  it('console.* → log.write with the right level; numbers and booleans as text', () => {
    const before = worker.recorder.logs.length;
    expect(call('GET', '/log').status).toBe(204);
    expect(worker.recorder.logs.slice(before)).toEqual([
      { level: 'info', message: 'log line' },
      { level: 'info', message: '42' },
      { level: 'warn', message: '1.5' },
      { level: 'error', message: 'true' },
      { level: 'debug', message: 'débug ✓' },
    ]);
  });

  it('vars.get gives JSON text, vars.string decodes string vars only, vars.names lists them', () => {
    expect(bodyText(call('GET', '/vars'))).toBe(
      'get: "hello \\"world\\""\nstring: hello "world"\nnumber: 3\nnumber-as-string: (null)\nmissing: null\nnames: COUNT,GREETING\n',
    );
  });

  it('URL parts, search params decoded (+, %XX as UTF-8, malformed kept), URLSearchParams serialized', () => {
    const res = worker.handle(request('GET', 'http://sdk.localhost:8787/url?q=J%C3%BCrgen+M%C3%BCller&a=1&a=2&flag&bad=100%&bad=2#top'));
    expect(bodyText(res)).toBe(
      [
        'protocol: http:',
        'host: sdk.localhost:8787',
        'hostname: sdk.localhost',
        'port: 8787',
        'pathname: /url',
        'search: ?q=J%C3%BCrgen+M%C3%BCller&a=1&a=2&flag&bad=100%&bad=2',
        'hash: #top',
        'origin: http://sdk.localhost:8787',
        'path: /url',
        'q: Jürgen Müller',
        'all: 1|2',
        'flag: yes',
        'bad: 100%',
        'serialized: x=%C3%A9%26%3D&y=a+b&z=',
        'decoded: a b+c%zz',
        'relative: /only/path ?k=v #frag null',
        '',
      ].join('\n'),
    );
  });

  it('jsonString escapes, parseJsonString reads it back; Response.json sets the content type', () => {
    const res = call('GET', '/json');
    expect(res.headers).toEqual([['content-type', 'application/json']]);
    expect(JSON.parse(bodyText(res))).toEqual({ s: 'quote " back \\ nl \n tab \t ctl \u0001 é' });
  });

  it('redirects, empty responses and 404s', () => {
    const r = call('GET', '/redirect');
    expect(r.status).toBe(301);
    expect(r.headers).toEqual([['location', '/elsewhere']]);
    expect(r.body).toEqual({ tag: 'empty' });
    expect(call('GET', '/empty')).toEqual({ status: 204, headers: [], body: { tag: 'empty' } });
    const nf = call('GET', '/nowhere');
    expect(nf.status).toBe(404);
    expect(bodyText(nf)).toBe('not found: /nowhere');
  });

  it('memory stays flat over 1,000 calls', () => {
    const body = 'é'.repeat(5000);
    const loop = () => {
      for (let i = 0; i < 1000; i++) {
        const req = request('POST', `http://sdk.localhost/text?i=${i}`, [['x-i', String(i)]], body);
        const res = worker.handle(req);
        if (res.status !== 200) throw new Error(`status ${res.status}`);
        call('GET', '/stream?n=3');
      }
      worker.recorder.logs.length = 0;
      worker.recorder.begun.length = 0;
    };
    // The incremental GC may grow the heap once while it settles on its threshold (where depends on the static data
    // the world's glue lays out); a leak grows it every round. Two rounds to settle, then three must not grow it:
    // 3,000 calls leaking even 22 bytes each would take another 64 KiB page.
    loop();
    loop();
    const before = worker.memory()!.buffer.byteLength;
    loop();
    loop();
    loop();
    expect(worker.memory()!.buffer.byteLength).toBe(before);
    expect(before).toBeLessThan(16 * 1024 * 1024);
  });
});

describe('@edge/guest failures', () => {
  it('a body error traps after logging what failed', async () => {
    const w = await instantiateWorker(component);
    try {
      expect(() => w.handle(request('POST', 'http://sdk.localhost/text', [], undefined, { tag: 'closed' }))).toThrow();
      expect(w.recorder.logs).toEqual([{ level: 'error', message: 'edge guest: reading the request body failed: the client went away (closed)' }]);
    } finally {
      await w.dispose();
    }
    const w2 = await instantiateWorker(component);
    try {
      expect(() => w2.handle(request('POST', 'http://sdk.localhost/text', [], undefined, { tag: 'too-large', val: 1024n }))).toThrow();
      expect(w2.recorder.logs[0]!.message).toBe('edge guest: reading the request body failed: the body is larger than the limit of 1024 bytes (too-large)');
    } finally {
      await w2.dispose();
    }
  });

  it('a begin-response error traps after logging it', async () => {
    const w = await instantiateWorker(component);
    try {
      w.recorder.beginError = { tag: 'io', val: 'socket reset' };
      expect(() => w.handle(request('GET', 'http://sdk.localhost/stream'))).toThrow();
      expect(w.recorder.logs).toEqual([{ level: 'error', message: 'edge guest: begin-response failed: I/O error: socket reset' }]);
    } finally {
      await w.dispose();
    }
  });
});
