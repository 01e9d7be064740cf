// The admin API's side of static asset uploads, content-addressed as Workers does them: a deploy's client asks which
// of its files' hashes the host lacks (POST /v1/assets/missing), uploads only those (PUT /v1/assets/:hash, the raw
// bytes, streamed and checked against the hash), then deploys the list of paths and hashes.
import type { FastifyPluginAsync } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { ASSET_LIMITS } from '../core/limits.ts';
import type { AssetStore } from '../deploy/asset-store.ts';

const hashSchema = { type: 'string', pattern: '^[0-9a-f]{64}$' };

export function adminAssetRoutes(deps: { assets: AssetStore }): FastifyPluginAsync {
  return async (app) => {
    // Asset bodies arrive raw and unbounded by the JSON body limit (the store caps each at 25 MiB as it reads).
    app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));

    app.post<{ Body: { hashes: string[] } }>(
      '/v1/assets/missing',
      {
        schema: {
          body: { type: 'object', required: ['hashes'], additionalProperties: false, properties: { hashes: { type: 'array', maxItems: ASSET_LIMITS.files, items: hashSchema } } },
          response: { 200: { type: 'object', properties: { missing: { type: 'array', items: { type: 'string' } } } } },
        },
      },
      async (req) => ({ missing: await deps.assets.missing(req.body.hashes) }),
    );

    app.put<{ Params: { hash: string } }>(
      '/v1/assets/:hash',
      {
        schema: {
          params: { type: 'object', required: ['hash'], properties: { hash: hashSchema } },
          response: { 200: { type: 'object', properties: { hash: { type: 'string' }, size: { type: 'integer' }, written: { type: 'boolean' } } } },
        },
      },
      async (req) => {
        const body = (req.body as IncomingMessage | undefined) ?? (async function* () {})();
        const { written, size } = await deps.assets.put(req.params.hash, body);
        return { hash: req.params.hash, size, written };
      },
    );
  };
}
