// Personalised pages from a shared cache (see wrangler.toml):
//   GET /<path>  the origin's page at <path>, from caches.default when it is there (`x-page-cache: hit`), else
//                fetched from ORIGIN and stored for PAGE_TTL seconds (`miss`); then, for this visitor only:
//                  - the `user` cookie's name in every [data-greeting] element ("Welcome back, Ada!"), as text:
//                    HTMLRewriter escapes it, so a cookie cannot inject markup;
//                  - a[data-login] links removed for a known visitor, <body data-visitor="known|anonymous">;
//                  - the visitor's `theme` cookie (light or dark) as <html data-theme>;
//                  - a comment at the end saying which copy this was.
// The answer is private (Cache-Control: private, no-store; Vary: Cookie): only the page before personalisation
// is shared.
const THEMES = new Set(['light', 'dark']);

export default {
  async fetch(request, env, ctx) {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return new Response('method not allowed\n', { status: 405, headers: { allow: 'GET, HEAD' } });
    }
    const url = new URL(request.url);
    const { page, cache } = await sharedPage(new URL(url.pathname + url.search, env.ORIGIN), env, ctx);
    if (!page.ok || !(page.headers.get('content-type') ?? '').includes('text/html')) return page;

    const cookies = parseCookies(request.headers.get('cookie'));
    const user = (cookies.user ?? '').trim().slice(0, 64);
    const theme = THEMES.has(cookies.theme) ? cookies.theme : 'light';
    const personalised = new HTMLRewriter()
      .on('html', { element: (el) => void el.setAttribute('data-theme', theme) })
      .on('body', { element: (el) => void el.setAttribute('data-visitor', user ? 'known' : 'anonymous') })
      .on('[data-greeting]', { element: (el) => void el.setInnerContent(user ? `Welcome back, ${user}!` : 'Welcome!') })
      .on('a[data-login]', { element: (el) => void (user && el.remove()) })
      .onDocument({ end: (end) => void end.append(`<!-- personalised from the ${cache} copy -->`, { html: true }) })
      .transform(page);
    personalised.headers.set('cache-control', 'private, no-store');
    personalised.headers.set('vary', 'Cookie');
    personalised.headers.set('x-page-cache', cache);
    return personalised;
  },
};

/** The page as everyone shares it: from the cache, or from the origin (then cached in the background). */
async function sharedPage(pageUrl, env, ctx) {
  const key = new Request(pageUrl.href);
  const cached = await caches.default.match(key);
  if (cached) return { page: cached, cache: 'hit' };
  const origin = await fetch(key);
  if (!origin.ok) return { page: origin, cache: 'miss' };
  const page = new Response(origin.body, origin);
  // Nothing per-visitor may be stored: the origin's cookies are dropped, and the TTL is ours.
  page.headers.delete('set-cookie');
  page.headers.set('cache-control', `public, max-age=${Number(env.PAGE_TTL) || 300}`);
  ctx.waitUntil(caches.default.put(key, page.clone()));
  return { page, cache: 'miss' };
}

/** `name=value; ...` from a Cookie header, values URI-decoded when they can be. */
function parseCookies(header) {
  const out = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    try {
      out[name] = decodeURIComponent(raw);
    } catch {
      out[name] = raw;
    }
  }
  return out;
}
