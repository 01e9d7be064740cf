// examples/hello-as built once per benchmark run into a component (buildWorker, as `edge build` does), shared by
// the cold-start, instantiate and warm suites; and the deploy upload for it, under any worker name.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildWorker } from '../host/build/worker-build.ts';
import { ROOT } from './child-host.ts';

export const HELLO_AS_DIR = join(ROOT, 'examples/hello-as');
export const HELLO_AS_MAIN = 'assembly/index.ts';
/** Where the deployer looks for the component of an AssemblyScript `main` (host/deploy/component.ts componentPathOf). */
export const HELLO_AS_COMPONENT_PATH = HELLO_AS_MAIN.replace(/\.ts$/, '.wasm');

export interface ComponentUpload {
  manifest: { fileName: 'wrangler.toml'; content: string };
  modules: Array<{ path: string; content: string; encoding: 'base64' }>;
}

let built: Promise<{ component: Uint8Array; buildMs: number }> | undefined;

/** The hello-as component (asc without -O3, like the example's manifest says), built on first use. */
export function helloAsComponent(): Promise<{ component: Uint8Array; buildMs: number }> {
  built ??= (async () => {
    const t0 = performance.now();
    const out = await buildWorker({ dir: HELLO_AS_DIR, main: HELLO_AS_MAIN });
    return { component: out.component, buildMs: performance.now() - t0 };
  })();
  return built;
}

/** examples/hello-as/wrangler.toml with its `name` replaced (and an optional `[limits]` table appended). */
export function helloAsManifest(name: string, extraToml = ''): string {
  const text = readFileSync(join(HELLO_AS_DIR, 'wrangler.toml'), 'utf8');
  if (!/^name\s*=.*$/m.test(text)) throw new Error(`${HELLO_AS_DIR}/wrangler.toml has no top-level name = "..." line`);
  return `${text.replace(/^name\s*=.*$/m, `name = ${JSON.stringify(name)}`)}${extraToml ? `\n${extraToml}\n` : ''}`;
}

/** The POST /v1/workers body (and host.deployer.deploy() argument) deploying `component` as worker `name`. */
export function helloAsUpload(name: string, component: Uint8Array, extraToml = ''): ComponentUpload {
  return {
    manifest: { fileName: 'wrangler.toml', content: helloAsManifest(name, extraToml) },
    modules: [{ path: HELLO_AS_COMPONENT_PATH, content: Buffer.from(component).toString('base64'), encoding: 'base64' }],
  };
}
