// router-js: several modules, vars from the manifest, JSON in and out, and a large streamed response.
import { Router } from './router.js';
import { addTodo, getTodo, listTodos } from './todos.js';
import { streamBytes } from './stream.js';

const router = new Router()
  .on('GET', '/', ({ env }) => Response.json({ service: env.SERVICE_NAME, routes: ['GET /todos', 'POST /todos', 'GET /todos/:id', 'GET /stream/:mb'] }))
  .on('GET', '/todos', () => Response.json(listTodos()))
  .on('POST', '/todos', async ({ request }) => {
    let input;
    try {
      input = await request.json();
    } catch {
      return Response.json({ error: 'body must be JSON' }, { status: 400 });
    }
    try {
      return Response.json(addTodo(input), { status: 201 });
    } catch (e) {
      return Response.json({ error: e.message }, { status: 422 });
    }
  })
  .on('GET', '/todos/:id', ({ params }) => {
    const todo = getTodo(params.id);
    return todo ? Response.json(todo) : Response.json({ error: `todo ${params.id} not found` }, { status: 404 });
  })
  .on('GET', '/stream/:mb', ({ params, env }) => {
    const mb = Number(params.mb);
    if (!Number.isInteger(mb) || mb < 1 || mb > Number(env.MAX_STREAM_MB)) {
      return Response.json({ error: `mb must be an integer from 1 to ${env.MAX_STREAM_MB}` }, { status: 400 });
    }
    return new Response(streamBytes(mb), { headers: { 'content-type': 'application/octet-stream', 'content-length': String(mb * 1024 * 1024) } });
  });

export default {
  fetch(request, env, ctx) {
    return router.handle(request, env, ctx);
  },
};
