// The script form of a module worker's main module (script-form.ts): which modules get it, and that evaluating it is
// evaluating the module, as far as the module could tell: its exports (live), strictness, scope, `this`, the
// lines and columns of its stack traces, the runtime modules it imports.
import ivm from 'isolated-vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callScriptForm, SCRIPT_FORM_LINE_OFFSET, scriptForm, type ImportableModules } from './script-form.ts';

const RUNTIME: ImportableModules = new Map([['cloudflare:workers', ['env', 'DurableObject']]]);
const RUNTIME_SOURCE = "export const env = { NAME: 'env' };\nexport class DurableObject { static kind = 'runtime'; }\n";

/** A module that uses every kind of export, reads its scope and makes an error whose position is known. */
const MODULE = [
  "import { env as bindings, DurableObject } from 'cloudflare:workers';",
  "import * as cf from 'cloudflare:workers';",
  'export let count = 0;',
  'export function bump() { count += 1; return count; }',
  'export const { a, b: [c = 3, ...rest] } = { a: 1, b: [undefined, 4, 5] };',
  'export class Counter extends DurableObject {}',
  'const hidden = 7;',
  'var shared = 8;',
  'function where() { return new Error("here").stack.split("\\n")[1]; }',
  'let sloppy = null;',
  'try { undeclared = 1; } catch (err) { sloppy = err.constructor.name; }',
  'const self = this === undefined ? "undefined" : typeof this;',
  'export { hidden as "quoted name", where, sloppy, self };',
  'export default {',
  '  fetch() { return bindings.NAME + " " + cf.env.NAME + " " + Counter.kind; },',
  '};',
  '',
].join('\n');

/** What a test reads of a module's exports, the same way for both forms. */
const READ = `JSON.stringify({
  keys: Object.keys(ns).sort(),
  count: ns.count,
  bumped: ns.bump(),
  countAfter: ns.count,
  a: ns.a, c: ns.c, rest: ns.rest,
  quoted: ns['quoted name'],
  where: ns.where(),
  sloppy: ns.sloppy,
  self: ns.self,
  fetched: ns.default.fetch(),
  tag: Object.prototype.toString.call(ns),
  extensible: Object.isExtensible(ns),
  counterKind: ns.Counter.kind,
  globals: ['hidden', 'shared', 'undeclared', 'bump', 'count'].filter((k) => k in globalThis),
})`;

describe('script form', () => {
  let isolate: ivm.Isolate;
  beforeAll(() => {
    isolate = new ivm.Isolate({ memoryLimit: 32 });
  });
  afterAll(() => isolate.dispose());

  async function asModule(source: string): Promise<unknown> {
    const context = await isolate.createContext();
    const runtime = await isolate.compileModule(RUNTIME_SOURCE, { filename: 'cloudflare:workers' });
    const mod = await isolate.compileModule(source, { filename: 'worker://w/index.js' });
    await mod.instantiate(context, (spec) => {
      if (spec === 'cloudflare:workers') return runtime;
      throw new Error(`no module ${spec}`);
    });
    await mod.evaluate();
    await context.global.set('ns', mod.namespace.derefInto());
    return JSON.parse((await context.eval(READ)) as string);
  }

  async function asScript(source: string): Promise<unknown> {
    const form = scriptForm(source, RUNTIME);
    expect(form).not.toBeNull();
    expect(form!.imports).toEqual(['cloudflare:workers']);
    const context = await isolate.createContext();
    const runtime = await isolate.compileModule(RUNTIME_SOURCE, { filename: 'cloudflare:workers' });
    await runtime.instantiate(context, () => {
      throw new Error('no imports');
    });
    await runtime.evaluate();
    const script = await isolate.compileScript(form!.source, { filename: 'worker://w/index.js', lineOffset: SCRIPT_FORM_LINE_OFFSET });
    await context.global.set('main', await script.run(context, { reference: true }).then((r) => (r as ivm.Reference<unknown>).derefInto()));
    await context.global.set('runtime', runtime.namespace.derefInto());
    // As the bootstrap calls it (a module of the runtime's, run before the worker's code).
    const call = await isolate.compileModule(`${callScriptForm('globalThis.main', ['globalThis.runtime'])}globalThis.ns = entry;\n`, { filename: 'bootstrap.js' });
    await call.instantiate(context, () => {
      throw new Error('no imports');
    });
    await call.evaluate();
    return JSON.parse((await context.eval(READ)) as string);
  }

  it('evaluates to what the module evaluates to: exports (live), scope, strictness, this, stack positions', async () => {
    const module = await asModule(MODULE);
    expect(module).toMatchObject({
      count: 0,
      bumped: 1,
      countAfter: 1,
      a: 1,
      c: 3,
      rest: [4, 5],
      quoted: 7,
      where: expect.stringMatching(/worker:\/\/w\/index\.js:9:27\)$/),
      sloppy: 'ReferenceError',
      self: 'undefined',
      fetched: 'env env runtime',
      tag: '[object Module]',
      extensible: false,
      counterKind: 'runtime',
      globals: [],
    });
    expect(await asScript(MODULE)).toEqual(module);
  });

  it('keeps every character of the module at its line and column', () => {
    const form = scriptForm(MODULE, RUNTIME)!;
    const body = form.source.split('\n').slice(1, 1 + MODULE.split('\n').length);
    const lines = MODULE.split('\n');
    expect(body).toHaveLength(lines.length);
    for (let i = 0; i < lines.length; i++) {
      // The default export's keywords became its binding; other import and export keywords (and what only they held)
      // were overwritten by spaces.
      if (lines[i]!.startsWith('export default ')) expect(body[i]).toBe(`var __edge_d = ${lines[i]!.slice('export default '.length)}`);
      else for (let col = 0; col < lines[i]!.length; col++) {
        if (body[i]![col] !== lines[i]![col]) expect(body[i]![col], `line ${i + 1} column ${col + 1}`).toBe(' ');
      }
      expect(body[i]!.length).toBe(lines[i]!.length);
    }
  });

  it('names an exported default expression as the module does, or keeps the module form', async () => {
    for (const source of ['export default function () {}', 'export default class {}', 'export default () => 1;', 'export default (function () {});', 'export default async () => {};']) {
      expect(scriptForm(source), source).toBeNull();
    }
    const named = scriptForm('export default function handler() { return handler.name; }')!;
    expect(named.source).toContain('get "default"() { return handler; }');
  });

  it('keeps the module form for what a function body would read differently', () => {
    const keeps = [
      "import x from './x.js';",
      "import { env } from 'cloudflare:sockets';",
      "import { WorkflowEntrypoint } from 'cloudflare:workers';",
      "import workers from 'cloudflare:workers';",
      "export { a } from './a.js';",
      "export * from './a.js';",
      "const m = await import('./a.js');",
      'const u = import.meta.url;',
      'await Promise.resolve();',
      'for await (const x of []) {}',
      'const n = arguments.length;',
      '#!/usr/bin/env node\nexport const a = 1;',
      'const a = 1;\n<!-- comment\n',
      'const a = 2;\n--> comment\n',
      'const __edge_d = 1;',
      'export const = ;',
    ];
    for (const source of keeps) expect(scriptForm(source, RUNTIME), source).toBeNull();
    // The same constructs inside functions do not count.
    const inner = scriptForm('export async function f() { await 1; for await (const x of []) {} return arguments.length; }\nexport const g = async () => { await 2; };', RUNTIME);
    expect(inner).not.toBeNull();
    expect(inner!.imports).toEqual([]);
  });
});
