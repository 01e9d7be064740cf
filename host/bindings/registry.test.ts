// The capability registry on its own: grants checked at deploy, imports checked against grants, and the per-instance
// dispatch of guests' calls (functions, resources and their handles, WIT errors, host failures, async results).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifestText } from '../deploy/manifest.ts';
import { EdgeError } from '../core/errors.ts';
import { CapabilityRegistry, type CapabilityCall, type CapabilityInstance } from './registry.ts';

const PLATFORM = resolve(import.meta.dirname, '../../wit');
let dir: string;
let registry: CapabilityRegistry;

const COUNTER_WIT = `package test:counter@0.1.0;
interface counter {
  variant error { not-granted(string), too-big(u32) }
  resource cell {
    open: static func(binding: string) -> result<cell, error>;
    add: func(n: u32) -> result<u32, error>;
    slow: func() -> u32;
    split: func() -> cell;
  }
  version: func() -> string;
}
`;

const COUNTER_MODULE = `
export let disposed = 0;
export default {
  name: 'counter',
  interface: 'test:counter/counter',
  checkGrant(grant) {
    const start = grant.settings.start ?? 0;
    if (typeof start !== 'number') throw new Error('start must be a number');
    return { start };
  },
  instantiate(grants, ctx) {
    class Cell {
      constructor(v) { this.v = v; }
      static open(binding) {
        const g = grants.get(binding);
        if (!g) throw { tag: 'not-granted', val: binding };
        return new Cell(g.start);
      }
      add(n) {
        if (n > 100) { const e = new Error('too big'); e.payload = { tag: 'too-big', val: n }; throw e; }
        this.v += n;
        return this.v;
      }
      async slow() { await new Promise((r) => setTimeout(r, 5)); return this.v; }
      split() { return new Cell(this.v); }
      [Symbol.dispose]() { disposed++; }
    }
    return { Cell, version() { if (ctx.worker === 'broken') throw new Error('db down'); return '1.0'; } };
  },
};
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edge-registry-'));
  await writeFile(join(dir, 'counter.wit'), COUNTER_WIT);
  await writeFile(join(dir, 'counter.mjs'), COUNTER_MODULE);
  registry = await CapabilityRegistry.create({ platformWitDir: PLATFORM, dataDir: dir, user: [{ wit: join(dir, 'counter.wit'), module: join(dir, 'counter.mjs') }] });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const manifest = (extra = '') => parseManifestText(`name = "w"\nmain = "w.wasm"\n${extra}`, 'wrangler.toml');
const granted = manifest('[[bindings]]\ntype = "counter"\nbinding = "C"\nstart = 10\n');
const errorOf = (fn: () => unknown): EdgeError => {
  try {
    fn();
  } catch (e) {
    return e as EdgeError;
  }
  throw new Error('did not throw');
};
const instance = (m = granted, worker = 'w'): CapabilityInstance => registry.instantiate(m, { worker, version: 'v1', vars: {}, log() {} });
const cap = (i: CapabilityInstance, c: Partial<CapabilityCall>) => i.invoke({ i: 'test:counter/counter', r: 'Cell', m: '', k: 'static', h: 0, a: [], ...c });

describe('CapabilityRegistry: deploy-time checks', () => {
  it('lists user capabilities and checks grants with the capability', () => {
    expect(registry.userCapabilities).toEqual([{ name: 'counter', interface: 'test:counter/counter' }]);
    expect(registry.checkGrants(granted).get('counter')?.get('C')).toEqual({ start: 10 });
    const unknown = errorOf(() => registry.checkGrants(manifest('[[bindings]]\ntype = "nope"\nbinding = "N"\n')));
    expect(unknown.code).toBe('E_BINDING_UNKNOWN');
    expect(unknown.message).toContain('this host offers: counter');
    const bad = errorOf(() => registry.checkGrants(manifest('[[bindings]]\ntype = "counter"\nbinding = "C"\nstart = "x"\n')));
    expect(bad.code).toBe('E_BINDING_INVALID');
    expect(bad.message).toBe('bindings[0] (binding "C", type "counter"): start must be a number');
  });

  it('accepts imports of always-granted and granted interfaces, refuses the others naming them', () => {
    registry.checkImports(granted, ['edge:platform/log', 'edge:platform/vars', 'edge:platform/http-types', 'test:counter/counter']);
    const notGranted = errorOf(() => registry.checkImports(manifest(), ['edge:platform/log', 'test:counter/counter']));
    expect(notGranted.code).toBe('E_IMPORT_NOT_GRANTED');
    expect(notGranted.message).toContain('test:counter/counter');
    expect(notGranted.message).toContain('[[bindings]] type = "counter"');
    // Only a Durable Object class component has storage; the deploy (component-durable.ts) takes it out of what the registry checks.
    expect(errorOf(() => registry.checkImports(granted, ['edge:platform/durable-storage'])).message).toContain('only a Durable Object class has storage: a component that exports edge:platform/durable-handler');
    expect(errorOf(() => registry.checkImports(granted, ['edge:platform/durable'])).message).toContain('this host was started without a Durable Object store');
    expect(errorOf(() => registry.checkImports(granted, ['edge:platform/sql'])).message).toContain('this host was started without a SQL store');
    expect(errorOf(() => registry.checkImports(granted, ['wasi:cli/environment@0.2.0'])).message).toContain('WASI interfaces are not offered');
    expect(errorOf(() => registry.checkImports(granted, ['acme:x/y'])).message).toContain('no capability of this host implements it');
  });

  it('plans what an instance reaches: the built-ins and only the granted capabilities', () => {
    expect(registry.plan(manifest()).interfaces.map((d) => d.id).sort()).toEqual(['edge:platform/log', 'edge:platform/vars']);
    const p = registry.plan(granted);
    expect(p.env).toEqual([{ binding: 'C', facade: 'wit', config: { interface: 'test:counter/counter' } }]);
    expect(p.interfaces.find((d) => d.id === 'test:counter/counter')).toMatchObject({ opens: 'Cell', functions: [{ wit: 'version', js: 'version' }] });
  });

  it('refuses a capability that reuses the platform package or a name, or names an interface its WIT lacks', async () => {
    await writeFile(join(dir, 'platform.wit'), 'package edge:platform@0.1.0;\ninterface counter { version: func() -> string; }\n');
    const e1 = await CapabilityRegistry.create({ platformWitDir: PLATFORM, dataDir: dir, user: [{ wit: join(dir, 'platform.wit'), module: join(dir, 'counter.mjs') }] }).catch((e) => e);
    expect(e1.code).toBe('E_CAPABILITY_INVALID');
    await writeFile(join(dir, 'other.wit'), 'package test:other@0.1.0;\ninterface other { f: func(); }\n');
    const e2 = await CapabilityRegistry.create({ platformWitDir: PLATFORM, dataDir: dir, user: [{ wit: join(dir, 'other.wit'), module: join(dir, 'counter.mjs') }] }).catch((e) => e);
    expect(e2.message).toContain('"test:counter/counter" is not in its WIT (which defines test:other/other)');
    await writeFile(join(dir, 'notdef.mjs'), 'export default { name: "Bad Name" };\n');
    const e3 = await CapabilityRegistry.create({ platformWitDir: PLATFORM, dataDir: dir, user: [{ wit: join(dir, 'counter.wit'), module: join(dir, 'notdef.mjs') }] }).catch((e) => e);
    expect(e3.message).toContain('`name` must be a lower-case name');
    expect(e3.message).toContain('`instantiate(grants, ctx)` must be a function');
  });
});

describe('CapabilityInstance: calls from guests', () => {
  it('opens a granted resource, calls methods through handles, and drops them', async () => {
    const inst = instance();
    const opened = cap(inst, { m: 'open', a: ['C'] }) as { v: { __h: number; __i: string; __r: string } };
    expect(opened.v).toMatchObject({ __i: 'test:counter/counter', __r: 'Cell' });
    const h = opened.v.__h;
    expect(cap(inst, { k: 'method', m: 'add', h, a: [5] })).toEqual({ v: 15 });
    expect(cap(inst, { k: 'method', m: 'add', h, a: [1] })).toEqual({ v: 16 });
    const split = cap(inst, { k: 'method', m: 'split', h }) as { v: { __h: number } };
    expect(split.v.__h).not.toBe(h);
    expect(inst.handleCount).toBe(2);
    expect(cap(inst, { k: 'drop', h })).toEqual({ v: undefined });
    expect(inst.handleCount).toBe(1);
    expect(cap(inst, { k: 'method', m: 'add', h, a: [1] })).toMatchObject({ x: expect.stringContaining('not live') });
    inst.dispose();
    expect(inst.handleCount).toBe(0);
  });

  it('reports WIT errors as payloads, host failures as messages, and waits for async results', async () => {
    const inst = instance();
    expect(cap(inst, { m: 'open', a: ['OTHER'] })).toEqual({ e: { tag: 'not-granted', val: 'OTHER' } });
    const h = (cap(inst, { m: 'open', a: ['C'] }) as { v: { __h: number } }).v.__h;
    expect(cap(inst, { k: 'method', m: 'add', h, a: [1000] })).toEqual({ e: { tag: 'too-big', val: 1000 } });
    const slow = cap(inst, { k: 'method', m: 'slow', h });
    expect(slow).toBeInstanceOf(Promise);
    expect(await slow).toEqual({ v: 10 });
    expect(inst.invoke({ i: 'test:counter/counter', r: 'version', m: '', k: 'fn', h: 0, a: [] })).toEqual({ v: '1.0' });
    const broken = instance(granted, 'broken');
    expect(broken.invoke({ i: 'test:counter/counter', r: 'version', m: '', k: 'fn', h: 0, a: [] })).toEqual({ x: 'test:counter/counter.version failed in the host: db down' });
  });

  it('refuses interfaces the worker was not granted', () => {
    const inst = instance(manifest());
    expect(cap(inst, { m: 'open', a: ['C'] })).toMatchObject({ e: { tag: 'not-granted', val: 'test:counter/counter' } });
  });

  it('serves the built-ins: log writes to the worker log, vars as JSON text', () => {
    const lines: string[] = [];
    const m = parseManifestText('name = "w"\nmain = "w.wasm"\n[vars]\nMODE = "prod"\nN = 3\n', 'wrangler.toml');
    const inst = registry.instantiate(m, { worker: 'w', version: 'v', vars: m.vars, log: (level, msg) => lines.push(`${level} ${msg}`) });
    expect(inst.invoke({ i: 'edge:platform/log', r: 'write', m: '', k: 'fn', h: 0, a: ['warn', 'careful'] })).toEqual({ v: undefined });
    expect(lines).toEqual(['warn careful']);
    expect(inst.invoke({ i: 'edge:platform/vars', r: 'get', m: '', k: 'fn', h: 0, a: ['MODE'] })).toEqual({ v: '"prod"' });
    expect(inst.invoke({ i: 'edge:platform/vars', r: 'get', m: '', k: 'fn', h: 0, a: ['NOPE'] })).toEqual({ v: undefined });
    expect(inst.invoke({ i: 'edge:platform/vars', r: 'names', m: '', k: 'fn', h: 0, a: [] })).toEqual({ v: ['MODE', 'N'] });
  });
});
