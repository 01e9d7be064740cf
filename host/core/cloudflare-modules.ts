// Cloudflare's built-in `cloudflare:*` modules: which ones a worker may import here (the runtime provides them, the
// bundler leaves them external), and why the others are refused at deploy, in the words both the bundler and the
// runtime's module linker use.

/** The `cloudflare:*` modules this runtime provides (host/runtime/cloudflare-modules.ts makes them). */
export const PROVIDED_CLOUDFLARE_MODULES: readonly string[] = ['cloudflare:workers'];

/** What `cloudflare:workers` exports here. */
export const CLOUDFLARE_WORKERS_EXPORTS: readonly string[] = ['env', 'WorkerEntrypoint', 'DurableObject', 'RpcTarget'];

const REFUSED: Record<string, string> = {
  'cloudflare:sockets': 'TCP sockets (connect() from cloudflare:sockets) are not supported by this runtime: a worker reaches the network through fetch()',
  'cloudflare:email': 'Email Workers (cloudflare:email) are not supported by this runtime',
  'cloudflare:workflows': 'Workflows (cloudflare:workflows) are not supported by this runtime',
  'cloudflare:pipelines': 'Pipelines (cloudflare:pipelines) are not supported by this runtime',
};

/** Why `specifier` (a `cloudflare:` module this runtime does not provide) cannot be imported. */
export function cloudflareModuleRefusal(specifier: string): string {
  return REFUSED[specifier] ?? `${specifier} is not a module this runtime provides (of Cloudflare's built-in modules it has ${PROVIDED_CLOUDFLARE_MODULES.join(', ')})`;
}

/** Why an export of `cloudflare:workers` that this runtime does not have cannot be imported. */
export function cloudflareExportRefusal(name: string): string {
  if (name === 'WorkflowEntrypoint') return 'WorkflowEntrypoint (Workflows) is not supported by this runtime';
  return `cloudflare:workers has no export "${name}" here; it exports ${CLOUDFLARE_WORKERS_EXPORTS.join(', ')}`;
}
