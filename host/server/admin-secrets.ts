// The admin API's secrets routes (`edge secret`): set, list and delete a worker's secrets. Values go in and never
// come out: listings give names and times, answers and errors never repeat a value.
import type { FastifyPluginAsync } from 'fastify';
import { EdgeError } from '../core/errors.ts';
import type { Deployer } from '../deploy/deployer.ts';

const nameParams = { type: 'object', properties: { name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' } }, required: ['name'] };
const secretParams = { type: 'object', properties: { name: nameParams.properties.name, key: { type: 'string', minLength: 1, maxLength: 256 } }, required: ['name', 'key'] };

function body(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new EdgeError('E_SECRET_INVALID', 'The body must be a JSON object.');
  return v as Record<string, unknown>;
}

export function adminSecretRoutes(deps: { deployer: Deployer }): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { name: string } }>('/v1/workers/:name/secrets', { schema: { params: nameParams } }, async (req) => ({
      name: req.params.name,
      secrets: await deps.deployer.listSecrets(req.params.name),
    }));

    // One secret: { value }.
    app.put<{ Params: { name: string; key: string }; Body: unknown }>('/v1/workers/:name/secrets/:key', { schema: { params: secretParams } }, async (req) => {
      const { value } = body(req.body);
      if (typeof value !== 'string') throw new EdgeError('E_SECRET_INVALID', `The body must be { "value": "<the secret>" }.`, { details: { secret: req.params.key } });
      return deps.deployer.putSecrets(req.params.name, { [req.params.key]: value });
    });

    // Several at once, applied together: { secrets: { NAME: value, ... } } (`edge dev` with .dev.vars, `edge secret bulk`).
    app.put<{ Params: { name: string }; Body: unknown }>('/v1/workers/:name/secrets', { schema: { params: nameParams } }, async (req) => {
      const { secrets } = body(req.body);
      if (secrets === null || typeof secrets !== 'object' || Array.isArray(secrets)) throw new EdgeError('E_SECRET_INVALID', 'The body must be { "secrets": { "NAME": "<value>", ... } }.');
      const values: Record<string, string> = {};
      for (const [key, value] of Object.entries(secrets)) {
        if (typeof value !== 'string') throw new EdgeError('E_SECRET_INVALID', `The value of secret ${key} must be a string.`, { details: { secret: key } });
        Object.defineProperty(values, key, { value, enumerable: true, writable: true, configurable: true });
      }
      return deps.deployer.putSecrets(req.params.name, values);
    });

    app.delete<{ Params: { name: string; key: string } }>('/v1/workers/:name/secrets/:key', { schema: { params: secretParams } }, async (req) => deps.deployer.deleteSecret(req.params.name, req.params.key));
  };
}
