// A Hono app as it would run on Cloudflare Workers, deployed unchanged: `edge dev` / `edge deploy` bundle it from
// this TypeScript with hono from node_modules.
import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { logger } from 'hono/logger';
import { notes, type Note } from './notes';

type Bindings = { GREETING: string; ADMIN_TOKEN: string; KEEP_NOTES: number };
type Variables = { requestId: string };

const app = new Hono<{ Bindings: Bindings; Variables: Variables }>();

app.use(logger());
app.use('/api/*', cors({ origin: ['https://app.example.com'], allowMethods: ['GET', 'POST', 'DELETE'], maxAge: 600 }));
// A custom middleware: a request id for every response, from the client's header or a fresh UUID.
app.use(async (c, next) => {
  c.set('requestId', c.req.header('x-request-id') ?? crypto.randomUUID());
  await next();
  c.header('x-request-id', c.get('requestId'));
});
// The token comes from env, which only exists per request; compared in constant time (Workers' timingSafeEqual).
app.use(
  '/admin/*',
  bearerAuth({
    verifyToken: (token, c) => {
      const given = new TextEncoder().encode(token);
      const expected = new TextEncoder().encode((c.env as Bindings).ADMIN_TOKEN);
      return given.byteLength === expected.byteLength && crypto.subtle.timingSafeEqual(given, expected);
    },
  }),
);

app.get('/', (c) => c.text(`${c.env.GREETING}!`));

app.get('/api/notes', (c) => {
  const tag = c.req.query('tag');
  return c.json({ notes: tag ? notes.list().filter((n) => n.tags.includes(tag)) : notes.list() });
});

app.get('/api/notes/:id{[0-9]+}', (c) => {
  const note = notes.get(Number(c.req.param('id')));
  if (!note) throw new HTTPException(404, { message: `no note ${c.req.param('id')}` });
  return c.json(note);
});

app.post('/api/notes', async (c) => {
  const body = await c.req.json<Partial<Note>>().catch(() => {
    throw new HTTPException(400, { message: 'the body must be JSON' });
  });
  if (typeof body.text !== 'string' || body.text.trim() === '') throw new HTTPException(400, { message: '`text` must be a non-empty string' });
  const tags = Array.isArray(body.tags) ? body.tags.filter((t): t is string => typeof t === 'string') : [];
  const note = notes.add(body.text.trim(), tags);
  return c.json(note, 201, { location: `/api/notes/${note.id}` });
});

app.get('/admin/stats', (c) => c.json({ notes: notes.size, requestId: c.get('requestId') }));

app.get('/boom', () => {
  throw new Error('something broke');
});

app.notFound((c) => c.json({ error: 'not found', path: c.req.path }, 404));

app.onError((err, c) => {
  if (err instanceof HTTPException) {
    // bearerAuth's 401 carries its own WWW-Authenticate header.
    if (err.res) return err.getResponse();
    return c.json({ error: err.message }, err.status);
  }
  console.error(`${c.req.method} ${c.req.path} failed: ${err.message}`);
  return c.json({ error: 'internal error', requestId: c.get('requestId') }, 500);
});

// Cron Triggers ([triggers] crons in wrangler.toml): keep only the newest KEEP_NOTES notes.
const scheduled: ExportedHandlerScheduledHandler<Bindings> = async (controller, env, ctx) => {
  const removed = notes.prune(env.KEEP_NOTES);
  ctx.waitUntil(Promise.resolve().then(() => console.log(`cron ${controller.cron}: pruned ${removed} notes`)));
};

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Bindings>;
