// Milestone: glue for the whole platform world (wit/, world `worker`) is generated, and a minimal handler builds
// into a component with it. Running it needs the host side of the platform, so the build is the check here.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileAssemblyScript } from '../../../host/build/assemblyscript.ts';
import { worldCoreImports } from '../../../host/build/component-tools.ts';
import { loadWitDir } from '../wit/index.ts';
import { generateExportGlue } from './generate.ts';

const WIT_DIR = resolve(import.meta.dirname, '../../../wit');

const HANDLER = `import { Request, Response, ResponseBody, TupleStringString } from "./glue-types";
import { write } from "./glue-imports";
import { Level } from "./glue-types";

export function handle(request: Request): Response {
  const body = request.body;
  if (body != null) body.drop();
  write(Level.Info, request.method + " " + request.url);
  const headers = new Array<TupleStringString>();
  headers.push(new TupleStringString("content-type", "text/plain"));
  return new Response(200, headers, ResponseBody.bytes(Uint8Array.wrap(String.UTF8.encode("hello " + request.url))));
}
`;

let dir: string | undefined;

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the platform world (wit/, worker)', () => {
  it('generates glue for every import and the export, and a minimal handler builds', async () => {
    const coreImports = await worldCoreImports(WIT_DIR, 'worker');
    const { files } = generateExportGlue(await loadWitDir(WIT_DIR), 'worker', { coreImports });
    expect(Object.keys(files).sort()).toEqual(['glue-imports.ts', 'glue-types.ts', 'glue.ts']);
    // Names two interfaces share are qualified with the interface's name.
    expect(files['glue-types.ts']).toContain('export class KvError {');
    expect(files['glue-types.ts']).toContain('export class BlobError {');
    expect(files['glue-imports.ts']).toContain('export class KvNamespace {');
    expect(files['glue-imports.ts']).toContain('export class DurableNamespace {');
    expect(files['glue.ts']).toContain('export function incomingHandler_handle(');
    dir = await mkdtemp(join(tmpdir(), 'as-glue-platform-'));
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    await writeFile(join(dir, 'handler.ts'), HANDLER);
    const built = await compileAssemblyScript({ entry: join(dir, 'glue.ts'), witDir: WIT_DIR, world: 'worker' });
    expect(built.warnings).toEqual([]);
    expect(built.component.byteLength).toBeGreaterThan(0);
  }, 60_000);
});
