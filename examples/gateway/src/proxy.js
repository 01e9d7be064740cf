// To the origin and back: hop-by-hop and credential headers are not forwarded, forwarding headers are added,
// the origin's identifying headers are dropped; GETs are cached per variant with the Cache API.
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
const NOT_FORWARDED = ['authorization', 'x-signature', 'cookie', 'cf-connecting-ip', 'host'];
const NOT_RETURNED = ['server', 'x-powered-by'];

export async function proxy(request, env, ctx, { client, variant }) {
  const url = new URL(request.url);
  const target = new URL(url.pathname + url.search, env.ORIGIN);
  const cacheable = request.method === 'GET';
  // One cache entry per variant: the origin may answer each variant differently.
  const cacheKey = new Request(`${target.href}${target.search ? '&' : '?'}__variant=${variant}`);
  if (cacheable) {
    const hit = await caches.default.match(cacheKey);
    if (hit) return withHeader(hit, 'x-gateway-cache', 'HIT');
  }

  const headers = new Headers();
  for (const [k, v] of request.headers) if (!HOP_BY_HOP.includes(k) && !NOT_FORWARDED.includes(k)) headers.set(k, v);
  const address = request.headers.get('cf-connecting-ip');
  if (address) headers.set('x-forwarded-for', address);
  headers.set('x-forwarded-host', url.host);
  headers.set('x-forwarded-proto', url.protocol.slice(0, -1));
  headers.set('x-gateway-client', client);
  headers.set('x-gateway-variant', variant);
  headers.set('x-request-id', request.headers.get('x-request-id') ?? crypto.randomUUID());

  const upstream = await fetch(target, { method: request.method, headers, body: cacheable || request.method === 'HEAD' ? null : request.body, redirect: 'manual' });
  const out = new Headers();
  for (const [k, v] of upstream.headers) if (!HOP_BY_HOP.includes(k) && !NOT_RETURNED.includes(k)) out.append(k, v);
  out.set('x-gateway-cache', cacheable ? 'MISS' : 'BYPASS');
  let response = new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: out });

  if (cacheable && upstream.status === 200 && !out.has('set-cookie')) {
    const stored = new Headers(out);
    if (!stored.has('cache-control')) stored.set('cache-control', `public, max-age=${Number(env.DEFAULT_CACHE_TTL) || 30}`);
    if (!/no-store|private/i.test(stored.get('cache-control'))) {
      const [forClient, forCache] = response.body ? response.body.tee() : [null, null];
      response = new Response(forClient, { status: response.status, headers: out });
      ctx.waitUntil(caches.default.put(cacheKey, new Response(forCache, { status: 200, headers: stored })));
    }
  }
  return response;
}

function withHeader(response, name, value) {
  const headers = new Headers(response.headers);
  headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
