// geo-js: which region an IPv4 address is in, from the host's `geo` capability (env.GEO, granted in wrangler.toml).
//   GET /?ip=192.0.2.10   → {"ip":"192.0.2.10","region":"eu-west"}
//   GET /                 → the region of the caller's own address (cf-connecting-ip)
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const ip = url.searchParams.get('ip') ?? request.headers.get('cf-connecting-ip') ?? '';
    try {
      // `region` resolves to the region's name, or undefined when the table has no range for it and the binding
      // has no default_region.
      const region = (await env.GEO.region(ip)) ?? null;
      return Response.json({ ip, region });
    } catch (err) {
      // A WIT error of the capability: err.payload is { tag: 'invalid-address', val: ip }.
      if (err.name === 'CapabilityError' && err.payload?.tag === 'invalid-address') {
        return Response.json({ ip, error: err.message }, { status: 400 });
      }
      throw err;
    }
  },
};
