// Named counters in KV:
//   GET    /            → {"counters":[{"name":"a","count":3},...]}   (from list() metadata: no get per key)
//   GET    /<name>      → {"name":"a","count":3}
//   POST   /<name>      → increments, {"name":"a","count":4}
//   DELETE /<name>      → {"name":"a","count":0}
// KV is eventually consistent and a read-modify-write is not atomic: two increments at the same instant may count
// once. For exact counts under concurrency use a Durable Object.
const PREFIX = 'counter:';
const NAME = /^[a-z0-9_-]{1,64}$/;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const name = decodeURIComponent(url.pathname.slice(1));
    if (name === '') {
      if (request.method !== 'GET') return json({ error: 'method not allowed' }, 405);
      const counters = [];
      let cursor;
      do {
        const page = await env.COUNTERS.list({ prefix: PREFIX, cursor });
        for (const k of page.keys) counters.push({ name: k.name.slice(PREFIX.length), count: k.metadata?.count ?? 0 });
        cursor = page.list_complete ? undefined : page.cursor;
      } while (cursor);
      return json({ counters });
    }
    if (!NAME.test(name)) return json({ error: 'a counter name is 1-64 characters of a-z, 0-9, _ and -' }, 400);
    const key = PREFIX + name;
    switch (request.method) {
      case 'GET':
        return json({ name, count: Number((await env.COUNTERS.get(key)) ?? 0) });
      case 'POST': {
        const count = Number((await env.COUNTERS.get(key)) ?? 0) + 1;
        await env.COUNTERS.put(key, String(count), { metadata: { count } });
        return json({ name, count });
      }
      case 'DELETE':
        await env.COUNTERS.delete(key);
        return json({ name, count: 0 });
      default:
        return json({ error: 'method not allowed' }, 405);
    }
  },
};

function json(body, status = 200) {
  return Response.json(body, { status });
}
