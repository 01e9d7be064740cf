// The gateway's pipeline: authenticate → rate-limit → assign the A/B variant → serve GETs from the cache or
// proxy to the origin with rewritten headers → cache what may be cached.
import { authenticate } from './auth.js';
import { RateLimiter } from './rate-limit.js';
import { assignVariant } from './ab.js';
import { proxy } from './proxy.js';

/** One limiter per isolate: per-host counting (a Durable Object would make it global). */
let limiter = null;

export default {
  async fetch(request, env, ctx) {
    const started = Date.now();
    if (new URL(request.url).pathname === '/__gateway/health') return Response.json({ ok: true });

    const auth = await authenticate(request, env);
    if (!auth.ok) return problem(401, auth.reason, { 'www-authenticate': 'Bearer realm="gateway"' });

    limiter ??= new RateLimiter(Number(env.RATE_LIMIT_PER_MINUTE) || 600);
    const verdict = limiter.take(auth.client);
    if (!verdict.allowed) {
      return problem(429, `rate limit of ${limiter.perMinute} requests per minute exceeded`, {
        'retry-after': String(verdict.retryAfterSeconds),
        'x-ratelimit-limit': String(limiter.perMinute),
        'x-ratelimit-remaining': '0',
      });
    }

    const ab = await assignVariant(request, Number(env.AB_PERCENT_B ?? 50));
    const response = await proxy(request, env, ctx, { client: auth.client, variant: ab.variant });

    const headers = new Headers(response.headers);
    headers.set('x-gateway-variant', ab.variant);
    headers.set('x-ratelimit-limit', String(limiter.perMinute));
    headers.set('x-ratelimit-remaining', String(verdict.remaining));
    headers.set('server-timing', `gateway;dur=${Date.now() - started}`);
    if (ab.setCookie) headers.append('set-cookie', ab.setCookie);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  },
};

function problem(status, detail, headers = {}) {
  return Response.json({ error: status === 401 ? 'unauthorized' : status === 429 ? 'too_many_requests' : 'error', detail }, { status, headers });
}
