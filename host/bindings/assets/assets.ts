// Static assets for JS workers: `assets = { directory, binding = "ASSETS" }` gives `env.ASSETS`, a Fetcher
// (assets-facade.js) whose fetch() the host answers from the worker's own deployed assets, with the same rules as
// requests that reach them from outside (html_handling, not_found_handling, _headers, _redirects). No WIT interface:
// what it grants is a fetch target, which names the worker's assets rather than a worker.
import { fileURLToPath } from 'node:url';
import type { BuiltinCapability } from '../capability.ts';
import { assetsFetchTarget } from '../../core/assets.ts';
import type { AssetsGrant } from './assets-section.ts';

export const assetsBuiltin: BuiltinCapability<AssetsGrant> = {
  name: 'assets',
  grant: 'section',
  // The `assets` section is not a list of bindings: the wrangler parser reads it (assets-section.ts) and grants the
  // binding when it names one.
  grantHint: 'add assets = { directory = "./public", binding = "ASSETS" }',
  facade: { module: fileURLToPath(new URL('./assets-facade.js', import.meta.url)) },
  bind: () => ({ fetchTarget: (settings) => assetsFetchTarget(settings.worker) }),
};
