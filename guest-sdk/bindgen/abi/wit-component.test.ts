// Cross-check of flattenFunc against wit-component: `wasm-tools component embed --dummy` (through
// jco-transpile's in-process wasm-tools) generates a core module whose imports and exports have the core
// signatures wit-component derives from our wit/ contract; ours must be the same for every function.
import { readFile, readdir } from 'node:fs/promises';
import { describe, it, expect, beforeAll } from 'vitest';
import { componentEmbed, print } from '@bytecodealliance/jco-transpile/wasm-tools';
import { loadWitDir } from '../wit/load.ts';
import type { Func, Interface, ResolvedPackage } from '../wit/types.ts';
import { flattenFunc, type FlattenContext } from './index.ts';

interface CoreFunc {
  params: string[];
  results: string[];
}

/** The wit/ files as one source text (one `package` line), for `witSource`. */
async function witSource(dir: string): Promise<string> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.wit')).sort();
  const texts = await Promise.all(names.map((n) => readFile(`${dir}/${n}`, 'utf8')));
  const pkg = /^package [^;]+;/m.exec(texts[0]!)![0];
  return [pkg, ...texts.map((t) => t.replace(/^package [^;]+;/m, ''))].join('\n');
}

function parseSig(text: string): CoreFunc {
  const params = [...text.matchAll(/\(param((?: [if](?:32|64))+)\)/g)].flatMap((m) => m[1]!.trim().split(' '));
  const results = [...text.matchAll(/\(result((?: [if](?:32|64))+)\)/g)].flatMap((m) => m[1]!.trim().split(' '));
  return { params, results };
}

/** Imports and exports of the dummy core module, by name. */
function coreSignatures(wat: string): { imports: Map<string, CoreFunc>; exports: Map<string, CoreFunc> } {
  const types = new Map<string, CoreFunc>();
  const funcs = new Map<string, CoreFunc>();
  const imports = new Map<string, CoreFunc>();
  const exports = new Map<string, CoreFunc>();
  for (const line of wat.split('\n')) {
    let m = /^\s*\(type \(;(\d+);\) \(func(.*)\)\)\s*$/.exec(line);
    if (m) types.set(m[1]!, parseSig(m[2]!));
    m = /^\s*\(import "([^"]+)" "([^"]+)" \(func \(;\d+;\) \(type (\d+)\)\)\)/.exec(line);
    if (m) imports.set(`${m[1]} ${m[2]}`, types.get(m[3]!)!);
    m = /^\s*\(func \(;(\d+);\) \(type (\d+)\)/.exec(line);
    if (m) funcs.set(m[1]!, types.get(m[2]!)!);
  }
  for (const line of wat.split('\n')) {
    const m = /^\s*\(export "([^"]+)" \(func (\d+)\)\)/.exec(line);
    if (m) exports.set(m[1]!, funcs.get(m[2]!)!);
  }
  return { imports, exports };
}

/** Every function of an interface with its core name (`get`, `[method]r.get`, `[static]r.open`, `[constructor]r`). */
function namedFuncs(i: Interface): [string, Func][] {
  const out: [string, Func][] = i.functions.map((f) => [f.name, f]);
  for (const d of i.types) {
    if (d.kind.kind !== 'resource') continue;
    for (const f of d.kind.functions) {
      out.push([f.kind === 'constructor' ? `[constructor]${d.name}` : `[${f.kind}]${d.name}.${f.name}`, f]);
    }
  }
  return out;
}

describe('flattenFunc agrees with wit-component on wit/', () => {
  let pkg: ResolvedPackage;
  let sigs: ReturnType<typeof coreSignatures>;
  beforeAll(async () => {
    pkg = await loadWitDir('wit');
    const dummy = await componentEmbed({ dummy: true, witSource: await witSource('wit'), world: 'durable-object' });
    sigs = coreSignatures(await print(dummy));
  }, 60_000);

  const check = (module: RegExp, table: Map<string, CoreFunc>, context: FlattenContext): number => {
    let matched = 0;
    for (const [key, expected] of table) {
      const m = module.exec(key);
      if (!m) continue;
      const iface = pkg.interfaces.find((i) => i.name === m[1]);
      const entry = iface && namedFuncs(iface).find(([name]) => name.replace('%', '') === m[2]);
      if (!entry) continue; // resource drops, post-return, realloc, memory
      const ours = flattenFunc(entry[1], context);
      expect([key, ours.params, ours.results]).toEqual([key, expected.params, expected.results]);
      matched++;
    }
    return matched;
  };

  it('imports (lower): every function of every imported interface', () => {
    const matched = check(/^cm32p2\|[^/]+\/([^@]+)@[^ ]+ (.+)$/, sigs.imports, 'lower');
    const world = pkg.worlds.find((w) => w.name === 'durable-object')!;
    let expected = 0;
    for (const item of world.imports) if (item.kind === 'interface' && item.ref.kind === 'local') expected += namedFuncs(item.ref.interface).length;
    expect(expected).toBeGreaterThan(40);
    expect(matched).toBe(expected);
  });

  it('exports (lift): the handlers', () => {
    const matched = check(/^cm32p2\|[^/]+\/([^@]+)@[^|]+\|(.+)$/, sigs.exports, 'lift');
    expect(matched).toBe(2);
  });
});
