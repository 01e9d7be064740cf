// An itty-router v5 API as it would run on Cloudflare Workers, deployed unchanged: `edge dev` / `edge deploy` bundle
// it from this TypeScript with itty-router from node_modules.
import { AutoRouter, cors, error, json, StatusError, type IRequest } from 'itty-router';

interface Env {
  API_VERSION: string;
}
type Args = [Env, ExecutionContext];

interface Link {
  slug: string;
  url: string;
  hits: number;
}

const links = new Map<string, Link>([['docs', { slug: 'docs', url: 'https://developers.cloudflare.com/workers/', hits: 0 }]]);

const { preflight, corsify } = cors({ origin: '*', allowMethods: ['GET', 'POST'], maxAge: 600 });

/** A custom middleware: stamps the start time that the last `finally` step reports as x-elapsed-ms. */
const withTiming = (request: IRequest) => {
  request.startedAt = Date.now();
};

const router = AutoRouter<IRequest, Args>({
  before: [preflight, withTiming],
  // Errors thrown by handlers (StatusError or anything else) become JSON; AutoRouter formats plain objects as JSON.
  catch: (err: unknown) => (err instanceof StatusError ? error(err.status, err.message) : error(500, 'internal error')),
  finally: [
    corsify,
    (response: Response, request: IRequest) => {
      response.headers.set('x-elapsed-ms', String(Date.now() - (request.startedAt as number)));
      return response;
    },
  ],
});

router
  .get('/', (_request, env) => ({ service: 'itty-app', apiVersion: env.API_VERSION }))
  .get('/links', () => ({ links: [...links.values()] }))
  .get('/links/:slug', ({ params }) => {
    const link = links.get(params.slug!);
    if (!link) throw new StatusError(404, `no link "${params.slug}"`);
    link.hits++;
    return Response.redirect(link.url, 302);
  })
  .get('/links/:slug/stats', ({ params }) => {
    const link = links.get(params.slug!);
    return link ? json({ slug: link.slug, hits: link.hits }) : error(404, `no link "${params.slug}"`);
  })
  .post('/links', async (request) => {
    const body = (await request.json().catch(() => null)) as Partial<Link> | null;
    if (!body || typeof body.slug !== 'string' || !/^[a-z0-9-]{1,40}$/.test(body.slug)) throw new StatusError(400, '`slug` must be 1-40 characters of a-z, 0-9 and -');
    if (typeof body.url !== 'string' || !URL.canParse(body.url)) throw new StatusError(400, '`url` must be an absolute URL');
    if (links.has(body.slug)) throw new StatusError(409, `"${body.slug}" exists already`);
    const link = { slug: body.slug, url: body.url, hits: 0 };
    links.set(link.slug, link);
    return json(link, { status: 201 });
  })
  .get('/boom', () => {
    throw new Error('something broke');
  });

export default router satisfies ExportedHandler<Env>;
