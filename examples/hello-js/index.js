// The smallest worker: answers every request with a greeting.
export default {
  fetch(request, env, ctx) {
    return new Response('Hello from the edge!\n', { headers: { 'content-type': 'text/plain; charset=utf-8' } });
  },
};
