// Service bindings: `services = [{ binding = "AUTH", service = "auth-worker" }]` gives a JS worker `env.AUTH`, a
// Fetcher (service-facade.js) whose fetch() calls worker "auth-worker" in-process through the runtime's fetch path.
// No WIT interface: what it grants is a fetch target, which the runtime resolves through the registry.
import { fileURLToPath } from 'node:url';
import type { BuiltinCapability } from '../capability.ts';
import { serviceSection, type ServiceGrant } from './service-section.ts';

export const serviceBuiltin: BuiltinCapability<ServiceGrant> = {
  name: 'service',
  grant: 'section',
  section: serviceSection,
  grantHint: 'add services = [{ binding = "AUTH", service = "..." }]',
  facade: { module: fileURLToPath(new URL('./service-facade.js', import.meta.url)) },
  bind: () => ({ fetchTarget: (settings) => settings.service }),
};
