// Durable Objects, two classic uses:
//   /counter/<name>        GET: the count; POST: add one (atomic: one object per name, one event at a time)
//   /counter/<name>/add?n  POST: add n through JS RPC (stub.add(n))
//   /limited               a per-client rate limiter: LIMIT requests per WINDOW_SECONDS, then 429 with Retry-After
// The client is the cf-connecting-ip of the request (x-client overrides it, for trying it out).

export class Counter {
  constructor(ctx, env) {
    this.ctx = ctx;
  }

  async fetch(request) {
    if (request.method === 'POST') return Response.json({ count: await this.add(1) });
    return Response.json({ count: (await this.ctx.storage.get('count')) ?? 0 });
  }

  /** Adds `n` and returns the new count: read, add, write; no other event can run in between. */
  async add(n) {
    if (!Number.isInteger(n)) throw new TypeError('add(n): n must be an integer');
    const count = ((await this.ctx.storage.get('count')) ?? 0) + n;
    await this.ctx.storage.put('count', count);
    return count;
  }
}

export class RateLimiter {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.limit = Number(env.LIMIT ?? 5);
    this.windowMs = Number(env.WINDOW_SECONDS ?? 10) * 1000;
  }

  /** Takes one request from the client's budget: { allowed, remaining, retryAfter } (seconds). */
  async take() {
    const now = Date.now();
    let w = (await this.ctx.storage.get('window')) ?? { start: now, used: 0 };
    if (now - w.start >= this.windowMs) w = { start: now, used: 0 };
    const allowed = w.used < this.limit;
    if (allowed) w.used++;
    await this.ctx.storage.put('window', w);
    // Forget the client once its window is over.
    await this.ctx.storage.setAlarm(w.start + this.windowMs);
    return { allowed, remaining: this.limit - w.used, retryAfter: Math.ceil((w.start + this.windowMs - now) / 1000) };
  }

  async alarm() {
    const w = await this.ctx.storage.get('window');
    if (w && Date.now() - w.start >= this.windowMs) await this.ctx.storage.deleteAll();
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] === 'counter' && parts[1]) {
      const stub = env.COUNTERS.getByName(parts[1]);
      if (parts[2] === 'add' && request.method === 'POST') {
        const n = Number(url.searchParams.get('n') ?? 1);
        try {
          return Response.json({ count: await stub.add(n) });
        } catch (err) {
          return Response.json({ error: err.message }, { status: 400 });
        }
      }
      return stub.fetch(request);
    }
    if (parts[0] === 'limited') {
      const client = request.headers.get('x-client') ?? request.headers.get('cf-connecting-ip') ?? 'unknown';
      const verdict = await env.LIMITERS.getByName(client).take();
      if (!verdict.allowed) {
        return new Response('Too Many Requests\n', { status: 429, headers: { 'retry-after': String(verdict.retryAfter) } });
      }
      return new Response(`ok (${verdict.remaining} left in this window)\n`, { headers: { 'x-ratelimit-remaining': String(verdict.remaining) } });
    }
    return new Response('Try POST /counter/<name>, GET /counter/<name>, POST /counter/<name>/add?n=5 or GET /limited\n', { status: 404 });
  },
};
