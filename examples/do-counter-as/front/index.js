// GET /counter/<name>: the count · POST /counter/<name>?n=5: add n (default 1) · DELETE /counter/<name>: forget it.
// The objects are the AssemblyScript class of examples/do-counter-as.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'counter' || !parts[1]) {
      return new Response('Try POST /counter/<name>, GET /counter/<name> or DELETE /counter/<name>\n', { status: 404 });
    }
    const stub = env.COUNTERS.getByName(parts[1]);
    return stub.fetch(`http://counter/${url.search}`, { method: request.method });
  },
};
