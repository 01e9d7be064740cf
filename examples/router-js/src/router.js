// A tiny method + path router: routes are "/todos/:id" patterns matched segment by segment.
export class Router {
  #routes = [];

  on(method, pattern, handler) {
    this.#routes.push({ method, parts: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  async handle(request, env, ctx) {
    const url = new URL(request.url);
    const segments = url.pathname.split('/').filter(Boolean);
    let pathMatched = false;
    for (const route of this.#routes) {
      const params = match(route.parts, segments);
      if (!params) continue;
      pathMatched = true;
      if (route.method !== request.method && !(route.method === 'GET' && request.method === 'HEAD')) continue;
      return route.handler({ request, env, ctx, url, params });
    }
    return pathMatched
      ? Response.json({ error: `method ${request.method} not allowed` }, { status: 405 })
      : Response.json({ error: `no route for ${url.pathname}` }, { status: 404 });
  }
}

function match(parts, segments) {
  if (parts.length !== segments.length) return null;
  const params = {};
  for (let i = 0; i < parts.length; i++) {
    if (parts[i].startsWith(':')) params[parts[i].slice(1)] = decodeURIComponent(segments[i]);
    else if (parts[i] !== segments[i]) return null;
  }
  return params;
}
