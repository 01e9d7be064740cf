// Deploy-time check of a component that is a Durable Object class (world edge:platform/durable-object): it exports
// `durable-handler` exactly when its manifest declares classes (`[[migrations]] new_classes`), and only then may it
// import `durable-storage` (its objects' storage, served by the isolate: prelude component-objects.js).
import { EdgeError } from '../core/errors.ts';
import type { DeployManifest } from '../core/manifest.ts';

/** What a Durable Object class component exports besides its incoming-handler. */
export const DURABLE_HANDLER_EXPORT = 'edge:platform/durable-handler@0.1.0';
const STORAGE_IMPORT = 'edge:platform/durable-storage';

/**
 * Refuses a component whose exports and manifest disagree about its being a Durable Object class; returns its imports
 * less `durable-storage` when it is one (the registry checks the rest against the manifest's grants).
 */
export function checkDurableClass(path: string, manifest: DeployManifest, exported: readonly string[], imports: readonly string[]): string[] {
  const classes = manifest.durableClasses ?? [];
  const handler = exported.includes(DURABLE_HANDLER_EXPORT);
  if (classes.length > 0 && !handler) {
    throw new EdgeError(
      'E_COMPONENT_INVALID',
      `${manifest.name} declares the Durable Object class${classes.length > 1 ? 'es' : ''} ${classes.join(', ')} ([[migrations]]), but ${path} does not export ${DURABLE_HANDLER_EXPORT}: build it for world edge:platform/durable-object (an AssemblyScript worker with [[migrations]] is, and exports \`objectFetch(id, request)\`), or remove the class from [[migrations]].`,
      { details: { module: path, classes } },
    );
  }
  if (handler && classes.length === 0) {
    throw new EdgeError(
      'E_COMPONENT_INVALID',
      `${path} exports ${DURABLE_HANDLER_EXPORT} (it is a Durable Object class), but ${manifest.name}'s manifest declares no class: add [[migrations]] tag = "v1" new_classes = ["Counter"] (and [[durable_objects.bindings]] name = "COUNTERS" class_name = "Counter" to reach it).`,
      { details: { module: path } },
    );
  }
  return handler ? imports.filter((i) => i.replace(/@[^/]*$/, '') !== STORAGE_IMPORT) : [...imports];
}
