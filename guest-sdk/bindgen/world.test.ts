// synthesizeGuestWorld, and a guest using a user-defined capability (a WIT package of its own) end to end: the
// synthesized world (platform + capability in deps/) is loaded, its glue generated, the handler built into a
// component, transpiled with jco and run in Node with JS implementations of the capability.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileAssemblyScript } from '../../host/build/assemblyscript.ts';
import { transpileComponent, worldCoreImports } from '../../host/build/component-tools.ts';
import { buildTestGuest, type TestGuest } from './assemblyscript/test-guest.ts';
import { generateExportGlue } from './assemblyscript/generate.ts';
import { loadWitDir } from './wit/index.ts';
import { synthesizeGuestWorld } from './world.ts';

const PLATFORM_WIT = resolve(import.meta.dirname, '../../wit');

const GEO_WIT = `package example:geo@0.1.0;

/// Looks up where an IP address is.
interface lookup {
  variant error { not-granted(string), invalid-address(string) }
  resource table {
    open: static func(binding: string) -> result<table, error>;
    region: func(ip: string) -> result<option<string>, error>;
  }
}
`;

const HANDLER = `import { Request, Response, ResponseBody, TupleStringString, LookupError } from "./glue-types";
import { Table } from "./glue-imports";

function describe(e: LookupError): string {
  if (e.tag == LookupError.NOT_GRANTED) return "not-granted: " + e.asNotGranted;
  return "invalid-address: " + e.asInvalidAddress;
}

export function handle(request: Request): Response {
  const body = request.body;
  if (body != null) body.drop();
  let status: u16 = 200;
  let text = "";
  const opened = Table.open("GEO");
  if (!opened.isOk) {
    status = 403;
    text = "open: " + describe(opened.error);
  } else {
    const table = opened.value;
    const r = table.region(request.url);
    if (r.isOk) {
      const region = r.value;
      text = region == null ? "unknown" : region;
    } else {
      status = 500;
      text = "region: " + describe(r.error);
    }
    table.drop();
  }
  const headers = new Array<TupleStringString>();
  headers.push(new TupleStringString("content-type", "text/plain"));
  return new Response(status, headers, ResponseBody.bytes(Uint8Array.wrap(String.UTF8.encode(text))));
}
`;

const dirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function capability(text: string, name = 'geo.wit'): Promise<string> {
  const dir = await tempDir('cap-');
  await writeFile(join(dir, name), text);
  return join(dir, name);
}

describe('synthesizeGuestWorld', () => {
  it('writes guest.wit and deps/ for the platform and each capability, importing every interface', async () => {
    const capDir = await tempDir('cap-dir-');
    await writeFile(join(capDir, 'a.wit'), 'package example:multi@1.0.0;\ninterface one { f: func(); }\n');
    await writeFile(join(capDir, 'b.wit'), 'interface two { g: func() -> u32; }\n');
    const into = join(await tempDir('guest-'), 'wit');
    const result = await synthesizeGuestWorld({ platformWitDir: PLATFORM_WIT, capabilityWit: [await capability(GEO_WIT), capDir], into });
    expect(result).toEqual({ witDir: into, world: 'guest', imports: ['example:geo/lookup@0.1.0', 'example:multi/one@1.0.0', 'example:multi/two@1.0.0'] });
    expect((await readdir(join(into, 'deps'))).sort()).toEqual(['edge-platform', 'example-geo', 'example-multi']);
    expect((await readdir(join(into, 'deps', 'example-multi'))).sort()).toEqual(['a.wit', 'b.wit']);
    expect((await readdir(join(into, 'deps', 'edge-platform'))).sort()).toEqual((await readdir(PLATFORM_WIT)).filter((f) => f.endsWith('.wit')).sort());
    const guest = await readFile(join(into, 'guest.wit'), 'utf8');
    expect(guest).toContain('package edge:guest;');
    expect(guest).toContain('include edge:platform/worker@0.1.0;');
    expect(guest).toContain('import example:geo/lookup@0.1.0;');
    const pkg = await loadWitDir(into);
    const ids = pkg.worlds[0]!.imports.map((i) => (i.kind === 'interface' && i.ref.kind === 'external' ? `${i.ref.package.namespace}:${i.ref.package.name}/${i.ref.interface}` : '?'));
    expect(ids).toContain('edge:platform/kv');
    expect(ids.slice(-3)).toEqual(['example:geo/lookup', 'example:multi/one', 'example:multi/two']);
  });

  it('refuses a capability that does not parse, has no package, or reuses the platform package', async () => {
    const run = async (text: string) => synthesizeGuestWorld({ platformWitDir: PLATFORM_WIT, capabilityWit: [await capability(text)], into: join(await tempDir('guest-'), 'wit') });
    await expect(run('package example:geo@0.1.0;\ninterface lookup {\n  f: func(;\n}\n')).rejects.toMatchObject({ code: 'E_WIT_SYNTAX', line: 3 });
    await expect(run('interface lookup { f: func(); }\n')).rejects.toMatchObject({ code: 'E_WIT_PACKAGE', message: expect.stringMatching(/geo\.wit:1:1: .*declares no package/) });
    await expect(run('package edge:platform@0.2.0;\ninterface geo { f: func(); }\n')).rejects.toMatchObject({ code: 'E_WIT_PACKAGE', line: 1, message: expect.stringContaining('reuses the package name of the platform') });
    await expect(run('package edge:guest;\ninterface geo { f: func(); }\n')).rejects.toMatchObject({ code: 'E_WIT_PACKAGE' });
    // Resolution problems are found here, not by the build: an unknown package, with what deps/ holds.
    await expect(run('package example:geo@0.1.0;\ninterface lookup {\n  use wasi:io/streams@0.2.0.{input-stream};\n}\n')).rejects.toMatchObject({
      code: 'E_WIT_PACKAGE',
      line: 3,
      message: expect.stringMatching(/unknown package wasi:io@0\.2\.0: .*deps\/ holds edge:platform@0\.1\.0 \(deps\/edge-platform\), example:geo@0\.1\.0 \(deps\/example-geo\)/),
    });
  });

  it('refuses two capabilities of one package and a directory that is not empty', async () => {
    const a = await capability(GEO_WIT);
    const b = await capability(GEO_WIT.replace('0.1.0', '0.2.0'));
    await expect(synthesizeGuestWorld({ platformWitDir: PLATFORM_WIT, capabilityWit: [a, b], into: join(await tempDir('guest-'), 'wit') })).rejects.toMatchObject({ code: 'E_WIT_PACKAGE' });
    const full = await tempDir('guest-');
    await writeFile(join(full, 'x'), '');
    await expect(synthesizeGuestWorld({ platformWitDir: PLATFORM_WIT, capabilityWit: [a], into: full })).rejects.toThrow(/not empty/);
  });
});

describe('type names across packages', () => {
  it('qualifies clashing names with the interface, and with the package when interface names clash too', async () => {
    // example:geo/kv clashes with edge:platform/kv (interface name) and its `error` with kv's, blob's, ...
    const cap = await capability(`package example:geo@0.1.0;
interface kv {
  variant error { broken(string) }
  record point { x: u32 }
  resource table { get: func() -> result<point, error>; }
  ping: func() -> u32;
}
interface lookup {
  use edge:platform/http-types@0.1.0.{headers};
  variant error { not-granted(string) }
  find: func(p: string) -> result<string, error>;
  ping: func() -> u32;
  count: func(h: headers) -> u32;
}
`);
    const w = await synthesizeGuestWorld({ platformWitDir: PLATFORM_WIT, capabilityWit: [cap], into: join(await tempDir('guest-'), 'wit') });
    const { files } = generateExportGlue(await loadWitDir(w.witDir), w.world, { coreImports: await worldCoreImports(w.witDir, w.world) });
    const types = files['glue-types.ts']!;
    const imports = files['glue-imports.ts']!;
    for (const name of ['EdgePlatformKvError', 'ExampleGeoKvError', 'LookupError', 'BlobError', 'SqlError', 'EdgePlatformKvPutOptions', 'BlobPutOptions']) expect(types).toContain(`export class ${name} {`);
    expect(types).toContain('export class Point {'); // unique: not qualified
    expect(types).not.toContain('export class KvError {');
    expect(imports).toContain('export class EdgePlatformKvNamespace {'); // `namespace` also in durable
    expect(imports).toContain('export class Table {');
    expect(imports).toContain('@external("cm32p2|example:geo/kv@0.1", "[method]table.get")');
    expect(imports).toContain('@external("cm32p2|example:geo/lookup@0.1", "find")');
    // Two imported `ping`s: `iface_func`, the interface named as for types.
    expect(imports).toContain('export function exampleGeoKv_ping(): u32');
    expect(imports).toContain('export function lookup_ping(): u32');
    expect(imports).toContain('export function count(h: Array<TupleStringString>): u32');
    // And it builds.
    const dir = await tempDir('clash-');
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    await writeFile(
      join(dir, 'handler.ts'),
      `import { Request, Response, ResponseBody, TupleStringString, ExampleGeoKvError, EdgePlatformKvError } from "./glue-types";
import { Table, exampleGeoKv_ping, lookup_ping, count, find } from "./glue-imports";
export function handle(request: Request): Response {
  const e = ExampleGeoKvError.broken("x");
  const f = EdgePlatformKvError.notGranted("y");
  const n = exampleGeoKv_ping() + lookup_ping() + count(request.headers) + e.tag + f.tag;
  const r = find(request.url);
  return new Response(<u16>n, request.headers, ResponseBody.bytes(Uint8Array.wrap(String.UTF8.encode(r.isOk ? r.value : ""))));
}
`,
    );
    const built = await compileAssemblyScript({ entry: join(dir, 'glue.ts'), witDir: w.witDir, world: w.world });
    expect(built.warnings).toEqual([]);
    expect((await transpileComponent(built.component, 'guest')).imports.sort()).toEqual(['edge:platform/http-types', 'example:geo/kv', 'example:geo/lookup']);
  }, 60_000);
});

describe('a guest using a capability of its own package (example:geo)', () => {
  interface Response {
    status: number;
    headers: [string, string][];
    body: { tag: string; val?: Uint8Array };
  }
  type Instance = { incomingHandler: { handle(request: { method: string; url: string; headers: [string, string][]; body?: unknown }): Response } };
  let guest: TestGuest<Instance>;
  let granted = true;
  const opened: string[] = [];
  let disposed = 0;

  class Table {
    static open(binding: string): Table {
      if (!granted) throw { payload: { tag: 'not-granted', val: binding } };
      opened.push(binding);
      return new Table();
    }
    region(ip: string): string | undefined {
      if (ip === 'bad') throw { payload: { tag: 'invalid-address', val: `'${ip}' is not an IP address` } };
      if (ip === 'unknown') return undefined;
      return ip.startsWith('10.') ? 'private' : 'eu-west-ünïcode';
    }
    [Symbol.dispose](): void {
      disposed++;
    }
  }

  beforeAll(async () => {
    const into = join(await tempDir('guest-e2e-'), 'wit');
    const w = await synthesizeGuestWorld({ platformWitDir: PLATFORM_WIT, capabilityWit: [await capability(GEO_WIT)], into });
    guest = await buildTestGuest<Instance>({
      world: w.world,
      witDir: w.witDir,
      handler: HANDLER,
      imports: {
        'example:geo/lookup': { Table },
        'edge:platform/http-types': { IncomingBody: class IncomingBody {}, OutgoingBody: class OutgoingBody {} },
      },
    });
    dirs.push(guest.dir);
  }, 120_000);

  const call = (url: string): { status: number; text: string } => {
    const r = guest.instance.incomingHandler.handle({ method: 'GET', url, headers: [] });
    expect(r.body.tag).toBe('bytes');
    return { status: r.status, text: new TextDecoder().decode(r.body.val) };
  };

  it('imports example:geo/lookup beside the platform interfaces it uses', () => {
    expect(guest.componentImports).toContain('example:geo/lookup');
    expect(guest.componentImports).toContain('edge:platform/http-types');
    expect(guest.generated['glue-imports.ts']).toContain('export class Table {');
  });

  it('calls Table.open and region through the capability', () => {
    granted = true;
    opened.length = 0;
    const before = disposed;
    expect(call('1.2.3.4')).toEqual({ status: 200, text: 'eu-west-ünïcode' });
    expect(call('10.0.0.1')).toEqual({ status: 200, text: 'private' });
    expect(call('unknown')).toEqual({ status: 200, text: 'unknown' });
    expect(opened).toEqual(['GEO', 'GEO', 'GEO']);
    expect(disposed - before).toBe(3); // each table dropped by the guest
  });

  it('gets the errors as variants: not-granted from open, invalid-address from region', () => {
    granted = false;
    expect(call('1.2.3.4')).toEqual({ status: 403, text: 'open: not-granted: GEO' });
    granted = true;
    expect(call('bad')).toEqual({ status: 500, text: "region: invalid-address: 'bad' is not an IP address" });
  });
});

describe('host/build component-tools', () => {
  it('reads each WIT directory afresh (wasm-tools kept the first preopened directory of the process)', async () => {
    const seen: string[][] = [];
    for (const [i, text] of [GEO_WIT, GEO_WIT.replace('region: func', 'where: func')].entries()) {
      const w = await synthesizeGuestWorld({ platformWitDir: PLATFORM_WIT, capabilityWit: [await capability(text)], into: join(await tempDir(`fresh-${i}-`), 'wit') });
      seen.push((await worldCoreImports(w.witDir, w.world)).filter((c) => c.module.includes('example:geo')).map((c) => c.name));
    }
    expect(seen).toEqual([
      ['[static]table.open', '[method]table.region', 'table_drop'],
      ['[static]table.open', '[method]table.where', 'table_drop'],
    ]);
  });
});

describe('deps/ entries', () => {
  it('may be a single .wit file or a directory', async () => {
    const dir = await tempDir('wit-deps-');
    await mkdir(join(dir, 'deps', 'example-geo'), { recursive: true });
    await writeFile(join(dir, 'deps', 'example-geo', 'geo.wit'), GEO_WIT);
    await writeFile(join(dir, 'deps', 'other.wit'), 'package example:other@1.0.0;\ninterface o { use example:geo/lookup@0.1.0.{table}; f: func(t: table); }\n');
    await writeFile(join(dir, 'root.wit'), 'package a:b;\nworld w { import example:other/o@1.0.0; }\n');
    const pkg = await loadWitDir(dir);
    expect(pkg.deps!.map((d) => `${d.id.namespace}:${d.id.name}`)).toEqual(['example:geo', 'example:other']);
  });
});
