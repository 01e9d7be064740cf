// Generates the TypeScript types of host implementations from WIT with jco (`generateHostTypes`), so that no
// capability's types are copied by hand. `npm run typegen` regenerates host/bindings/generated/ from wit/; a test
// checks it is current. `edge types` uses the same function for a user's capability WIT.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { generateHostTypes } from '@bytecodealliance/jco-transpile';
import { withWitDir } from '../build/component-tools.ts';

/** `{ 'interfaces/edge-platform-log.d.ts': text, ... }` for `world` of the WIT directory (or file) `witPath`. */
export async function hostTypesFor(witPath: string, world: string): Promise<Record<string, string>> {
  // jco reads WIT through the WASI shim, whose preopens are process-wide: through the one queue all WIT reads share.
  return withWitDir(witPath, async (virtual) => {
    const files = await generateHostTypes(virtual, { worldName: world, instantiation: { tag: 'sync' } as never });
    const out: Record<string, string> = {};
    for (const [name, bytes] of Object.entries(files)) out[name] = new TextDecoder().decode(bytes as Uint8Array);
    return out;
  });
}

export const PLATFORM_WIT = resolve(import.meta.dirname, '../../wit');
export const GENERATED_DIR = resolve(import.meta.dirname, 'generated');

/** The interface files for the platform world, as committed under generated/. */
export async function platformTypes(): Promise<Record<string, string>> {
  const all = await hostTypesFor(PLATFORM_WIT, 'worker');
  return Object.fromEntries(Object.entries(all).filter(([name]) => name.startsWith('interfaces/')));
}

export async function writeTypes(files: Record<string, string>, outDir: string): Promise<string[]> {
  const written: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    const path = join(outDir, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    written.push(path);
  }
  return written.sort();
}

if (import.meta.main) {
  const written = await writeTypes(await platformTypes(), GENERATED_DIR);
  for (const p of written) console.log(p);
}
