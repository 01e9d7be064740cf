// Printer: a resolved package back to WIT text, one file, so that parse(print(x)) equals x.
import { KEYWORDS } from './lexer.ts';
import { isResource } from './resolve.ts';
import type { Func, Gate, Interface, InterfaceRef, PackageId, ResolvedPackage, Type, TypeDef, World, WorldItem } from './types.ts';

const INDENT = '  ';

export function printWit(pkg: ResolvedPackage): string {
  const blocks: string[] = [docLines(pkg.docs, '').join('') + `package ${packageText(pkg.id)};\n`];
  for (const iface of pkg.interfaces) blocks.push(printInterface(iface));
  for (const world of pkg.worlds) blocks.push(printWorld(world));
  return blocks.join('\n');
}

/** `%`-escapes names that are keywords. */
function id(name: string): string {
  return KEYWORDS.has(name) ? `%${name}` : name;
}

function packageText(p: PackageId): string {
  return `${id(p.namespace)}:${id(p.name)}${p.version ? '@' + p.version : ''}`;
}

function refText(ref: InterfaceRef): string {
  if (ref.kind === 'local') return id(ref.interface.name);
  const p = ref.package;
  return `${id(p.namespace)}:${id(p.name)}/${id(ref.interface)}${p.version ? '@' + p.version : ''}`;
}

function docLines(docs: string | undefined, indent: string): string[] {
  if (docs === undefined) return [];
  return docs.split('\n').map((l) => `${indent}///${l === '' ? '' : ' ' + l}\n`);
}

function gateLines(gates: Gate[], indent: string): string[] {
  return gates.map((g) => {
    switch (g.kind) {
      case 'since':
        return `${indent}@since(version = ${g.version}${g.feature ? `, feature = ${id(g.feature)}` : ''})\n`;
      case 'unstable':
        return `${indent}@unstable(feature = ${id(g.feature)})\n`;
      case 'deprecated':
        return `${indent}@deprecated(version = ${g.version})\n`;
    }
  });
}

function header(decl: { docs?: string; gates: Gate[] }, indent: string): string {
  return [...docLines(decl.docs, indent), ...gateLines(decl.gates, indent)].join('');
}

function printInterface(iface: Interface): string {
  return `${header(iface, '')}interface ${id(iface.name)} ${interfaceBody(iface, '')}\n`;
}

function interfaceBody(iface: { types: TypeDef[]; functions: Func[] }, indent: string): string {
  const inner = indent + INDENT;
  const parts = [...iface.types.map((t) => printTypeDef(t, inner)), ...iface.functions.map((f) => `${header(f, inner)}${inner}${id(f.name)}: ${funcText(f)};\n`)];
  return parts.length === 0 ? '{}' : `{\n${parts.join('')}${indent}}`;
}

function printTypeDef(def: TypeDef, indent: string): string {
  const head = header(def, indent) + indent;
  const name = id(def.name);
  const inner = indent + INDENT;
  const k = def.kind;
  switch (k.kind) {
    case 'use':
      return `${head}use ${refText(k.from)}.{${id(k.name)}${k.name !== def.name ? ` as ${name}` : ''}};\n`;
    case 'alias':
      return `${head}type ${name} = ${typeText(k.type)};\n`;
    case 'record':
      return `${head}record ${name} {\n${k.fields.map((f) => `${docLines(f.docs, inner).join('')}${inner}${id(f.name)}: ${typeText(f.type)},\n`).join('')}${indent}}\n`;
    case 'variant':
      return `${head}variant ${name} {\n${k.cases.map((c) => `${docLines(c.docs, inner).join('')}${inner}${id(c.name)}${c.type ? `(${typeText(c.type)})` : ''},\n`).join('')}${indent}}\n`;
    case 'enum':
    case 'flags': {
      const labels = k.kind === 'enum' ? k.cases : k.flags;
      return `${head}${k.kind} ${name} {\n${labels.map((c) => `${docLines(c.docs, inner).join('')}${inner}${id(c.name)},\n`).join('')}${indent}}\n`;
    }
    case 'resource': {
      if (k.functions.length === 0) return `${head}resource ${name};\n`;
      const members = k.functions.map((f) => {
        const h = header(f, inner) + inner;
        if (f.kind === 'constructor') return `${h}constructor${paramsText(f)}${f.result ? ` -> ${typeText(f.result)}` : ''};\n`;
        return `${h}${id(f.name)}: ${f.kind === 'static' ? 'static ' : ''}${funcText(f)};\n`;
      });
      return `${head}resource ${name} {\n${members.join('')}${indent}}\n`;
    }
  }
}

function paramsText(f: Func): string {
  return `(${f.params.map((p) => `${id(p.name)}: ${typeText(p.type)}`).join(', ')})`;
}

function funcText(f: Func): string {
  return `func${paramsText(f)}${f.result ? ` -> ${typeText(f.result)}` : ''}`;
}

export function typeText(t: Type): string {
  switch (t.kind) {
    case 'primitive':
      return t.name;
    case 'list':
      return `list<${typeText(t.element)}>`;
    case 'option':
      return `option<${typeText(t.some)}>`;
    case 'result':
      if (!t.ok && !t.err) return 'result';
      if (!t.err) return `result<${typeText(t.ok!)}>`;
      return `result<${t.ok ? typeText(t.ok) : '_'}, ${typeText(t.err)}>`;
    case 'tuple':
      return `tuple<${t.types.map(typeText).join(', ')}>`;
    case 'ref':
      return id(t.def.name);
    case 'own':
      // A bare name is an owned handle when we can see the resource; keep own<> when we cannot.
      return isResource(t.def) === true ? id(t.def.name) : `own<${id(t.def.name)}>`;
    case 'borrow':
      return `borrow<${id(t.def.name)}>`;
  }
}

function printWorld(world: World): string {
  const inner = INDENT;
  const parts: string[] = world.types.map((t) => printTypeDef(t, inner));
  const item = (direction: string, wi: WorldItem): string => {
    switch (wi.kind) {
      case 'interface':
        return `${header(wi, inner)}${inner}${direction} ${refText(wi.ref)};\n`;
      case 'func':
        return `${header(wi.func, inner)}${inner}${direction} ${id(wi.name)}: ${funcText(wi.func)};\n`;
      case 'inline-interface':
        return `${header(wi.interface, inner)}${inner}${direction} ${id(wi.name)}: interface ${interfaceBody(wi.interface, inner)}\n`;
    }
  };
  parts.push(...world.imports.map((wi) => item('import', wi)), ...world.exports.map((wi) => item('export', wi)));
  for (const inc of world.externalIncludes) {
    const p = inc.package;
    const path = `${id(p.namespace)}:${id(p.name)}/${id(inc.world)}${p.version ? '@' + p.version : ''}`;
    const renames = inc.renames.length > 0 ? ` with { ${inc.renames.map((r) => `${id(r.from)} as ${id(r.to)}`).join(', ')} }` : '';
    parts.push(`${gateLines(inc.gates, inner).join('')}${inner}include ${path}${renames};\n`);
  }
  return `${header(world, '')}world ${id(world.name)} ${parts.length === 0 ? '{}' : `{\n${parts.join('')}}`}\n`;
}
