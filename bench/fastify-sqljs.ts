// The D1 benchmark's baseline (bench/d1.ts): a plain Fastify app on a random loopback port doing the D1 worker's point
// read on sql.js in its own process, with a statement prepared once; `/` is the Fastify hello of
// bench/fastify-hello.ts, so that the cost of the read alone is visible on this side too. Prints `listening <url>`.
//   GET /      Hello from the edge!
//   GET /read  the row of a random id among the 10,000 seeded, as JSON (as the worker answers it)
import Fastify from 'fastify';
import { openSeededSqlJs, randomId, READ_SQL } from './d1-data.ts';

const db = await openSeededSqlJs();
const read = db.prepare(READ_SQL);

const app = Fastify({ logger: false });
app.get('/', async (_req, reply) => {
  reply.header('content-type', 'text/plain; charset=utf-8');
  return 'Hello from the edge!\n';
});
app.get('/read', async (_req, reply) => {
  const id = randomId();
  read.bind([id]);
  const row = read.step() ? read.getAsObject() : null;
  read.reset();
  if (row === null) return reply.code(500).send(`no row ${id}`);
  return row;
});
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`listening ${url}\n`);
const close = (): void => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', close);
process.on('SIGINT', close);
