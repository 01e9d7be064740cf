// Deploy-time preparation of a WebAssembly component worker: checks the bytes are a component, transpiles it with
// jco (synchronous instantiation: components are instantiated inside the isolate, where async compilation never
// settles), checks it targets our world or wasi:http/proxy and imports only the WASI the isolate provides and the
// capabilities its manifest grants, and prepares every core module
// (memory capped at the worker's memory limit, fuel metered when `[limits] fuel` is set).
// jco-transpile 0.1.1's bindgen, chosen by measurement (host/build/README.md): its glue is a quarter of 0.15's size,
// instantiates faster and costs less per call; wasm-tools (embed, new, types) stays on 0.15.
import { transpileBytes } from 'jco-transpile-glue';
import { EdgeError } from '../core/errors.ts';
import type { DeployManifest } from './manifest.ts';
import type { CapabilityRegistry } from '../bindings/registry.ts';
import type { ComponentParts, VersionModule } from '../runtime/worker-types.ts';
import type { ComponentWorld } from '../core/isolate-protocol.ts';
import { memoryMbToPages, prepareCoreModule } from '../runtime/wasm/prepare.ts';
import { wasmKind } from '../runtime/wasm/core-module-check.ts';
import { checkDurableClass } from './component-durable.ts';
import { componentGlueScript } from '../runtime/bootstrap.ts';

/** The export every worker component has (world edge:platform/worker). */
export const HANDLER_EXPORT = 'edge:platform/incoming-handler@0.1.0';
/** The export of a component of the standard wasi:http/proxy world (any 0.2 release). */
const WASI_HANDLER_EXPORT = /^wasi:http\/incoming-handler@0\.2\.\d+$/;

/**
 * The WASI 0.2 interfaces the isolate provides (host/runtime/js/prelude/wasi.js and wasi-http.js; jco names imports
 * without version). A component importing any other WASI interface is refused at deploy, naming it.
 */
export const PROVIDED_WASI_INTERFACES: readonly string[] = [
  'wasi:cli/environment', 'wasi:cli/exit', 'wasi:cli/stdin', 'wasi:cli/stdout', 'wasi:cli/stderr',
  'wasi:cli/terminal-input', 'wasi:cli/terminal-output', 'wasi:cli/terminal-stdin', 'wasi:cli/terminal-stdout', 'wasi:cli/terminal-stderr',
  'wasi:clocks/monotonic-clock', 'wasi:clocks/wall-clock',
  'wasi:filesystem/types', 'wasi:filesystem/preopens',
  'wasi:io/error', 'wasi:io/poll', 'wasi:io/streams',
  'wasi:random/random', 'wasi:random/insecure', 'wasi:random/insecure-seed',
  'wasi:http/types', 'wasi:http/outgoing-handler',
];

/** Why a WASI interface this host lacks is refused, by package. */
const WASI_REFUSALS: Record<string, string> = {
  'wasi:sockets': 'workers have no sockets; reach the network with wasi:http/outgoing-handler (under the egress policy)',
  'wasi:filesystem': 'only wasi:filesystem/types and /preopens are provided, with no preopened directory',
};
const GLUE_NAME = 'component';

/** Where a component worker's bytes are in its upload: `main` itself, or the component `edge build` made from an AssemblyScript `main`. */
export function componentPathOf(manifest: DeployManifest): string | null {
  if (manifest.main.endsWith('.wasm')) return manifest.main;
  if (manifest.build.language === 'assemblyscript') return manifest.main.replace(/\.ts$/, '.wasm');
  return null;
}

export interface PreparedComponent {
  modules: VersionModule[];
  component: ComponentParts;
}

export async function prepareComponent(bytes: Uint8Array, path: string, manifest: DeployManifest, registry: CapabilityRegistry): Promise<PreparedComponent> {
  const kind = wasmKind(bytes);
  if (kind === 'other') {
    throw new EdgeError('E_WASM_INVALID', `${path} is not WebAssembly (it does not start with the \\0asm header); a component worker's main must be a component .wasm file.`, { details: { module: path } });
  }
  if (kind === 'core') {
    throw new EdgeError(
      'E_COMPONENT_INVALID',
      `${path} is a core WebAssembly module, not a component: wrap it into a component for world edge:platform/worker (\`edge build\` does this for AssemblyScript workers).`,
      { details: { module: path } },
    );
  }
  let out: Awaited<ReturnType<typeof transpileBytes>>;
  try {
    out = await transpileBytes(bytes, {
      name: GLUE_NAME,
      instantiation: 'sync',
      emitTypescriptDeclarations: false,
      nodejsCompat: false,
      wasiShim: false,
      // Core modules stay separate files: they are prepared (memory, fuel) before the isolate compiles them.
      base64Cutoff: Number.MAX_SAFE_INTEGER,
    } as Parameters<typeof transpileBytes>[1]);
  } catch (err) {
    throw new EdgeError('E_COMPONENT_INVALID', `${path} is not a valid component: ${firstLine(err)}`, { details: { module: path } });
  }
  const exported = out.exports.map(([name]) => name);
  let world: ComponentWorld;
  if (exported.includes(HANDLER_EXPORT)) world = 'edge:platform/worker';
  else if (exported.some((e) => WASI_HANDLER_EXPORT.test(e))) world = 'wasi:http/proxy';
  else {
    throw new EdgeError(
      'E_COMPONENT_INVALID',
      `${path} does not target world edge:platform/worker or wasi:http/proxy: it must export ${HANDLER_EXPORT} or wasi:http/incoming-handler@0.2.x, but it exports ${exported.filter((e) => e.includes(':')).join(', ') || 'nothing of an interface'}.`,
      { details: { module: path, exports: exported } },
    );
  }
  checkWasiImports(path, out.imports);
  // A Durable Object class (world durable-object) has its objects' storage: component-durable.ts.
  registry.checkImports(manifest, checkDurableClass(path, manifest, exported, out.imports).filter((i) => !i.startsWith('wasi:')));

  const decoder = new TextDecoder();
  let glue: string | undefined;
  const wasm: ComponentParts['wasm'] = [];
  let fuelExport: string | null = null;
  for (const [name, file] of Object.entries(out.files)) {
    const data = file as Uint8Array;
    if (name === `${GLUE_NAME}.js`) glue = decoder.decode(data);
    else if (name.endsWith('.wasm')) {
      let prepared: ReturnType<typeof prepareCoreModule>;
      try {
        prepared = prepareCoreModule(data, {
          memoryMaxPages: memoryMbToPages(manifest.limits.memoryMb),
          // Every core module of the component is prepared here, so a memory one of them imports is capped where defined.
          allowImportedMemory: true,
          fuel: manifest.limits.fuel !== undefined,
          ...(manifest.limits.fuel !== undefined ? { initialFuel: manifest.limits.fuel } : {}),
        });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        throw new EdgeError(code === 'E_WASM_INVALID' ? 'E_WASM_INVALID' : 'E_COMPONENT_INVALID', `${path}: core module ${name}: ${firstLine(err)}`, { details: { module: path, core: name } });
      }
      if (prepared.fuelExport) fuelExport = prepared.fuelExport;
      wasm.push({ name, bytes: prepared.bytes });
    }
  }
  if (glue === undefined) throw new EdgeError('E_INTERNAL', `transpiling ${path} produced no glue`, { status: 500 });
  const gluePath = `${GLUE_NAME}.js`;
  return {
    modules: [{ path: gluePath, source: componentGlueScript(glue) ?? glue }],
    component: { glue: gluePath, wasm, imports: out.imports, fuelExport, world },
  };
}

/** Refuses, naming them all, the WASI interfaces the component imports that this host does not provide. */
function checkWasiImports(path: string, imports: readonly string[]): void {
  const missing = imports.filter((i) => i.startsWith('wasi:') && !PROVIDED_WASI_INTERFACES.includes(i.replace(/@[^/]*$/, '')));
  if (missing.length === 0) return;
  const reasons = [...new Set(missing.map((m) => WASI_REFUSALS[m.split('/')[0]!]).filter((r) => r !== undefined))];
  throw new EdgeError(
    'E_IMPORT_NOT_GRANTED',
    `${path} imports ${missing.join(', ')}, which this host does not provide to components${reasons.length ? ` (${reasons.join('; ')})` : ''}. Provided WASI 0.2 interfaces: ${PROVIDED_WASI_INTERFACES.join(', ')}.`,
    { details: { module: path, imports: missing } },
  );
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').filter((l) => l.trim() !== '').slice(0, 4).join(' ').trim();
}
