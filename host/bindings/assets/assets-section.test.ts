// The `assets` section through the wrangler parser: Workers' defaults, every key checked with errors naming it, the
// binding in the manifest's one namespace, and an assets-only worker (no `main`) with what it cannot have.
import { describe, expect, it } from 'vitest';
import { parseManifestText } from '../../deploy/manifest.ts';
import { EdgeError } from '../../core/errors.ts';

function parse(toml: string) {
  return parseManifestText(toml, 'wrangler.toml');
}
function errorOf(toml: string): EdgeError {
  try {
    parse(toml);
  } catch (e) {
    if (e instanceof EdgeError) return e;
    throw e;
  }
  throw new Error('expected the manifest to be refused');
}

describe('assets section', () => {
  it("has Workers' defaults and grants env.<binding> to the worker's own assets", () => {
    const m = parse('name = "site"\nmain = "src/index.js"\n[assets]\ndirectory = "./public"\nbinding = "ASSETS"\n');
    expect(m.assets).toEqual({ directory: './public', binding: 'ASSETS', htmlHandling: 'auto-trailing-slash', notFoundHandling: 'none', runWorkerFirst: false });
    expect(m.bindings).toContainEqual({ type: 'assets', section: 'assets', binding: 'ASSETS', settings: { worker: 'site' }, key: 'assets.binding' });
  });

  it('reads every key, run_worker_first as a list of patterns', () => {
    const m = parse('name = "site"\nmain = "i.js"\nassets = { directory = "dist", html_handling = "drop-trailing-slash", not_found_handling = "404-page", run_worker_first = ["/api/*", "!/api/docs/*"] }\n');
    expect(m.assets).toMatchObject({ htmlHandling: 'drop-trailing-slash', notFoundHandling: '404-page', runWorkerFirst: ['/api/*', '!/api/docs/*'] });
  });

  it('allows no `main`: an assets-only worker', () => {
    const m = parse('name = "site"\n[assets]\ndirectory = "./public"\nnot_found_handling = "single-page-application"\n');
    expect(m.main).toBe('');
    expect(m.assets?.notFoundHandling).toBe('single-page-application');
    // Without assets, `main` is still required.
    expect(errorOf('name = "site"\n').details?.['key']).toBe('main');
  });

  it.each([
    ['[assets]\nbinding = "A"\n', 'assets.directory', /`assets\.directory` is missing/],
    ['[assets]\ndirectory = "p"\nhtml_handling = "auto"\n', 'assets.html_handling', /must be one of "auto-trailing-slash", "force-trailing-slash", "drop-trailing-slash", "none", found a string \("auto"\)/],
    ['[assets]\ndirectory = "p"\nnot_found_handling = true\n', 'assets.not_found_handling', /must be one of/],
    ['[assets]\ndirectory = "p"\nrun_worker_first = ["api/*"]\n', 'assets.run_worker_first[0]', /must be a path pattern starting with "\/"/],
    ['[assets]\ndirectory = "p"\nrun_worker_first = "yes"\n', 'assets.run_worker_first', /a boolean, or an array of route patterns/],
    ['[assets]\ndirectory = "p"\nbinding = "not valid"\n', 'assets.binding', /JavaScript identifier/],
    ['[assets]\ndirectory = "p"\nbinding = "X"\n[vars]\nX = "1"\n', 'assets.binding', /declared twice/],
    ['[assets]\ndirectory = "p"\nspa = true\n', 'assets.spa', /unknown key `assets\.spa`/],
    ['assets = "public"\n', 'assets', /must be a table/],
  ])('refuses %j naming %s', (extra, key, message) => {
    const e = errorOf(`name = "site"\nmain = "i.js"\n${extra}`);
    expect(e.code).toBe('E_MANIFEST_INVALID');
    expect(e.details?.['key']).toBe(key);
    expect(e.message).toMatch(message);
  });

  it('refuses a binding or run_worker_first on an assets-only worker, and Workers Sites', () => {
    expect(errorOf('name = "s"\n[assets]\ndirectory = "p"\nbinding = "ASSETS"\n').details?.['key']).toBe('assets.binding');
    expect(errorOf('name = "s"\n[assets]\ndirectory = "p"\nrun_worker_first = true\n').details?.['key']).toBe('assets.run_worker_first');
    const site = errorOf('name = "s"\nmain = "i.js"\n[site]\nbucket = "./static"\n');
    expect(site.message).toContain('assets = { directory = "./static" }');
  });
});
