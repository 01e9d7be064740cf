// HTMLRewriter in JS workers, against a real host: lol-html's wasm module, compiled once by the host, rewrites bodies
// as they stream (from a string Response and from a fetch() subrequest), with the Workers API for elements, text,
// comments, the doctype and the document's end, async handlers, chaining, bad selectors and handlers that throw.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { collectUpload } from '../host/deploy/upload.ts';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';

let t: TestHost;
let origin: Server;
let originUrl = '';
const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
const events: Array<{ worker?: string; kind?: string; message?: string }> = [];

beforeAll(async () => {
  origin = createServer((req, res) => {
    const route = routes.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (route) return route(req, res);
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  originUrl = `http://127.0.0.1:${(origin.address() as { port: number }).port}`;
  t = await startTestHost({ egress: { allow: ['127.0.0.1/32'] } });
  t.host.logs.subscribeAll((e) => events.push(e as (typeof events)[number]));
});
afterAll(async () => {
  await t?.close();
  await new Promise((r) => origin.close(r));
});

/**
 * Deploys a worker whose fetch handler is `body` (an async function body with `request` in scope). With room for CPU:
 * an isolate's first rewrite loads the stream classes and instantiates lol-html (~10-30 ms on a busy 2-core machine).
 */
async function deployHandler(name: string, body: string, extraToml = '[limits]\ncpu_ms = 1000'): Promise<void> {
  const source = `export default { async fetch(request, env, ctx) {\n${body}\n} };`;
  const r = await t.deploy(name, { toml: manifestFor(name, 'index.js', extraToml), modules: { 'index.js': source } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
}

const html = (s: string) => JSON.stringify(s);

describe('HTMLRewriter', () => {
  it('rewrites elements and attributes with the Workers Element API', async () => {
    await deployHandler(
      'hr-element',
      `const seen = [];
      const rewriter = new HTMLRewriter()
        .on('a[href]', {
          element(el) {
            seen.push([el.tagName, el.getAttribute('href'), el.hasAttribute('title'), el.hasAttribute('nope'), [...el.attributes], el.namespaceURI]);
            el.setAttribute('href', el.getAttribute('href').replace('http:', 'https:'));
            el.removeAttribute('title');
            el.setAttribute('rel', 'noopener');
          },
        })
        .on('b', { element(el) { el.tagName = 'strong'; } })
        .on('#before', { element(el) { el.before('<hr>', { html: true }); el.after('<after>'); } })
        .on('#prepend', { element(el) { el.prepend('<i>first</i>', { html: true }); el.append(' & last'); } })
        .on('#inner', { element(el) { el.setInnerContent('<em>new</em>', { html: true }); } })
        .on('#replace', { element(el) { el.replace('<span>replaced</span>', { html: true }); seen.push(['removed after replace', el.removed]); } })
        .on('#gone', { element(el) { el.remove(); } })
        .on('#unwrap', { element(el) { el.removeAndKeepContent(); } })
        .on('ul', { element(el) { el.onEndTag((end) => { seen.push(['end', end.name]); end.before('<li>added</li>', { html: true }); }); } })
        .on('svg', { element(el) { seen.push(['svg', el.namespaceURI]); } });
      const res = rewriter.transform(new Response(${html(
        '<a href="http://example.com/x" title="t">link</a><b>bold</b><p id="before">p</p><div id="prepend">mid</div>' +
          '<div id="inner">old <b>x</b></div><div id="replace">r</div><div id="gone">g<span>h</span></div><div id="unwrap"><span>kept</span></div>' +
          '<ul><li>one</li></ul><svg><rect/></svg>',
      )}, { headers: { 'content-type': 'text/html; charset=utf-8', 'content-length': '1', 'x-kept': 'yes' } }));
      const text = await res.text();
      return Response.json({ text, seen, status: res.status, type: res.headers.get('content-type'), length: res.headers.get('content-length'), kept: res.headers.get('x-kept') });`,
    );
    const r = await t.get('hr-element', '/');
    expect(r.status).toBe(200);
    const out = JSON.parse(r.text) as { text: string; seen: unknown[]; type: string; length: string | null; kept: string };
    expect(out.text).toBe(
      '<a href="https://example.com/x" rel="noopener">link</a><strong>bold</strong><hr><p id="before">p</p>&lt;after&gt;' +
        '<div id="prepend"><i>first</i>mid &amp; last</div><div id="inner"><em>new</em></div><span>replaced</span>' +
        '<span>kept</span><ul><li>one</li><li>added</li></ul><svg><rect/></svg>',
    );
    expect(out.seen).toEqual([
      ['a', 'http://example.com/x', true, false, [['href', 'http://example.com/x'], ['title', 't']], 'http://www.w3.org/1999/xhtml'],
      ['removed after replace', true],
      ['end', 'ul'],
      ['svg', 'http://www.w3.org/2000/svg'],
    ]);
    // Same head, but Content-Length, which the rewrite changes.
    expect([out.type, out.length, out.kept]).toEqual(['text/html; charset=utf-8', null, 'yes']);
  });

  it('hands text chunks and comments to their handlers, and the document to onDocument', async () => {
    await deployHandler(
      'hr-text',
      `const chunks = [];
      const doc = [];
      const res = new HTMLRewriter()
        .on('p', {
          text(t) {
            chunks.push([t.text, t.lastInTextNode]);
            if (t.text.includes('secret')) t.replace(t.text.replace('secret', '[redacted]'));
          },
          comments(c) { doc.push(['p comment', c.text]); c.text = ' rewritten '; },
        })
        .on('h1', { text(t) { if (!t.lastInTextNode) { t.before('<'); t.after('>'); } } })
        .on('footer', { comments(c) { c.remove(); } })
        .onDocument({
          doctype(d) { doc.push(['doctype', d.name, d.publicId, d.systemId]); },
          comments(c) { doc.push(['comment', c.text, c.removed]); },
          text(t) { if (t.lastInTextNode) doc.push(['last text']); },
          end(end) { end.append('<!-- the end -->', { html: true }); },
        })
        .transform(new Response(${html(
          '<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd"><!--top--><h1>Title</h1>' +
            '<p>a secret here<!--c--></p><footer><!--f--></footer>',
        )}));
      return Response.json({ text: await res.text(), chunks, doc });`,
    );
    const out = JSON.parse((await t.get('hr-text', '/')).text) as { text: string; chunks: unknown[]; doc: unknown[] };
    expect(out.text).toBe(
      '<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd"><!--top--><h1>&lt;Title&gt;</h1>' +
        '<p>a [redacted] here<!-- rewritten --></p><footer></footer><!-- the end -->',
    );
    expect(out.chunks).toEqual([['a secret here', false], ['', true]]);
    expect(out.doc).toEqual([
      ['doctype', 'html', '-//W3C//DTD HTML 4.01//EN', 'http://www.w3.org/TR/html4/strict.dtd'],
      ['comment', 'top', false],
      ['last text'],
      ['last text'],
      ['p comment', 'c'],
      // Element handlers run before document handlers: these see what the others did.
      ['comment', ' rewritten ', false],
      ['comment', 'f', true],
    ]);
  });

  it('awaits async handlers, in document order, and concurrent rewrites in one isolate stay apart', async () => {
    routes.set('/name', (req, res) => res.end(`name-${new URL(req.url ?? '/', 'http://x').searchParams.get('id')}`));
    await deployHandler(
      'hr-async',
      `const id = new URL(request.url).searchParams.get('id');
      const order = [];
      const res = new HTMLRewriter()
        .on('span', {
          async element(el) {
            const n = el.getAttribute('data-n');
            await new Promise((r) => setTimeout(r, 10 - Number(n) * 3));
            const who = await (await fetch(${html(originUrl)} + '/name?id=' + id + '-' + n)).text();
            order.push(n);
            el.setInnerContent(who);
          },
        })
        .onDocument({ async end(end) { await new Promise((r) => setTimeout(r, 1)); end.append('<!--' + order.join(',') + '-->', { html: true }); } })
        .transform(new Response('<span data-n="1"></span><span data-n="2"></span><span data-n="3"></span>'));
      return new Response(res.body, { headers: { 'content-type': 'text/html' } });`,
    );
    const ids = ['a', 'b', 'c', 'd'];
    const results = await Promise.all(ids.map((id) => t.get('hr-async', `/?id=${id}`)));
    for (const [i, r] of results.entries()) {
      const id = ids[i]!;
      expect(r.text).toBe(`<span data-n="1">name-${id}-1</span><span data-n="2">name-${id}-2</span><span data-n="3">name-${id}-3</span><!--1,2,3-->`);
    }
  });

  it('streams: the first rewritten bytes reach the client before the upstream body ends', async () => {
    // ~100 KB before the upstream pauses (each handler call costs the worker a few µs of CPU: lol-html is asyncify'd).
    const PARA = `<p class="x">${'text '.repeat(100)}</p>`;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let finished = false;
    routes.set('/slow.html', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      // A large first part, then the upstream holds until the client has seen rewritten bytes.
      res.write('<html><body>' + PARA.repeat(200));
      void released.then(() => {
        finished = true;
        res.end('<p class="x">last</p></body></html>');
      });
    });
    await deployHandler(
      'hr-stream',
      `const upstream = await fetch(${html(originUrl + '/slow.html')});
      return new HTMLRewriter().on('p.x', { element(el) { el.setAttribute('class', 'y'); } }).transform(upstream);`,
    );
    const { text, sawBeforeEnd } = await new Promise<{ text: string; sawBeforeEnd: boolean }>((resolve, reject) => {
      const req = httpRequest(`${t.host.dataUrl}/`, { headers: { host: `hr-stream.localhost:${t.port}` } }, (res) => {
        let got = '';
        let sawBeforeEnd = false;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          got += chunk;
          if (!finished && got.includes(PARA.replace('"x"', '"y"'))) {
            sawBeforeEnd = true;
            release();
          }
        });
        res.on('end', () => resolve({ text: got, sawBeforeEnd }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    expect(sawBeforeEnd).toBe(true);
    expect(text).toBe('<html><body>' + PARA.replace('"x"', '"y"').repeat(200) + '<p class="y">last</p></body></html>');
    expect(text.includes('class="x"')).toBe(false);
  });

  it('rewrites the body of a fetch() subrequest, keeping its status and headers', async () => {
    routes.set('/page.html', (_req, res) => {
      res.writeHead(203, { 'content-type': 'text/html', 'x-origin': 'yes' });
      res.end('<html><head><title>Old</title></head><body><h1>Hi</h1></body></html>');
    });
    await deployHandler(
      'hr-fetch',
      `const res = new HTMLRewriter()
        .on('title', { text(t) { if (t.text) t.replace('New'); } })
        .on('head', { element(el) { el.append('<meta name="edge" content="1">', { html: true }); } })
        .transform(await fetch(${html(originUrl + '/page.html')}));
      res.headers.set('x-rewritten', '1');
      return res;`,
    );
    const r = await t.get('hr-fetch', '/');
    expect(r.status).toBe(203);
    expect([r.headers['x-origin'], r.headers['x-rewritten'], r.headers['content-type']]).toEqual(['yes', '1', 'text/html']);
    expect(r.text).toBe('<html><head><title>New</title><meta name="edge" content="1"></head><body><h1>Hi</h1></body></html>');
  });

  it('chains rewriters: each transforms the output of the one before', async () => {
    await deployHandler(
      'hr-chain',
      `const first = new HTMLRewriter().on('p', { async element(el) { await null; el.setAttribute('data-first', '1'); el.append('<b>one</b>', { html: true }); } });
      const second = new HTMLRewriter().on('b', { async element(el) { await new Promise((r) => setTimeout(r, 1)); el.tagName = 'strong'; } });
      const third = new HTMLRewriter().on('p[data-first]', { element(el) { el.setAttribute('data-third', '3'); } });
      return third.transform(second.transform(first.transform(new Response('<p>a</p><p>b</p>'))));`,
    );
    expect((await t.get('hr-chain', '/')).text).toBe(
      '<p data-first="1" data-third="3">a<strong>one</strong></p><p data-first="1" data-third="3">b<strong>one</strong></p>',
    );
  });

  it('throws a TypeError at .on() for an invalid selector, and checks its arguments', async () => {
    await deployHandler(
      'hr-selector',
      `const errors = [];
      for (const [selector, handlers] of [['p:hover', {}], ['<<<', {}], ['a[', {}], ['p', 'nope'], ['p', { element: 1 }]]) {
        try { new HTMLRewriter().on(selector, handlers); errors.push(null); } catch (e) { errors.push(e.constructor.name + ': ' + e.message); }
      }
      // A rewriter with a good selector still works after the bad ones.
      const ok = await new HTMLRewriter().on('p', { element(el) { el.setAttribute('ok', ''); } }).transform(new Response('<p></p>')).text();
      return Response.json({ errors, ok });`,
    );
    const out = JSON.parse((await t.get('hr-selector', '/')).text) as { errors: Array<string | null>; ok: string };
    expect(out.errors[0]).toMatch(/^TypeError: HTMLRewriter\.on\(\): invalid selector "p:hover": /);
    expect(out.errors[1]).toMatch(/^TypeError: HTMLRewriter\.on\(\): invalid selector "<<<": /);
    expect(out.errors[2]).toMatch(/^TypeError: HTMLRewriter\.on\(\): invalid selector "a\[": /);
    expect(out.errors[3]).toBe('TypeError: HTMLRewriter.on(): the handlers must be an object with element, comments, text methods.');
    expect(out.errors[4]).toBe('TypeError: HTMLRewriter.on(): handlers.element must be a function, got number.');
    expect(out.ok).toBe('<p ok=""></p>');
  });

  it('errors the response stream when a handler throws or its promise rejects, and keeps serving', async () => {
    await deployHandler(
      'hr-throw',
      `const mode = new URL(request.url).pathname;
      const rewriter = new HTMLRewriter().on('p', {
        async element(el) {
          if (mode === '/read') return;
          if (mode === '/sync') throw new Error('sync handler broke');
          await null;
          throw new Error('async handler broke');
        },
      });
      if (mode === '/read') return new Response(await rewriter.transform(new Response('<p>fine</p>')).text());
      const inner = rewriter.transform(new Response('<div>' + 'x'.repeat(100) + '</div><p>boom</p>'));
      if (mode === '/caught') {
        try { await inner.text(); return new Response('no error'); } catch (e) { return new Response('caught ' + e.message); }
      }
      return inner;`,
    );
    expect((await t.get('hr-throw', '/caught')).text).toBe('caught async handler broke');
    for (const path of ['/sync', '/async']) {
      const outcome = await t.get('hr-throw', path).then(
        (r) => `status ${r.status} ${r.text}`,
        (e: Error) => `failed: ${e.message}`,
      );
      // The head went out before the body was read (as on Workers): the client sees the body cut off.
      expect(outcome, path).toBe('failed: aborted');
    }
    await new Promise((r) => setTimeout(r, 50));
    const exceptions = events.filter((e) => e.worker === 'hr-throw' && e.kind === 'exception').map((e) => e.message);
    expect(exceptions.some((m) => m?.includes('sync handler broke'))).toBe(true);
    expect(exceptions.some((m) => m?.includes('async handler broke'))).toBe(true);
    // The isolate and its instances are still usable.
    expect((await t.get('hr-throw', '/read')).text).toBe('<p>fine</p>');
  });

  it('cancels the upstream when the rewritten body is cancelled, even while a handler is pending', async () => {
    await deployHandler(
      'hr-cancel',
      `let upstreamCancel = null;
      let pulls = 0;
      const upstream = new ReadableStream({
        pull(c) { pulls++; c.enqueue(new TextEncoder().encode('<p>' + pulls + '</p>')); },
        cancel(reason) { upstreamCancel = String(reason); },
      });
      let handled = 0;
      const res = new HTMLRewriter().on('p', { async element(el) { await new Promise((r) => setTimeout(r, 20)); handled++; } }).transform(new Response(upstream));
      const reader = res.body.getReader();
      const pending = reader.read();
      await new Promise((r) => setTimeout(r, 5));
      await reader.cancel('client went away');
      const read = await pending;
      await new Promise((r) => setTimeout(r, 40));
      const after = await new HTMLRewriter().on('p', { async element(el) { await null; el.setAttribute('again', ''); } }).transform(new Response('<p>x</p>')).text();
      return Response.json({ upstreamCancel, read: read.done, handled, after });`,
    );
    expect(JSON.parse((await t.get('hr-cancel', '/')).text)).toEqual({ upstreamCancel: 'client went away', read: true, handled: 1, after: '<p again="">x</p>' });
  });

  it('works from a rewriter built at module scope, reused by every request', async () => {
    const source = `let count = 0;
      const rewriter = new HTMLRewriter().on('[data-count]', { element(el) { el.setInnerContent(String(++count)); } });
      export default { fetch() { return rewriter.transform(new Response('<b data-count>?</b>')); } };`;
    const r = await t.deploy('hr-global', { toml: manifestFor('hr-global', 'index.js', '[limits]\ncpu_ms = 1000'), modules: { 'index.js': source } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect((await t.get('hr-global', '/')).text).toBe('<b data-count>1</b>');
    expect((await t.get('hr-global', '/')).text).toBe('<b data-count>2</b>');
  });

  it("counts lol-html's memory against the worker's budget: a rewrite that outgrows it fails, the worker goes on", async () => {
    // One start tag of 48 MiB, streamed in 64 KiB chunks: lol-html must buffer it whole, in a 32 MiB worker.
    await deployHandler(
      'hr-memory',
      `if (new URL(request.url).pathname === '/ok') return new HTMLRewriter().on('p', { element(el) { el.setAttribute('ok', '1'); } }).transform(new Response('<p></p>'));
      const chunk = new TextEncoder().encode('a'.repeat(65536));
      let sent = 0;
      const body = new ReadableStream({
        pull(c) {
          if (sent === 0) c.enqueue(new TextEncoder().encode('<p title="'));
          if (sent++ < 768) c.enqueue(chunk.slice()); else { c.enqueue(new TextEncoder().encode('">x</p>')); c.close(); }
        },
      });
      const rewritten = new HTMLRewriter().on('p', { element(el) { el.setAttribute('seen', '1'); } }).transform(new Response(body));
      try { return new Response('length ' + (await rewritten.arrayBuffer()).byteLength); } catch (e) { return new Response('failed: ' + e.constructor.name + ': ' + e.message, { status: 500 }); }`,
      '[limits]\ncpu_ms = 10000\nmemory_mb = 32',
    );
    const big = await t.get('hr-memory', '/');
    expect(big.status).toBe(500);
    expect(big.text).toMatch(/^failed: RangeError: HTMLRewriter failed inside lol-html \(RuntimeError: unreachable\), most likely out of memory: its WebAssembly memory had grown to (\d+(\.\d)?) MiB/);
    // Capped at the worker's 32 MiB: never the 48 MiB the tag needed.
    expect(Number(/grown to ([\d.]+) MiB/.exec(big.text)![1])).toBeLessThanOrEqual(32);
    expect((await t.get('hr-memory', '/ok')).text).toBe('<p ok="1"></p>');
  }, 60_000);

  it('is loaded only by workers that use it', async () => {
    await deployHandler(
      'hr-lazy',
      `const before = typeof Object.getOwnPropertyDescriptor(globalThis, 'HTMLRewriter').get;
      const type = typeof HTMLRewriter;
      const after = typeof Object.getOwnPropertyDescriptor(globalThis, 'HTMLRewriter').value;
      return Response.json([before, type, after, String(new HTMLRewriter())]);`,
    );
    expect(JSON.parse((await t.get('hr-lazy', '/')).text)).toEqual(['function', 'function', 'function', '[object HTMLRewriter]']);
  });
});

describe('examples/html-personalize', () => {
  it('caches the page once for everyone and personalises each visitor\'s copy on the way out', async () => {
    let originHits = 0;
    routes.set('/welcome.html', (_req, res) => {
      originHits++;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'set-cookie': 'origin=1' });
      res.end('<html><body><h1 data-greeting>Hello</h1><a data-login href="/login">Sign in</a><p>Shared content</p></body></html>');
    });
    routes.set('/data.json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    // Deployed from its directory as `edge deploy` uploads it, with ORIGIN pointed at the test's origin.
    const upload = await collectUpload('examples/html-personalize');
    upload.manifest.content = upload.manifest.content.replace('ORIGIN = "https://example.com"', `ORIGIN = ${JSON.stringify(originUrl)}`);
    const deployed = await t.admin('POST', '/v1/workers', upload);
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(201);

    const anonymous = await t.get('html-personalize', '/welcome.html');
    expect(anonymous.status).toBe(200);
    expect(anonymous.headers['x-page-cache']).toBe('miss');
    expect(anonymous.text).toBe(
      '<html data-theme="light"><body data-visitor="anonymous"><h1 data-greeting>Welcome!</h1><a data-login href="/login">Sign in</a>' +
        '<p>Shared content</p></body></html><!-- personalised from the miss copy -->',
    );
    expect([anonymous.headers['cache-control'], anonymous.headers.vary, anonymous.headers['set-cookie']]).toEqual(['private, no-store', 'Cookie', undefined]);

    // The cache.put runs in waitUntil: wait until the shared copy answers.
    let ada = await t.get('html-personalize', '/welcome.html', { headers: { cookie: 'user=Ada; theme=dark' } });
    for (let i = 0; i < 50 && ada.headers['x-page-cache'] !== 'hit'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      ada = await t.get('html-personalize', '/welcome.html', { headers: { cookie: 'user=Ada; theme=dark' } });
    }
    expect(ada.headers['x-page-cache']).toBe('hit');
    expect(ada.text).toBe(
      '<html data-theme="dark"><body data-visitor="known"><h1 data-greeting>Welcome back, Ada!</h1><p>Shared content</p></body></html>' +
        '<!-- personalised from the hit copy -->',
    );
    // A cookie cannot inject markup: the name goes in as text.
    const evil = await t.get('html-personalize', '/welcome.html', { headers: { cookie: `user=${encodeURIComponent('<script>x()</script>')}` } });
    expect(evil.text).toContain('<h1 data-greeting>Welcome back, &lt;script&gt;x()&lt;/script&gt;!</h1>');
    const hitsAfterPages = originHits;
    expect(hitsAfterPages).toBeLessThanOrEqual(2);
    // Every visitor after the first was served from the one shared copy.
    await t.get('html-personalize', '/welcome.html', { headers: { cookie: 'user=Bob' } });
    expect(originHits).toBe(hitsAfterPages);

    // What is not HTML passes through untouched; other methods are refused.
    const data = await t.get('html-personalize', '/data.json');
    expect([data.status, data.text]).toEqual([200, '{"ok":true}']);
    expect((await t.get('html-personalize', '/welcome.html', { method: 'POST' })).status).toBe(405);
  });
});
