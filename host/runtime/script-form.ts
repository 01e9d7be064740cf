// A module worker's main module rewritten as a classic script, when that changes nothing the module could observe.
//
// Why: isolated-vm 7 compiles an ES module without V8's code cache (its CompileModule never passes
// kConsumeCodeCache: a cache given is accepted, reported as not rejected, and ignored), while a script's cache is
// used. Measured here on a fresh isolate, a 378 KB esbuild bundle: as a module 6.8 ms to compile and 6.1 ms to
// evaluate, every cold start; as this script with a code cache made after it ran, 1.1 ms and 3.1 ms.
//
// The form: a function whose body is the module's text, positions kept. The header is a line of its own (compiled
// with lineOffset -1, so stack traces give the module's own lines); `export` and `export default` are overwritten
// in place by as many spaces (or by `var __edge_d =`, as long as `export default`), so every other character keeps
// its line and column, and source maps of the bundle still apply. The exports are returned as getters (live
// bindings) on an object without prototype. The function is strict, runs once, and is called with no `this`,
// as a module's top level is.
//
// Imports of the runtime's own modules (cloudflare:workers, what nodejs_compat's polyfills import) become constants
// of the header line, from the namespaces the function is called with. A module that could tell the difference keeps
// the module form: one importing anything else or re-exporting (the module loader resolves those), a dynamic import() or import.meta, a top-level await, a top-level `arguments` (in a
// function it names the function's), an anonymous default function, class or arrow (its name is "default"), HTML-like
// comments (a script reads `-->` differently), a hashbang, or the name the default export's binding uses.
import { parse, type Node } from 'acorn';
import { fullAncestor } from 'acorn-walk';

/** The script form's first line: compile it with this line offset. */
export const SCRIPT_FORM_LINE_OFFSET = -1;
/** Names the form introduces begin with this: a module that has it anywhere keeps its module form. */
const RESERVED = '__edge_';
const DEFAULT_BINDING = `${RESERVED}d`;
const EXPORT_DEFAULT = 'export default';
const DEFAULT_AS_VAR = `var ${DEFAULT_BINDING} =`;

interface Span {
  start: number;
  end: number;
}
type AnyNode = Node & Record<string, unknown>;

/**
 * A module as a function. `source` evaluated (as a script) is the function; it takes the namespaces of `imports`, in
 * that order, and returns the module's exports.
 */
export interface ScriptForm {
  source: string;
  imports: string[];
}

/**
 * The modules of the runtime a script form may import, with their exports: each import of one is a constant of the
 * header (theirs are all `export const`: a copy of the binding is the binding). A name they lack keeps the module
 * form, whose linking reports it.
 */
export type ImportableModules = ReadonlyMap<string, readonly string[]>;

const forms = new WeakMap<object, ScriptForm | null>();

/**
 * The script form of `source` (a module's text), memoized per `key` (the version's module: a version parses once),
 * or null when the module keeps its module form.
 */
export function scriptFormOf(key: object, source: string, importable: ImportableModules): ScriptForm | null {
  let form = forms.get(key);
  if (form === undefined) {
    form = scriptForm(source, importable);
    forms.set(key, form);
  }
  return form;
}

/**
 * Bootstrap code (a module's, run before the worker's code) that calls the form's function, whose value is `fn`,
 * with the namespaces `params` (the names holding them): the exports, as a namespace object shows itself to the
 * code that reads them (its tag, so that a stack trace names a function called on it `Module.f`, and no new keys).
 * `Object` and `Symbol` are read before the worker's code runs; the function is called with no `this`.
 */
export function callScriptForm(fn: string, params: readonly string[]): string {
  return `const ${RESERVED}ns = ((define, seal, tag) => (exports) => seal(define(exports, tag, { value: 'Module' })))(Object.defineProperty, Object.preventExtensions, Symbol.toStringTag);\nconst entry = ${RESERVED}ns((0, ${fn})(${params.join(', ')}));\n`;
}

/** The script form of `source`, or null (see the top of this file). */
export function scriptForm(source: string, importable: ImportableModules = new Map()): ScriptForm | null {
  if (source.startsWith('#!') || source.includes('<!--') || source.includes('-->') || source.includes(RESERVED)) return null;
  let program: AnyNode;
  try {
    program = parse(source, { ecmaVersion: 'latest', sourceType: 'module' }) as unknown as AnyNode;
  } catch {
    return null; // Not a valid module: compiling it as one reports the error with its position.
  }
  const exports = new Map<string, string>();
  const blanks: Span[] = [];
  let defaultAsVar: number | null = null;
  const imports: string[] = [];
  const constants: string[] = [];
  for (const node of program.body as AnyNode[]) {
    switch (node.type) {
      case 'ImportDeclaration': {
        const from = String((node.source as AnyNode).value);
        const names = importable.get(from);
        if (!names || (node.attributes as unknown[] | undefined)?.length) return null;
        let at = imports.indexOf(from);
        if (at < 0) at = imports.push(from) - 1;
        const param = `${RESERVED}i${at}`;
        for (const spec of node.specifiers as AnyNode[]) {
          const local = String((spec.local as AnyNode).name);
          if (spec.type === 'ImportNamespaceSpecifier') constants.push(`${local} = ${param}`);
          else if (spec.type === 'ImportSpecifier') {
            const imported = spec.imported as AnyNode;
            const name = String(imported.type === 'Identifier' ? imported.name : imported.value);
            if (!names.includes(name)) return null;
            constants.push(`${local} = ${param}[${JSON.stringify(name)}]`);
          } else return null; // A default import: none of them has a default export.
        }
        blanks.push({ start: node.start, end: node.end });
        break;
      }
      case 'ExportAllDeclaration':
        return null;
      case 'ExportNamedDeclaration': {
        if (node.source) return null;
        const declaration = node.declaration as AnyNode | null;
        if (declaration) {
          if (source.slice(node.start, node.start + 6) !== 'export') return null;
          blanks.push({ start: node.start, end: node.start + 6 });
          for (const name of declaredNames(declaration)) exports.set(name, name);
        } else {
          blanks.push({ start: node.start, end: node.end });
          for (const spec of node.specifiers as AnyNode[]) {
            const exported = spec.exported as AnyNode;
            exports.set(String(exported.type === 'Identifier' ? exported.name : exported.value), String((spec.local as AnyNode).name));
          }
        }
        break;
      }
      case 'ExportDefaultDeclaration': {
        if (source.slice(node.start, node.start + EXPORT_DEFAULT.length) !== EXPORT_DEFAULT) return null;
        const declaration = node.declaration as AnyNode;
        if (declaration.type === 'FunctionDeclaration' || declaration.type === 'ClassDeclaration') {
          // A declaration stays one (hoisted, its own name); an anonymous one would be named "default".
          const id = declaration.id as AnyNode | null;
          if (!id) return null;
          blanks.push({ start: node.start, end: node.start + EXPORT_DEFAULT.length });
          exports.set('default', String(id.name));
        } else {
          // `var __edge_d = () => {}` would name the function "__edge_d" where the module names it "default".
          const anonymous = declaration.type === 'ArrowFunctionExpression' || ((declaration.type === 'FunctionExpression' || declaration.type === 'ClassExpression') && !declaration.id);
          if (anonymous) return null;
          defaultAsVar = node.start;
          exports.set('default', DEFAULT_BINDING);
        }
        break;
      }
    }
  }
  if (!scriptSafe(program)) return null;
  let body = '';
  let at = 0;
  const edits: Array<Span & { text: string }> = blanks.map((b) => ({ ...b, text: spaces(source.slice(b.start, b.end)) }));
  if (defaultAsVar !== null) edits.push({ start: defaultAsVar, end: defaultAsVar + EXPORT_DEFAULT.length, text: DEFAULT_AS_VAR });
  edits.sort((a, b) => a.start - b.start);
  for (const e of edits) {
    body += source.slice(at, e.start) + e.text;
    at = e.end;
  }
  body += source.slice(at);
  // In the order a namespace has its keys (code units).
  const getters = [...exports].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([name, local]) => `get ${JSON.stringify(name)}() { return ${local}; }`);
  const params = imports.map((_, i) => `${RESERVED}i${i}`).join(', ');
  // The header is one line: the imports' bindings exist before the first line of the module, as hoisted imports do.
  const header = `(function (${params}) { 'use strict';${constants.length ? ` const ${constants.join(', ')};` : ''}\n`;
  return { source: `${header}${body}\nreturn { __proto__: null${getters.map((g) => `, ${g}`).join('')} };\n})`, imports };
}

/** `text` with every character but line breaks made a space: its lines and columns stay where they were. */
function spaces(text: string): string {
  return text.replace(/[^\n\r\u2028\u2029]/g, ' ');
}

/** The names a declaration binds (`const { a, b: [c] } = x` binds a and c). */
function declaredNames(declaration: AnyNode): string[] {
  if (declaration.type === 'FunctionDeclaration' || declaration.type === 'ClassDeclaration') return [String((declaration.id as AnyNode).name)];
  const names: string[] = [];
  for (const d of declaration.declarations as AnyNode[]) patternNames(d.id as AnyNode, names);
  return names;
}

function patternNames(p: AnyNode | null, out: string[]): void {
  if (!p) return;
  switch (p.type) {
    case 'Identifier':
      out.push(String(p.name));
      return;
    case 'ObjectPattern':
      for (const prop of p.properties as AnyNode[]) patternNames((prop.type === 'RestElement' ? prop.argument : prop.value) as AnyNode, out);
      return;
    case 'ArrayPattern':
      for (const e of p.elements as Array<AnyNode | null>) patternNames(e, out);
      return;
    case 'AssignmentPattern':
      patternNames(p.left as AnyNode, out);
      return;
    case 'RestElement':
      patternNames(p.argument as AnyNode, out);
      return;
  }
}

const FUNCTIONS = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

/** No import(), import.meta, top-level await or top-level `arguments`: what a function body would read otherwise. */
function scriptSafe(program: AnyNode): boolean {
  let safe = true;
  fullAncestor(program as unknown as Node, (node, _state, ancestors) => {
    if (!safe) return;
    const n = node as AnyNode;
    switch (n.type) {
      case 'ImportExpression':
        safe = false;
        return;
      case 'MetaProperty':
        if ((n.meta as AnyNode).name === 'import') safe = false;
        return;
      case 'AwaitExpression':
      case 'ForOfStatement':
        if ((n.type === 'AwaitExpression' || n.await === true) && !ancestors.some((a) => FUNCTIONS.has(a.type))) safe = false;
        return;
      case 'Identifier':
        // Conservative: a property named `arguments` outside any function also counts.
        if (n.name === 'arguments' && !ancestors.some((a) => a.type === 'FunctionDeclaration' || a.type === 'FunctionExpression')) safe = false;
        return;
    }
  });
  return safe;
}
