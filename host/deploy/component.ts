// Deploy-time preparation of a WebAssembly component worker: checks the bytes are a component, transpiles it with
// jco (synchronous instantiation: components are instantiated inside the isolate, where async compilation never
// settles), checks it targets our world and imports only what its manifest grants, and prepares every core module
// (memory capped at the worker's memory limit, fuel metered when `[limits] fuel` is set).
// jco-transpile 0.1.1's bindgen, chosen by measurement (host/build/README.md): its glue is a quarter of 0.15's size,
// instantiates faster and costs less per call; wasm-tools (embed, new, types) stays on 0.15.
import { transpileBytes } from 'jco-transpile-glue';
import { EdgeError } from '../core/errors.ts';
import type { DeployManifest } from './manifest.ts';
import type { CapabilityRegistry } from '../bindings/registry.ts';
import type { ComponentParts, VersionModule } from '../runtime/worker-types.ts';
import { memoryMbToPages, prepareCoreModule } from '../runtime/wasm/prepare.ts';
import { wasmKind } from '../runtime/wasm/core-module-check.ts';

/** The export every worker component has (world edge:platform/worker). */
export const HANDLER_EXPORT = 'edge:platform/incoming-handler@0.1.0';
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
  if (!exported.includes(HANDLER_EXPORT)) {
    throw new EdgeError(
      'E_COMPONENT_INVALID',
      `${path} does not target world edge:platform/worker: it must export ${HANDLER_EXPORT}, but it exports ${exported.filter((e) => e.includes(':')).join(', ') || 'nothing of an interface'}.`,
      { details: { module: path, exports: exported } },
    );
  }
  registry.checkImports(manifest, out.imports);

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
    modules: [{ path: gluePath, source: glue }],
    component: { glue: gluePath, wasm, imports: out.imports, fuelExport },
  };
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').filter((l) => l.trim() !== '').slice(0, 4).join(' ').trim();
}
