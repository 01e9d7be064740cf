// Plain Fastify hello world on a random loopback port: the throughput ceiling for the data plane (which is a
// Fastify app itself). Same body and content type as examples/hello-js. Prints `listening <url>`.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async (_req, reply) => {
  reply.header('content-type', 'text/plain; charset=utf-8');
  return 'Hello from the edge!\n';
});
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`listening ${url}\n`);
const close = (): void => {
  app.close().then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGTERM', close);
process.on('SIGINT', close);
