// Typechecked by test/frameworks.test.ts: what the runtime provides must typecheck, and each Workers API it does
// not provide must be an error (an unused @ts-expect-error fails the check, so declaring too much is caught too).

interface Env {
  GREETING: string;
  AUTH: Fetcher;
  NOTES: KVNamespace;
  FILES: R2Bucket;
}

async function handle(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const url = new URL(request.url);
  const colo: string | undefined = (request.cf as IncomingRequestCfProperties | undefined)?.colo;
  ctx.waitUntil(Promise.resolve());
  ctx.passThroughOnException();
  const headers = new Headers({ 'content-type': 'text/plain' });
  const form = new FormData();
  form.append('file', new File(['x'], 'x.txt', { type: 'text/plain' }));
  const blob = new Blob(['abc']);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 10);
  const upstream = await fetch('https://example.com/', { signal: controller.signal, headers: { accept: 'text/html' } });
  const authed = await env.AUTH.fetch(new Request('http://auth/check', { method: 'POST', body: await blob.arrayBuffer() }));
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(env.GREETING));
  const key = await crypto.subtle.importKey('raw', new Uint8Array(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const same = crypto.subtle.timingSafeEqual(new Uint8Array(digest), new Uint8Array(digest));
  const cached = await caches.default.match(request);
  await env.NOTES.put('k', 'v', { expirationTtl: 60, metadata: { by: 'test' } });
  const note: string | null = await env.NOTES.get('k');
  const listed: KVNamespaceListResult<{ by: string }> = await env.NOTES.list<{ by: string }>({ prefix: 'k' });
  console.log(note, listed.keys.map((k) => k.metadata?.by));
  const stored: R2Object | null = await env.FILES.put('f', request.body, { httpMetadata: request.headers, customMetadata: { by: 'test' } });
  const file = await env.FILES.get('f', { range: { offset: 0, length: 10 }, onlyIf: request.headers });
  if (file && 'body' in file) console.log(stored?.httpEtag, await file.text());
  const upload = await env.FILES.createMultipartUpload('big');
  await upload.complete([await upload.uploadPart(1, 'part')]);
  const props: unknown = ctx.props;
  void props;
  const gz = new Blob(['hi']).stream().pipeThrough(new CompressionStream('gzip'));
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  void writable.getWriter().close();
  const event = new CustomEvent('x', { detail: 1 });
  const start = performance.now();
  const ua: string = navigator.userAgent;
  const copy = structuredClone({ a: 1 });
  queueMicrotask(() => {});
  const mod: WebAssembly.Instance | undefined = WebAssembly.validate(new Uint8Array(8)) ? undefined : undefined;
  console.log(url.pathname, colo, form.has('file'), upstream.ok, authed.status, key.type, same, cached?.status, gz, readable, event.detail, start, ua, copy, mod, btoa(atob('aGk=')));
  const page = new HTMLRewriter()
    .on('a[href]', { element: (el: Element) => void el.setAttribute('rel', 'noopener').before('<i>', { html: true }) })
    .onDocument({ async end(end) { end.append(await Promise.resolve('<!-- done -->'), { html: true }); } })
    .transform(new Response('<a href="/">home</a>'));
  // @ts-expect-error inserted content is a string here (Workers also takes a ReadableStream or Response)
  new HTMLRewriter().on('p', { element: (el) => void el.append(new Response('x')) });
  if (url.pathname === '/page') return page;
  return Response.json({ ok: true }, { headers });
}

async function scheduled(controller: ScheduledController, _env: Env, ctx: ExecutionContext): Promise<void> {
  ctx.waitUntil(Promise.resolve(controller.cron));
  controller.noRetry();
}

export default { fetch: handle, scheduled } satisfies ExportedHandler<Env>;

addEventListener('fetch', (event) => event.respondWith(new Response(event.request.url)));

// Workers APIs this runtime does not have.
function missing(ctx: ExecutionContext): void {
  // @ts-expect-error WebSockets are not provided
  new WebSocketPair();
  // @ts-expect-error D1 bindings are not provided
  const db: D1Database | undefined = undefined;
  // @ts-expect-error the scheduler global is not provided
  void scheduler.wait(1);
  // @ts-expect-error queue handlers are not dispatched
  const handler: ExportedHandler = { queue: async () => {} };
  // @ts-expect-error no Node.js globals
  void process.env;
  void db;
  void handler;
  void ctx;
}
void missing;
