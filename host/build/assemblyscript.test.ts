// Builds a tiny AssemblyScript guest into a component in-process, transpiles it with jco and calls it.

import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileAssemblyScript } from './assemblyscript.ts';
import { coreExportNames, printComponent, transpileComponent } from './component-tools.ts';
import { BuildError } from './errors.ts';

const WIT = `package test:hello@0.1.0;

interface greeter {
  greet: func(n: u32) -> u32;
}

world hello {
  export greeter;
}
`;

const GUEST = `export function greet(n: u32): u32 {
  return n + 1;
}
`;

const BROKEN_GUEST = `export function greet(n: u32): u32 {
  return n + undefinedThing;
}
`;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edge-build-'));
  await mkdir(join(dir, 'wit'));
  await writeFile(join(dir, 'wit', 'hello.wit'), WIT);
  await writeFile(join(dir, 'guest.ts'), GUEST);
  await writeFile(join(dir, 'broken.ts'), BROKEN_GUEST);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('compileAssemblyScript', () => {
  it('builds a component that jco transpiles and that answers greet(41) = 42', async () => {
    const started = performance.now();
    const built = await compileAssemblyScript({ entry: join(dir, 'guest.ts'), witDir: join(dir, 'wit'), world: 'hello' });
    const buildMs = performance.now() - started;

    expect(built.warnings).toEqual([]);
    const wat = await printComponent(built.component);
    expect(wat).toMatch(/^\(component/);
    expect(wat).toContain('test:hello/greeter@0.1.0');

    const t0 = performance.now();
    const transpiled = await transpileComponent(built.component, 'hello');
    const transpileMs = performance.now() - t0;
    const out = join(dir, 'out');
    await mkdir(out, { recursive: true });
    for (const [name, bytes] of Object.entries(transpiled.files)) await writeFile(join(out, name), bytes);
    const glue = (await import(pathToFileURL(join(out, 'hello.js')).href)) as {
      instantiate(getCoreModule: (name: string) => unknown, imports: Record<string, unknown>): Promise<{ greeter: { greet(n: number): number } }>;
    };
    const getCoreModule = (name: string): unknown => new (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => unknown } }).WebAssembly.Module(transpiled.files[name]!);
    const instance = await glue.instantiate(getCoreModule, {});
    expect(instance.greeter.greet(41)).toBe(42);
    console.log(`build (asc -O0 + embed + new) ${buildMs.toFixed(0)} ms, transpile ${transpileMs.toFixed(0)} ms, component ${built.component.length} B, glue ${transpiled.files['hello.js']!.length} B`);
  });

  it('is deterministic: the same input gives the same bytes', async () => {
    const options = { entry: join(dir, 'guest.ts'), witDir: join(dir, 'wit'), world: 'hello' };
    const a = await compileAssemblyScript(options);
    const b = await compileAssemblyScript(options);
    expect(Buffer.from(a.core).equals(Buffer.from(b.core))).toBe(true);
    expect(Buffer.from(a.component).equals(Buffer.from(b.component))).toBe(true);
  });

  it('reports compile errors with E_BUILD_FAILED and the guest source position', async () => {
    const error = await compileAssemblyScript({ entry: join(dir, 'broken.ts'), witDir: join(dir, 'wit'), world: 'hello' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildError);
    const build = error as BuildError;
    expect(build.code).toBe('E_BUILD_FAILED');
    expect(build.diagnostics[0]).toMatchObject({ file: 'broken.ts', line: 2, column: 14 });
    expect(build.diagnostics[0]!.message).toContain('undefinedThing');
    expect(build.message).toContain('broken.ts:2:14:');
  });

  it.each([
    ['greet_post', 'export function greet(n: u32): u32 { return n + 1; }\nexport function greet_post(r: u32): void {}\n'],
    ['greeter_greet_post', 'export function greeter_greet(n: u32): u32 { return n + 1; }\nexport function greeter_greet_post(r: u32): void {}\n'],
  ])('exports %s under the canonical post-return name', async (asName, source) => {
    await writeFile(join(dir, `post-${asName}.ts`), source);
    const built = await compileAssemblyScript({ entry: join(dir, `post-${asName}.ts`), witDir: join(dir, 'wit'), world: 'hello' });
    expect(built.warnings).toEqual([]);
    const exports = coreExportNames(built.core);
    expect(exports).toContain('cm32p2|test:hello/greeter@0.1|greet_post');
    expect(exports).toContain('cm32p2|test:hello/greeter@0.1|greet');
    expect(exports.filter((name) => name.endsWith('_post'))).toEqual(['cm32p2|test:hello/greeter@0.1|greet_post']);
    expect(await printComponent(built.component)).toMatch(/canon lift[^\n]*post-return/);
  });

  it('names the missing export when the guest does not implement the world', async () => {
    await writeFile(join(dir, 'other.ts'), 'export function welcome(n: u32): u32 { return n; }\n');
    const error = await compileAssemblyScript({ entry: join(dir, 'other.ts'), witDir: join(dir, 'wit'), world: 'hello' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect((error as BuildError).message).toMatch(/test:hello\/greeter@0\.1[^ ]*greet has no implementation/);
    expect((error as BuildError).message).toContain('export function greeter_greet or greet');
  });
});
