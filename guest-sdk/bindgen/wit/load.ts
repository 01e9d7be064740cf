// Loads a package directory: every *.wit file directly inside it (sorted by name), resolved as one package.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WitError } from './errors.ts';
import { resolvePackage } from './resolve.ts';
import type { ResolvedPackage } from './types.ts';

export async function loadWitDir(dir: string): Promise<ResolvedPackage> {
  const entries = await readdir(dir, { withFileTypes: true });
  // A `deps/` folder is where dependencies will live; it is not part of the package.
  const names = entries.filter((e) => e.isFile() && e.name.endsWith('.wit')).map((e) => e.name).sort();
  if (names.length === 0) {
    throw new WitError('E_WIT_PACKAGE', { file: dir, line: 1, column: 1 }, `no .wit files in ${dir}`);
  }
  const files = await Promise.all(names.map(async (name) => ({ path: join(dir, name), text: await readFile(join(dir, name), 'utf8') })));
  return resolvePackage(files);
}
