// Tests for the client-side upload collection, on real files in a temporary directory.

import { rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collectUpload, MAX_UPLOAD_BYTES } from './upload.ts';
import { rejection, writeWorkerDir } from '../../test/helpers/worker-dir.ts';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const worker = (files: Record<string, string>): Promise<string> => writeWorkerDir(files, dirs, 'edge-upload-');

const TOML = 'name = "w"\nmain = "src/index.js"\nno_bundle = true\n';

// Bundling (the default) is tested in test/bundle.test.ts; these are the modules-as-they-are path.
describe('collectUpload with no_bundle = true', () => {
  it('collects the manifest and every .js/.mjs module, sorted, skipping ignored directories', async () => {
    const dir = await worker({
      'wrangler.toml': TOML,
      'src/index.js': 'export default {}',
      'src/lib/util.mjs': 'export const x = 1',
      'src/Z.js': '// capital sorts first',
      'a.js': '//a',
      'README.md': 'no',
      'src/types.d.ts': 'no',
      'src/data.json': '{}',
      'node_modules/dep/index.js': 'no',
      '.edge/cache.js': 'no',
      '.git/hooks/x.js': 'no',
      '.hidden/x.js': 'no',
      'sub/node_modules/x.js': 'no',
    });
    const upload = await collectUpload(dir);
    expect(upload.manifest).toEqual({ fileName: 'wrangler.toml', content: TOML });
    expect(upload.modules.map((m) => m.path)).toEqual(['a.js', 'src/Z.js', 'src/index.js', 'src/lib/util.mjs']);
    expect(upload.modules.find((m) => m.path === 'src/index.js')?.content).toBe('export default {}');
  });

  it('works with a JSONC manifest and a normalized main', async () => {
    const dir = await worker({ 'wrangler.jsonc': '{ "name": "w", "main": "./index.mjs", "no_bundle": true, }', 'index.mjs': 'export default {}' });
    const upload = await collectUpload(dir);
    expect(upload.manifest.fileName).toBe('wrangler.jsonc');
    expect(upload.modules).toEqual([{ path: 'index.mjs', content: 'export default {}' }]);
  });

  it('follows symlinked files but not symlinked directories', async () => {
    const dir = await worker({ 'wrangler.toml': TOML, 'src/index.js': '1', 'lib/real.js': '2' });
    await symlink(join(dir, 'lib/real.js'), join(dir, 'src/link.js'));
    await symlink(dir, join(dir, 'src/loop'));
    const upload = await collectUpload(dir);
    expect(upload.modules.map((m) => m.path)).toEqual(['lib/real.js', 'src/index.js', 'src/link.js']);
  });

  it('fails when main is not among the modules, naming main and the directory', async () => {
    const dir = await worker({ 'wrangler.toml': TOML, 'index.js': 'x' });
    const e = await rejection(collectUpload(dir));
    expect(e.code).toBe('E_MODULE_NOT_FOUND');
    expect(e.message).toContain('`src/index.js`');
    expect(e.message).toContain(dir);
    expect(e.message).toContain('modules found: index.js');
    expect(e.details).toMatchObject({ main: 'src/index.js', dir });
  });

  it('explains that a TypeScript main is bundled unless no_bundle is set', async () => {
    const dir = await worker({ 'wrangler.toml': 'name = "w"\nmain = "src/index.ts"\nno_bundle = true\n', 'src/index.ts': 'export default {}' });
    const e = await rejection(collectUpload(dir));
    expect(e.code).toBe('E_MODULE_NOT_FOUND');
    expect(e.message).toContain('with `no_bundle = true` modules are uploaded as they are, so `main` must be a .js or .mjs module');
  });

  it('does not pick a main from a skipped directory', async () => {
    const dir = await worker({ 'wrangler.toml': 'name = "w"\nmain = "node_modules/x.js"\nno_bundle = true\n', 'node_modules/x.js': '1' });
    expect((await rejection(collectUpload(dir))).code).toBe('E_MODULE_NOT_FOUND');
  });

  it('passes manifest errors through', async () => {
    const dir = await worker({ 'wrangler.toml': 'name = "w"\nmain = "index.js"\n[[queues.producers]]\nbinding = "K"\nqueue = "q"\n', 'index.js': '' });
    expect((await rejection(collectUpload(dir))).code).toBe('E_BINDING_UNSUPPORTED');
    const none = await worker({ 'index.js': '' });
    expect((await rejection(collectUpload(none))).code).toBe('E_MANIFEST_NOT_FOUND');
  });

  it('rejects uploads over the size cap, naming the size', async () => {
    const big = 'x'.repeat(MAX_UPLOAD_BYTES / 2);
    const dir = await worker({ 'wrangler.toml': TOML, 'src/index.js': '1', 'big1.js': big, 'big2.js': big });
    const e = await rejection(collectUpload(dir));
    expect(e.code).toBe('E_DEPLOY_INVALID');
    const bytes = MAX_UPLOAD_BYTES + TOML.length + 1;
    expect(e.message).toContain(`is 10.00 MiB (${bytes} bytes), over the 10 MiB (${MAX_UPLOAD_BYTES} bytes) limit; largest files: big1.js (5.00 MiB), big2.js (5.00 MiB)`);
    expect(e.details).toMatchObject({ bytes, limit: MAX_UPLOAD_BYTES });
  });

  it('collects the hello-js example (bundled: no no_bundle there)', async () => {
    const upload = await collectUpload('examples/hello-js');
    expect(upload.manifest.fileName).toBe('wrangler.toml');
    expect(upload.modules.map((m) => m.path)).toEqual(['index.js', 'index.js.map']);
  });
});
