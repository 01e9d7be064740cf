// Loads a package directory: every *.wit file directly inside it (sorted by name), resolved as one package, with the
// packages of its `deps/` folder when it refers to other packages.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WitError } from './errors.ts';
import { parseWit } from './parser.ts';
import { refersToOtherPackages, resolveFiles, resolveWithDeps, type DepPackage } from './resolve.ts';
import type { ResolvedPackage, WitFileAst } from './types.ts';

/**
 * The package in `dir`. When it refers to other packages (`use`/`import`/`export`/`include` of `ns:pkg/...`),
 * they are loaded from `dir/deps/`, laid out as wasm-tools expects: each entry is one package, either a directory
 * of .wit files or a single .wit file (other entries are ignored); deps may refer to each other. References into
 * them are resolved (`external` InterfaceRefs with a `target`, `pkg.deps`); a package or interface deps/ does not
 * have is a WitError at the reference. A package that refers to no other package never reads deps/.
 */
export async function loadWitDir(dir: string): Promise<ResolvedPackage> {
  const files = await parseDir(dir);
  if (files.length === 0) {
    throw new WitError('E_WIT_PACKAGE', { file: dir, line: 1, column: 1 }, `no .wit files in ${dir}`);
  }
  if (!refersToOtherPackages(files)) return resolveFiles(files);
  return resolveWithDeps(files, await loadDeps(join(dir, 'deps')), `${join(dir, 'deps')}/`);
}

async function parseDir(dir: string): Promise<WitFileAst[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  // A `deps/` folder holds other packages; it is not part of this one.
  const names = entries.filter((e) => e.isFile() && e.name.endsWith('.wit')).map((e) => e.name).sort();
  return Promise.all(names.map(async (name) => parseWit(join(dir, name), await readFile(join(dir, name), 'utf8'))));
}

/** The packages of a deps/ directory, in name order (none when it does not exist). */
async function loadDeps(depsDir: string): Promise<DepPackage[]> {
  let entries;
  try {
    entries = await readdir(depsDir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const deps: DepPackage[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(depsDir, e.name);
    const source = `deps/${e.name}`;
    if (e.isDirectory()) {
      const files = await parseDir(path);
      if (files.length === 0) throw new WitError('E_WIT_PACKAGE', { file: path, line: 1, column: 1 }, `no .wit files in ${path}`);
      deps.push({ source, files });
    } else if (e.isFile() && e.name.endsWith('.wit')) {
      deps.push({ source, files: [parseWit(path, await readFile(path, 'utf8'))] });
    }
  }
  return deps;
}
