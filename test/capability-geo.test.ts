// The capability-geo example end to end: a real host started with the example's edge.config.ts (the `geo`
// capability: geo.wit + geo.ts), its workers deployed from their directories as `edge deploy` uploads them, and
// what deploy and host start refuse. Also `edge types`: the committed generated types are what it writes.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectUpload, type DeployUpload } from '../host/deploy/upload.ts';
import { capabilityTypes, writeCapabilityTypes } from '../host/cli/types.ts';
import { startTestHost, type TestHost } from './helpers/test-host.ts';

const EXAMPLE = resolve(import.meta.dirname, '../examples/capability-geo');
const CONFIG = join(EXAMPLE, 'edge.config.ts');

const scratchDirs: string[] = [];
async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edge-geo-test-'));
  scratchDirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const d of scratchDirs) await rm(d, { recursive: true, force: true });
});

/** The JS worker's upload with its manifest's name and [[bindings]] replaced. */
async function jsUpload(name: string, bindings: string): Promise<DeployUpload> {
  const upload = await collectUpload(join(EXAMPLE, 'js-worker'));
  const content = upload.manifest.content.replace(/^name = .*$/m, `name = "${name}"`).replace(/\[\[bindings\]\][\s\S]*$/, bindings);
  return { ...upload, manifest: { ...upload.manifest, content } };
}

/** The AssemblyScript worker's upload (its component built once) with its manifest edited. */
function asUpload(upload: DeployUpload, edit: (toml: string) => string): DeployUpload {
  return { ...upload, manifest: { ...upload.manifest, content: edit(upload.manifest.content) } };
}

async function json(t: TestHost, worker: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const r = await t.get(worker, path, { headers });
  return { status: r.status, body: JSON.parse(r.text) };
}

describe('capability-geo: JS worker on a host with the geo capability', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost({ configPath: CONFIG });
    const res = await t.admin('POST', '/v1/workers', await collectUpload(join(EXAMPLE, 'js-worker')));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers the region of addresses in the table, the most specific range winning, and null for others', async () => {
    expect(await json(t, 'geo-js', '/?ip=192.0.2.10')).toEqual({ status: 200, body: { ip: '192.0.2.10', region: 'eu-west' } });
    expect(await json(t, 'geo-js', '/?ip=192.0.2.200')).toEqual({ status: 200, body: { ip: '192.0.2.200', region: 'eu-north' } });
    expect(await json(t, 'geo-js', '/?ip=203.0.113.255')).toEqual({ status: 200, body: { ip: '203.0.113.255', region: 'ap-south' } });
    expect(await json(t, 'geo-js', '/?ip=13.1.2.3')).toEqual({ status: 200, body: { ip: '13.1.2.3', region: 'us-west' } });
    expect(await json(t, 'geo-js', '/?ip=8.8.8.8')).toEqual({ status: 200, body: { ip: '8.8.8.8', region: null } });
    expect(await json(t, 'geo-js', '/?ip=0.0.0.0')).toEqual({ status: 200, body: { ip: '0.0.0.0', region: null } });
  });

  it('answers 400 with the error for an address that is not IPv4', async () => {
    for (const ip of ['1.2.3', '1.2.3.256', '01.2.3.4', '::1', 'example.com', '']) {
      const r = await json(t, 'geo-js', `/?ip=${encodeURIComponent(ip)}`);
      expect(r, ip).toEqual({ status: 400, body: { ip, error: `invalid-address: ${ip}` } });
    }
  });

  it("falls back to the caller's address (cf-connecting-ip) without ?ip", async () => {
    // The test connects from loopback: the host sets cf-connecting-ip to 127.0.0.1, in the table as "local".
    expect(await json(t, 'geo-js', '/')).toEqual({ status: 200, body: { ip: '127.0.0.1', region: 'local' } });
  });

  it('answers the default_region of the binding for addresses outside the table', async () => {
    const res = await t.admin('POST', '/v1/workers', await jsUpload('geo-default', '[[bindings]]\ntype = "geo"\nbinding = "GEO"\ndefault_region = "eu-central"\n'));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(await json(t, 'geo-default', '/?ip=8.8.8.8')).toEqual({ status: 200, body: { ip: '8.8.8.8', region: 'eu-central' } });
    expect(await json(t, 'geo-default', '/?ip=3.3.3.3')).toEqual({ status: 200, body: { ip: '3.3.3.3', region: 'us-east' } });
  });

  it('refuses a binding of a type the host does not offer, naming it and what the host offers', async () => {
    const res = await t.admin('POST', '/v1/workers', await jsUpload('geo-nope', '[[bindings]]\ntype = "nope"\nbinding = "GEO"\n'));
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'E_BINDING_UNKNOWN', message: expect.stringMatching(/unknown capability type "nope".*offers: geo/) });
    expect((await t.get('geo-nope', '/?ip=1.1.1.1')).status).toBe(404);
  });

  it('refuses bad settings of a geo binding at deploy, saying which', async () => {
    const cases: Array<[string, RegExp]> = [
      ['default_region = 42', /default_region must be a region name.*got 42/],
      ['default_region = "EU West"', /default_region must be a region name/],
      ['fallback = "eu-west"', /unknown setting `fallback` \(geo knows: default_region\)/],
    ];
    for (const [setting, message] of cases) {
      const res = await t.admin('POST', '/v1/workers', await jsUpload('geo-bad', `[[bindings]]\ntype = "geo"\nbinding = "GEO"\n${setting}\n`));
      expect(res.status, setting).toBe(400);
      expect(res.body.error, setting).toMatchObject({ code: 'E_BINDING_INVALID', message: expect.stringMatching(message) });
      expect(res.body.error.message).toContain('binding "GEO"');
    }
  });

  describe('the AssemblyScript worker', () => {
    let upload: DeployUpload;
    beforeAll(async () => {
      // As `edge deploy` does: built against the platform's world plus the capabilities of the nearest edge.config.ts.
      upload = await collectUpload(join(EXAMPLE, 'as-worker'));
      expect(upload.modules.map((m) => [m.path, m.encoding])).toEqual([['assembly/index.wasm', 'base64']]);
      const res = await t.admin('POST', '/v1/workers', upload);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }, 60_000);

    it('gives the same answers as the JS worker', async () => {
      const paths = ['/?ip=192.0.2.10', '/?ip=192.0.2.200', '/?ip=203.0.113.255', '/?ip=8.8.8.8', '/?ip=1.2.3', '/?ip=%3A%3A1', '/?ip=', '/'];
      for (const path of paths) expect(await json(t, 'geo-as', path), path).toEqual(await json(t, 'geo-js', path));
      expect(await json(t, 'geo-as', '/?ip=192.0.2.200')).toEqual({ status: 200, body: { ip: '192.0.2.200', region: 'eu-north' } });
      expect(await json(t, 'geo-as', '/?ip=1.2.3')).toEqual({ status: 400, body: { ip: '1.2.3', error: 'invalid-address: 1.2.3' } });
      expect(await json(t, 'geo-as', '/')).toEqual({ status: 200, body: { ip: '127.0.0.1', region: 'local' } });
    });

    it('answers the default_region of its binding', async () => {
      const res = await t.admin('POST', '/v1/workers', asUpload(upload, (x) => x.replace('name = "geo-as"', 'name = "geo-as-default"').replace('binding = "GEO"', 'binding = "GEO"\ndefault_region = "eu-central"')));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(await json(t, 'geo-as-default', '/?ip=8.8.8.8')).toEqual({ status: 200, body: { ip: '8.8.8.8', region: 'eu-central' } });
    });

    it('is refused at deploy without the grant, naming the import', async () => {
      const res = await t.admin('POST', '/v1/workers', asUpload(upload, (x) => x.replace('name = "geo-as"', 'name = "geo-as-ungranted"').replace(/\[\[bindings\]\][\s\S]*$/, '')));
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'E_IMPORT_NOT_GRANTED', message: expect.stringMatching(/example:geo\/lookup.*\[\[bindings\]\] type = "geo"/) });
    });

    it('gets not-granted when it opens a binding name it was not granted', async () => {
      const res = await t.admin('POST', '/v1/workers', asUpload(upload, (x) => x.replace('name = "geo-as"', 'name = "geo-as-other"').replace('binding = "GEO"', 'binding = "OTHER"')));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(await json(t, 'geo-as-other', '/?ip=1.1.1.1')).toEqual({ status: 500, body: { error: 'not-granted: GEO' } });
    });
  });

  it('gives a worker without the grant no env.GEO', async () => {
    const res = await t.deploy('geo-none', {
      modules: { 'index.js': `export default { fetch(request, env) { return Response.json({ has: 'GEO' in env, keys: Object.keys(env) }); } };` },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(await json(t, 'geo-none', '/')).toEqual({ status: 200, body: { has: false, keys: [] } });
  });
});

describe('capability-geo: host start', () => {
  /** A copy of the example's capability with `config` as its edge.config.ts; returns the config's path. */
  async function configWith(config: string, edit?: (dir: string) => Promise<void>): Promise<string> {
    const dir = await scratch();
    await cp(join(EXAMPLE, 'capability'), join(dir, 'capability'), { recursive: true });
    await edit?.(dir);
    await writeFile(join(dir, 'edge.config.ts'), config);
    return join(dir, 'edge.config.ts');
  }

  it('fails with E_CONFIG_INVALID when the config names a module that does not exist', async () => {
    const path = await configWith("export default { capabilities: [{ wit: './capability/geo.wit', module: './capability/missing.ts' }] };\n");
    await expect(startTestHost({ configPath: path })).rejects.toMatchObject({ code: 'E_CONFIG_INVALID', message: expect.stringContaining('missing.ts does not exist') });
  });

  it('fails with E_CAPABILITY_INVALID when the WIT does not define the interface the module implements', async () => {
    const path = await configWith("export default { capabilities: [{ wit: './capability/other.wit', module: './capability/geo.ts' }] };\n", async (dir) => {
      await writeFile(join(dir, 'capability/other.wit'), 'package example:geo@0.1.0;\n\ninterface where {\n  find: func(ip: string) -> option<string>;\n}\n');
    });
    await expect(startTestHost({ configPath: path })).rejects.toMatchObject({
      code: 'E_CAPABILITY_INVALID',
      message: expect.stringMatching(/capability interface "example:geo\/lookup" is not in its WIT \(which defines example:geo\/where\)/),
    });
  });

  it("fails when geo's setup finds a malformed table, naming the entry", async () => {
    const path = await configWith("export default { capabilities: [{ wit: './capability/geo.wit', module: './capability/geo.ts' }] };\n", async (dir) => {
      await writeFile(join(dir, 'capability/regions.json'), JSON.stringify({ ranges: [{ cidr: '192.0.2.0/24', region: 'eu-west' }, { cidr: '1.2.3.4/8', region: 'ap-east' }] }));
    });
    await expect(startTestHost({ configPath: path })).rejects.toThrow(/regions\.json: ranges\[1\]: 1\.2\.3\.4\/8 has host bits set \(the network is 1\.0\.0\.0\/8\)/);
  });

  it('fails with E_CAPABILITY_INVALID when the module is not a capability definition', async () => {
    const path = await configWith("export default { capabilities: [{ wit: './capability/geo.wit', module: './capability/broken.ts' }] };\n", async (dir) => {
      await writeFile(join(dir, 'capability/broken.ts'), "export default { name: 'Geo', interface: 'example:geo/lookup' };\n");
    });
    await expect(startTestHost({ configPath: path })).rejects.toMatchObject({ code: 'E_CAPABILITY_INVALID', message: expect.stringMatching(/`name` must be a lower-case name.*`instantiate\(grants, ctx\)` must be a function/) });
  });
});

describe('edge types', () => {
  it('writes what is committed under capability/generated/', async () => {
    const out = await scratch();
    const result = await writeCapabilityTypes(join(EXAMPLE, 'capability/geo.wit'), out);
    expect(result).toEqual({ package: 'example:geo@0.1.0', interfaces: ['example:geo/lookup@0.1.0'], files: [join(out, 'example-geo-lookup.d.ts')] });
    const committed = join(EXAMPLE, 'capability/generated');
    expect(await readdir(committed)).toEqual(['example-geo-lookup.d.ts']);
    // Regenerate with `edge types examples/capability-geo/capability/geo.wit` when geo.wit changes.
    expect(await readFile(join(out, 'example-geo-lookup.d.ts'), 'utf8')).toBe(await readFile(join(committed, 'example-geo-lookup.d.ts'), 'utf8'));
    const text = await readFile(join(out, 'example-geo-lookup.d.ts'), 'utf8');
    expect(text).toContain('export class Table {');
    expect(text).toContain('static open(binding: string): Table;');
    expect(text).toContain('region(ip: string): string | undefined;');
  });

  it('is the `edge types` command, printing what it wrote', async () => {
    const out = await scratch();
    const root = resolve(import.meta.dirname, '..');
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        execFile(join(root, 'node_modules/.bin/node'), ['--no-node-snapshot', join(root, 'host/cli/main.ts'), 'types', ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) =>
          done({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
        );
      });
    const ok = await run(['examples/capability-geo/capability/geo.wit', '--out', out, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ package: 'example:geo@0.1.0', interfaces: ['example:geo/lookup@0.1.0'], files: [join(out, 'example-geo-lookup.d.ts')] });
    const bad = await run([join(out, 'missing.wit')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('error E_CAPABILITY_INVALID: ');
  }, 30_000);

  it('types a package directory that uses platform types, with every interface', async () => {
    const dir = await scratch();
    await mkdir(join(dir, 'acme'));
    await writeFile(join(dir, 'acme/a.wit'), 'package acme:tools@1.0.0;\ninterface stamp {\n  use edge:platform/http-types@0.1.0.{headers};\n  count: func(h: headers) -> u32;\n}\n');
    await writeFile(join(dir, 'acme/b.wit'), 'interface clock-source {\n  now-ms: func() -> u64;\n}\n');
    const { interfaces, files } = await capabilityTypes(join(dir, 'acme'));
    expect(interfaces).toEqual(['acme:tools/stamp@1.0.0', 'acme:tools/clock-source@1.0.0']);
    expect(Object.keys(files).sort()).toEqual(['acme-tools-clock-source.d.ts', 'acme-tools-stamp.d.ts', 'edge-platform-http-types.d.ts']);
    expect(files['acme-tools-clock-source.d.ts']).toContain('export function nowMs(): bigint;');
    expect(files['acme-tools-stamp.d.ts']).toContain("import('./edge-platform-http-types.js').Headers");
  });

  it('refuses WIT without a package or with an error, pointing at the file', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'nopkg.wit'), 'interface lookup { f: func(); }\n');
    await expect(capabilityTypes(join(dir, 'nopkg.wit'))).rejects.toMatchObject({ code: 'E_CAPABILITY_INVALID', message: expect.stringContaining('declares no package') });
    await writeFile(join(dir, 'bad.wit'), 'package acme:bad@0.1.0;\ninterface lookup {\n  f: func(x: nope);\n}\n');
    await expect(capabilityTypes(join(dir, 'bad.wit'))).rejects.toMatchObject({ code: expect.stringMatching(/^E_WIT_/), message: expect.stringContaining(`${join(dir, 'bad.wit')}:3:`) });
    await expect(capabilityTypes(join(dir, 'absent.wit'))).rejects.toMatchObject({ code: 'E_CAPABILITY_INVALID', message: expect.stringContaining('does not exist') });
  });
});
