// Test support for the glue generator: generates the glue for a WIT world, builds it with an AssemblyScript
// handler, transpiles the component with jco and instantiates it in Node with JS imports, keeping hold of the
// guest's memory so that tests can check it stays flat.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'vitest';
import { compileAssemblyScript } from '../../../host/build/assemblyscript.ts';
import { coreExportNames, transpileComponent, worldCoreImports } from '../../../host/build/component-tools.ts';
import { webAssembly, type WasmImports, type WasmInstance, type WasmMemory, type WasmModule } from '../../../host/core/webassembly-api.ts';
import { loadWitDir, resolvePackage } from '../wit/index.ts';
import { generateExportGlue } from './generate.ts';

export interface TestGuest<Instance> {
  dir: string;
  /** The generated glue files. */
  generated: Record<string, string>;
  /** Export names of the built core module. */
  coreExports: string[];
  /** The component's imports as jco lists them (`'example:geo/lookup'`). */
  componentImports: string[];
  /** What jco's `instantiate` returned: the exported interfaces. */
  instance: Instance;
  memory(): WasmMemory | undefined;
  dispose(): Promise<void>;
}

export async function buildTestGuest<Instance>(options: {
  /** The world to build; also the name of the WIT file and of jco's output. */
  world: string;
  /** The world's package as one WIT text, or `witDir`: a WIT directory (with deps/) loaded with loadWitDir. */
  wit?: string;
  witDir?: string;
  /** `handler.ts`, the user's side. */
  handler: string;
  /** jco's imports object, keyed by interface (`'test:glue/host-api'`). */
  imports?: Record<string, unknown>;
  /** Whether the world imports anything (so the glue needs the core import names). */
  withImports?: boolean;
}): Promise<TestGuest<Instance>> {
  const { world, wit, handler } = options;
  const dir = await mkdtemp(join(tmpdir(), `as-glue-${world}-`));
  let witDir = options.witDir;
  if (witDir === undefined) {
    if (wit === undefined) throw new Error('buildTestGuest: give wit or witDir');
    witDir = join(dir, 'wit');
    await mkdir(witDir);
    await writeFile(join(witDir, `${world}.wit`), wit);
  }
  const pkg = wit !== undefined && options.witDir === undefined ? resolvePackage([{ path: `${world}.wit`, text: wit }]) : await loadWitDir(witDir);
  const generated = generateExportGlue(pkg, world, options.withImports === false ? {} : { coreImports: await worldCoreImports(witDir, world) }).files;
  for (const [name, text] of Object.entries(generated)) await writeFile(join(dir, name), text);
  await writeFile(join(dir, 'handler.ts'), handler);

  const built = await compileAssemblyScript({ entry: join(dir, 'glue.ts'), witDir, world });
  expect(built.warnings).toEqual([]);
  const transpiled = await transpileComponent(built.component, world);
  const out = join(dir, 'out');
  await mkdir(out, { recursive: true });
  for (const [name, bytes] of Object.entries(transpiled.files)) await writeFile(join(out, name), bytes);
  const glue = (await import(pathToFileURL(join(out, `${world}.js`)).href)) as {
    instantiate(
      getCoreModule: (name: string) => WasmModule,
      imports: Record<string, unknown>,
      instantiateCore: (m: WasmModule, i: WasmImports) => Promise<WasmInstance>,
    ): Promise<Instance>;
  };
  let memory: WasmMemory | undefined;
  const instance = await glue.instantiate(
    (name) => new webAssembly.Module(transpiled.files[name]!),
    options.imports ?? {},
    async (module, imports) => {
      // Captures the guest's memory to watch its size.
      const inst = new webAssembly.Instance(module, imports);
      const mem = inst.exports['memory'];
      if (typeof mem === 'object' && mem !== null && 'buffer' in mem) memory = mem as WasmMemory;
      return inst;
    },
  );
  return {
    dir,
    generated,
    coreExports: coreExportNames(built.core),
    componentImports: transpiled.imports,
    instance,
    memory: () => memory,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Runs `loop` once to warm up (then `afterWarmUp`), records the guest's memory size, runs it again and checks
 * the memory did not grow: what the glue allocates per call is freed.
 */
export function expectFlatMemory(guest: TestGuest<unknown>, loop: () => void, afterWarmUp?: () => void): void {
  loop();
  afterWarmUp?.();
  const before = guest.memory()?.buffer.byteLength;
  loop();
  const memory = guest.memory();
  expect(memory).toBeDefined();
  expect(memory!.buffer.byteLength).toBe(before);
  expect(memory!.buffer.byteLength).toBeLessThan(16 * 1024 * 1024);
}
