// `services = [{ binding = "AUTH", service = "auth-worker" }]`: the wrangler section that grants service bindings.
import { WORKER_NAME_RE, type ManifestSection } from '../../core/manifest.ts';

/** A service grant's settings: the worker `env.<binding>.fetch()` calls in-process. */
export interface ServiceGrant {
  service: string;
  /** A named entrypoint of the target (wrangler's `entrypoint`); only the default is supported. */
  entrypoint?: string;
}

const ENTRYPOINT_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export const serviceSection: ManifestSection = {
  key: 'services',
  parse(value, ctx) {
    const example = ctx.format === 'toml' ? 'services = [{ binding = "AUTH", service = "auth-worker" }]' : '{ "binding": "AUTH", "service": "auth-worker" }';
    return ctx.entries('services', value, ['binding', 'service', 'entrypoint', 'environment'], example).map(({ key, item }) => {
      const service = item['service'];
      const binding = ctx.bindingName(key, item['binding'], 'AUTH');
      if (service === undefined) throw ctx.invalid(`${key}.service`, `\`${key}.service\` is missing: the name of the worker to call`);
      if (typeof service !== 'string' || !WORKER_NAME_RE.test(service)) throw ctx.expected(`${key}.service`, "a worker name (a-z, 0-9 and '-')", service);
      if (item['environment'] !== undefined && typeof item['environment'] !== 'string') throw ctx.expected(`${key}.environment`, 'a string', item['environment']);
      const settings: ServiceGrant = { service };
      const entrypoint = item['entrypoint'];
      if (entrypoint !== undefined) {
        if (typeof entrypoint !== 'string' || !ENTRYPOINT_RE.test(entrypoint)) throw ctx.expected(`${key}.entrypoint`, 'the name of an exported entrypoint', entrypoint);
        if (entrypoint !== 'default') {
          throw ctx.unsupported(`${key}.entrypoint`, `\`${key}.entrypoint\` = ${JSON.stringify(entrypoint)}: named entrypoints (RPC) are not supported yet; bind the worker's default export`);
        }
        settings.entrypoint = entrypoint;
      }
      return { binding, settings: { ...settings }, key };
    });
  },
};
