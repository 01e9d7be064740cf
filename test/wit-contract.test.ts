// The platform's WIT contract (wit/): it resolves as one package, its worlds hold what guests need, and every
// capability is reached the same way: a resource opened by the binding name the manifest grants.
import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { worldCoreExports } from '../host/build/component-tools.ts';
import { loadWitDir, parseWit, printWit, resolvePackage, type Interface, type TypeDef, type World } from '../guest-sdk/bindgen/wit/index.ts';

const pkg = await loadWitDir('wit');

function iface(name: string): Interface {
  const found = pkg.interfaces.find((i) => i.name === name);
  if (!found) throw new Error(`no interface ${name}`);
  return found;
}

function world(name: string): World {
  const found = pkg.worlds.find((w) => w.name === name);
  if (!found) throw new Error(`no world ${name}`);
  return found;
}

function names(items: World['imports']): string[] {
  return items.map((i) => (i.kind === 'interface' && i.ref.kind === 'local' ? i.ref.interface.name : i.kind === 'interface' ? 'external' : i.name));
}

describe('the WIT contract', () => {
  it('is the package edge:platform@0.1.0', () => {
    expect(pkg.id).toMatchObject({ namespace: 'edge', name: 'platform', version: '0.1.0' });
  });

  it('has a worker world exporting the HTTP handler and importing every capability', () => {
    const w = world('worker');
    expect(names(w.exports)).toEqual(['incoming-handler']);
    expect(names(w.imports)).toEqual(expect.arrayContaining(['log', 'vars', 'http-types', 'kv', 'blob', 'sql', 'durable']));
    const handle = iface('incoming-handler').functions.find((f) => f.name === 'handle');
    expect(handle?.params.map((p) => p.name)).toEqual(['request']);
  });

  it('has a durable-object world that includes worker and adds storage and the object handler', () => {
    const w = world('durable-object');
    expect(names(w.imports)).toEqual(expect.arrayContaining(['kv', 'durable-storage']));
    expect(names(w.exports)).toEqual(expect.arrayContaining(['incoming-handler', 'durable-handler']));
  });

  it('opens every capability by its manifest binding name and reports typed errors', () => {
    for (const [name, resource] of [['kv', 'namespace'], ['blob', 'bucket'], ['sql', 'database'], ['durable', 'namespace']] as const) {
      const def = iface(name).types.find((t) => t.name === resource) as TypeDef;
      expect(def.kind.kind, `${name}.${resource}`).toBe('resource');
      const open = def.kind.kind === 'resource' ? def.kind.functions.find((f) => f.name === 'open') : undefined;
      expect(open?.kind, `${name}.${resource}.open`).toBe('static');
      expect(open?.params).toEqual([{ name: 'binding', type: { kind: 'primitive', name: 'string' } }]);
      expect(open?.result?.kind).toBe('result');
      const error = iface(name).types.find((t) => t.name === 'error');
      expect(error?.kind.kind, `${name}.error`).toBe('variant');
      const cases = error?.kind.kind === 'variant' ? error.kind.cases.map((c) => c.name) : [];
      expect(cases).toContain('not-granted');
    }
  });

  it('documents what it declares (it is what guest authors read)', () => {
    for (const i of pkg.interfaces) expect(i.docs, `interface ${i.name}`).toBeTruthy();
    for (const w of pkg.worlds) expect(w.docs, `world ${w.name}`).toBeTruthy();
  });

  it('prints back to WIT that resolves to the same package', () => {
    const text = printWit(pkg);
    const again = resolvePackage([{ path: 'printed.wit', text }]);
    expect(printWit(again)).toBe(text);
    expect(() => parseWit('printed.wit', text)).not.toThrow();
  });

  it('is accepted by wasm-tools (through jco) for both worlds, which export the handlers', async () => {
    const worker = await worldCoreExports(resolve('wit'), 'worker');
    expect(worker.some((e) => e.includes('edge:platform/incoming-handler') && e.endsWith('|handle'))).toBe(true);
    const durable = await worldCoreExports(resolve('wit'), 'durable-object');
    expect(durable.some((e) => e.includes('edge:platform/durable-handler') && e.endsWith('|handle'))).toBe(true);
  });
});
