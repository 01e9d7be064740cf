// Recursive-descent parser: one WIT file's tokens to its syntax tree (no name resolution here).
import { WitError, type WitErrorCode } from './errors.ts';
import { describeToken, tokenize, type Token } from './lexer.ts';
import type {
  CaseAst,
  ExternAst,
  FieldAst,
  FuncTypeAst,
  Gate,
  InterfaceAst,
  InterfaceItemAst,
  LabelAst,
  PackageDeclAst,
  PackageId,
  ParamAst,
  PrimitiveName,
  ResourceMemberAst,
  Span,
  TopLevelUseAst,
  TypeDeclAst,
  TypeExprAst,
  UseAst,
  UsePathAst,
  WitFileAst,
  WorldAst,
  WorldItemAst,
} from './types.ts';

const PRIMITIVES: ReadonlySet<string> = new Set([
  'bool', 's8', 's16', 's32', 's64', 'u8', 'u16', 'u32', 'u64', 'f32', 'f64', 'char', 'string',
]);

const UNSUPPORTED_TYPES: Record<string, string> = {
  future: "'future' types (async) are not supported",
  stream: "'stream' types (async) are not supported",
  map: "'map' types are not supported",
  'error-context': "'error-context' (async) is not supported",
};

/** Parses one file. `path` is used in error positions only. */
export function parseWit(path: string, text: string): WitFileAst {
  return new Parser(path, tokenize(path, text)).file();
}

interface ItemStart {
  docs?: string;
  gates: Gate[];
  span: Span;
}

class Parser {
  private readonly path: string;
  private readonly tokens: Token[];
  private index = 0;

  constructor(path: string, tokens: Token[]) {
    this.path = path;
    this.tokens = tokens;
  }

  // --- token helpers ---------------------------------------------------------------------------

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.index++;
    return t;
  }

  private isPunct(p: string, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t.kind === 'punct' && t.value === p;
  }

  private isKeyword(k: string, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t.kind === 'keyword' && t.value === k;
  }

  private eatPunct(p: string): boolean {
    if (!this.isPunct(p)) return false;
    this.next();
    return true;
  }

  private error(code: WitErrorCode, at: Token | Span, detail: string): WitError {
    return new WitError(code, 'kind' in at ? at.span : at, detail);
  }

  private expected(what: string): WitError {
    return this.error('E_WIT_SYNTAX', this.peek(), `expected ${what}, found ${describeToken(this.peek())}`);
  }

  private expectPunct(p: string, context = ''): Token {
    if (!this.isPunct(p)) throw this.expected(`'${p}'${context ? ' ' + context : ''}`);
    return this.next();
  }

  private expectKeyword(k: string, context = ''): Token {
    if (!this.isKeyword(k)) throw this.expected(`'${k}'${context ? ' ' + context : ''}`);
    return this.next();
  }

  /** An identifier; a bare keyword gets a hint about `%`. */
  private expectId(what: string): Token {
    const t = this.peek();
    if (t.kind === 'id') return this.next();
    if (t.kind === 'keyword') {
      throw this.error('E_WIT_SYNTAX', t, `expected ${what}, found keyword '${t.value}' (write '%${t.value}' to use it as a name)`);
    }
    throw this.expected(what);
  }

  /** `record: func()`: a keyword where a function name belongs. */
  private rejectKeywordName(): void {
    const t = this.peek();
    if (t.kind === 'keyword' && this.isPunct(':', 1)) {
      throw this.error('E_WIT_SYNTAX', t, `expected a function name, found keyword '${t.value}' (write '%${t.value}' to use it as a name)`);
    }
  }

  private docsOf(t: Token): string | undefined {
    return t.docs.length > 0 ? t.docs.join('\n') : undefined;
  }

  /** Docs of the item's first token, then its gates. */
  private itemStart(): ItemStart {
    const first = this.peek();
    return { docs: this.docsOf(first), gates: this.gates(), span: first.span };
  }

  /** Comma-separated `item`s up to `close`, trailing comma allowed. */
  private commaList<T>(close: string, item: () => T): T[] {
    const items: T[] = [];
    while (!this.isPunct(close)) {
      items.push(item());
      if (!this.eatPunct(',')) break;
    }
    return items;
  }

  // --- file and top-level items ----------------------------------------------------------------

  file(): WitFileAst {
    const ast: WitFileAst = { path: this.path, items: [] };
    if (this.isKeyword('package') || (this.isPunct('@') && this.packageAfterGates())) {
      ast.package = this.packageDecl();
    }
    while (this.peek().kind !== 'eof') {
      const start = this.itemStart();
      const t = this.peek();
      if (this.isKeyword('interface')) ast.items.push(this.interfaceDecl(start));
      else if (this.isKeyword('world')) ast.items.push(this.worldDecl(start));
      else if (this.isKeyword('use')) ast.items.push(this.topLevelUse(start));
      else if (this.isKeyword('package')) {
        throw this.error('E_WIT_SYNTAX', t, "a 'package' declaration must come first in the file, before any interface, world or use");
      } else throw this.expected("'interface', 'world' or 'use' at top level");
    }
    return ast;
  }

  private packageAfterGates(): boolean {
    let i = 0;
    while (this.isPunct('@', i)) {
      i += 2;
      if (this.isPunct('(', i)) {
        let depth = 0;
        do {
          if (this.isPunct('(', i)) depth++;
          if (this.isPunct(')', i)) depth--;
          i++;
        } while (depth > 0 && this.peek(i).kind !== 'eof');
      }
    }
    return this.isKeyword('package', i);
  }

  private packageDecl(): PackageDeclAst {
    const first = this.peek();
    const docs = this.docsOf(first);
    const gates = this.gates();
    if (gates.length > 0) throw this.error('E_WIT_UNSUPPORTED', first, 'feature gates on a package declaration are not supported');
    const kw = this.expectKeyword('package');
    const id = this.packageName();
    if (this.isPunct('/')) {
      throw this.error('E_WIT_SYNTAX', this.peek(), "a package name has no '/': write 'package ns:name@1.0.0;'");
    }
    if (this.isPunct('{')) {
      throw this.error('E_WIT_UNSUPPORTED', this.peek(), "nested package blocks ('package ns:name { ... }') are not supported; put each package in its own directory");
    }
    this.expectPunct(';', 'after the package name');
    return { id, docs, span: kw.span };
  }

  /** `ns:name` or `ns:name@version`; the caller continues with '/' for interface paths. */
  private packageName(): PackageId {
    const namespace = this.expectId('a package namespace').value;
    this.expectPunct(':', "between the package's namespace and name");
    const name = this.expectId('a package name').value;
    if (this.isPunct(':')) {
      throw this.error('E_WIT_UNSUPPORTED', this.peek(), "nested namespaces ('a:b:c') are not supported");
    }
    const id: PackageId = { namespace, name };
    if (this.eatPunct('@')) id.version = this.version();
    return id;
  }

  private version(): string {
    const t = this.peek();
    if (t.kind !== 'version') throw this.expected('a semver version such as 0.1.0');
    return this.next().value;
  }

  private topLevelUse(start: ItemStart): TopLevelUseAst {
    this.expectKeyword('use');
    const path = this.usePath();
    if (this.isPunct('.')) {
      throw this.error('E_WIT_SYNTAX', this.peek(), "expected ';' or 'as' after a top-level use path, found '.' ('use iface.{names}' goes inside an interface or world)");
    }
    const item: TopLevelUseAst = { kind: 'toplevel-use', path, ...start };
    if (this.isKeyword('as')) {
      this.next();
      item.alias = this.expectId("a name after 'as'").value;
    }
    this.expectPunct(';', 'after a top-level use');
    return item;
  }

  /** `iface` or `ns:pkg/iface@version`. */
  private usePath(): UsePathAst {
    const first = this.peek();
    if (this.peek(1).kind === 'punct' && this.peek(1).value === ':') {
      const id = this.packageNameThenSlash();
      const iface = this.expectId('an interface name after the package');
      if (this.isPunct('/')) {
        throw this.error('E_WIT_UNSUPPORTED', this.peek(), "nested packages ('ns:pkg/a/b') are not supported");
      }
      // The version follows the interface: `wasi:io/streams@0.2.0`.
      if (this.eatPunct('@')) id.version = this.version();
      return { kind: 'package', package: id, interface: iface.value, span: first.span };
    }
    const name = this.expectId('an interface name');
    return { kind: 'local', name: name.value, span: name.span };
  }

  private packageNameThenSlash(): PackageId {
    const namespace = this.expectId('a package namespace').value;
    this.expectPunct(':');
    const name = this.expectId('a package name').value;
    if (this.isPunct(':')) throw this.error('E_WIT_UNSUPPORTED', this.peek(), "nested namespaces ('a:b:c') are not supported");
    this.expectPunct('/', "and an interface name after the package name (as in 'wasi:io/streams')");
    return { namespace, name };
  }

  // --- gates -----------------------------------------------------------------------------------

  private gates(): Gate[] {
    const gates: Gate[] = [];
    while (this.isPunct('@')) {
      this.next();
      const name = this.peek();
      if (name.kind !== 'id' || !['since', 'unstable', 'deprecated'].includes(name.value)) {
        if (name.kind === 'id') {
          throw this.error('E_WIT_UNSUPPORTED', name, `unknown attribute '@${name.value}': only @since, @unstable and @deprecated are supported`);
        }
        throw this.expected("an attribute name after '@' (since, unstable or deprecated)");
      }
      this.next();
      this.expectPunct('(', `after '@${name.value}'`);
      if (name.value === 'unstable') {
        gates.push({ kind: 'unstable', feature: this.gateField('feature', () => this.expectId('a feature name').value) });
      } else {
        const version = this.gateField('version', () => this.version());
        if (name.value === 'since') {
          const gate: Gate = { kind: 'since', version };
          // Older WIT allowed `@since(version = x, feature = y)`.
          if (this.eatPunct(',')) gate.feature = this.gateField('feature', () => this.expectId('a feature name').value);
          gates.push(gate);
        } else {
          gates.push({ kind: 'deprecated', version });
        }
      }
      this.expectPunct(')', `to close '@${name.value}(...)'`);
    }
    return gates;
  }

  private gateField(field: string, value: () => string): string {
    const t = this.peek();
    if (t.kind !== 'id' || t.value !== field) throw this.expected(`'${field}'`);
    this.next();
    this.expectPunct('=', `after '${field}'`);
    return value();
  }

  // --- interfaces ------------------------------------------------------------------------------

  private interfaceDecl(start: ItemStart): InterfaceAst {
    this.expectKeyword('interface');
    const name = this.expectId('an interface name').value;
    return { kind: 'interface', name, items: this.interfaceBody(), ...start };
  }

  private interfaceBody(): InterfaceItemAst[] {
    this.expectPunct('{', 'to open the interface body');
    const items: InterfaceItemAst[] = [];
    while (!this.isPunct('}')) {
      if (this.peek().kind === 'eof') throw this.expected("'}' to close the interface");
      const start = this.itemStart();
      this.rejectKeywordName();
      if (this.isKeyword('use')) items.push(this.useDecl(start));
      else if (this.peek().kind === 'id') items.push(this.funcDecl(start));
      else {
        const typedef = this.typeDecl(start);
        if (!typedef) throw this.expected("a type definition, function ('name: func(...)') or 'use'");
        items.push(typedef);
      }
    }
    this.next();
    return items;
  }

  private useDecl(start: ItemStart): UseAst {
    this.expectKeyword('use');
    const path = this.usePath();
    this.expectPunct('.', "after the interface in 'use' (as in 'use types.{name}')");
    this.expectPunct('{', "to open the list of names in 'use'");
    const names = this.commaList('}', () => {
      const n = this.expectId("a type name in 'use'");
      if (this.isKeyword('as')) {
        this.next();
        return { name: n.value, alias: this.expectId("a name after 'as'").value, span: n.span };
      }
      return { name: n.value, span: n.span };
    });
    if (names.length === 0) throw this.expected("a type name in 'use'");
    this.expectPunct('}', "to close the list of names in 'use'");
    this.expectPunct(';', "after 'use'");
    return { kind: 'use', path, names, ...start };
  }

  private funcDecl(start: ItemStart): InterfaceItemAst {
    const name = this.expectId('a function name').value;
    this.expectPunct(':', `after the function name '${name}'`);
    const func = this.funcType();
    this.expectPunct(';', 'after the function');
    return { kind: 'func', name, func, ...start };
  }

  /** `func(a: T, ...) -> R` */
  private funcType(): FuncTypeAst {
    if (this.isKeyword('async')) throw this.error('E_WIT_UNSUPPORTED', this.peek(), "'async' functions are not supported");
    const kw = this.expectKeyword('func');
    const params = this.paramList();
    const func: FuncTypeAst = { params, span: kw.span };
    if (this.eatPunct('->')) {
      if (this.isPunct('(')) {
        throw this.error('E_WIT_UNSUPPORTED', this.peek(), 'named results (-> (a: T, b: U)) were removed from WIT; return a tuple or a record');
      }
      func.result = this.type();
    }
    return func;
  }

  private paramList(): ParamAst[] {
    this.expectPunct('(', 'to open the parameter list');
    const params = this.commaList(')', () => {
      const name = this.expectId('a parameter name');
      this.expectPunct(':', `after the parameter name '${name.value}'`);
      return { name: name.value, type: this.type(), span: name.span };
    });
    this.expectPunct(')', 'to close the parameter list');
    return params;
  }

  /** A `record`/`variant`/`enum`/`flags`/`resource`/`type` item, or undefined if none starts here. */
  private typeDecl(start: ItemStart): TypeDeclAst | undefined {
    const t = this.peek();
    if (t.kind !== 'keyword') return undefined;
    switch (t.value) {
      case 'record': {
        this.next();
        const name = this.expectId('a record name').value;
        this.expectPunct('{', `to open record '${name}'`);
        const fields = this.commaList<FieldAst>('}', () => {
          const docs = this.docsOf(this.peek());
          const f = this.expectId(`a field name in record '${name}'`);
          this.expectPunct(':', `after the field name '${f.value}'`);
          return { name: f.value, type: this.type(), docs, span: f.span };
        });
        this.closeNonEmpty(fields, 'record', name, 'field');
        return { kind: 'typedef', name, body: { kind: 'record', fields }, ...start };
      }
      case 'variant': {
        this.next();
        const name = this.expectId('a variant name').value;
        this.expectPunct('{', `to open variant '${name}'`);
        const cases = this.commaList<CaseAst>('}', () => {
          const docs = this.docsOf(this.peek());
          const c = this.expectId(`a case name in variant '${name}'`);
          const item: CaseAst = { name: c.value, docs, span: c.span };
          if (this.eatPunct('(')) {
            item.type = this.type();
            this.expectPunct(')', `to close the payload of case '${c.value}'`);
          }
          return item;
        });
        this.closeNonEmpty(cases, 'variant', name, 'case');
        return { kind: 'typedef', name, body: { kind: 'variant', cases }, ...start };
      }
      case 'enum':
      case 'flags': {
        this.next();
        const kind = t.value;
        const name = this.expectId(`a ${kind} name`).value;
        this.expectPunct('{', `to open ${kind} '${name}'`);
        const labels = this.commaList<LabelAst>('}', () => {
          const docs = this.docsOf(this.peek());
          const c = this.expectId(`a ${kind === 'enum' ? 'case' : 'flag'} name in ${kind} '${name}'`);
          return { name: c.value, docs, span: c.span };
        });
        this.closeNonEmpty(labels, kind, name, kind === 'enum' ? 'case' : 'flag');
        const body = kind === 'enum' ? { kind: 'enum' as const, cases: labels } : { kind: 'flags' as const, flags: labels };
        return { kind: 'typedef', name, body, ...start };
      }
      case 'resource': {
        this.next();
        const name = this.expectId('a resource name').value;
        const members: ResourceMemberAst[] = [];
        if (!this.eatPunct(';')) {
          if (!this.isPunct('{')) throw this.expected(`';' or '{' after resource '${name}'`);
          this.next();
          while (!this.isPunct('}')) {
            if (this.peek().kind === 'eof') throw this.expected(`'}' to close resource '${name}'`);
            members.push(this.resourceMember(name));
          }
          this.next();
        }
        return { kind: 'typedef', name, body: { kind: 'resource', members }, ...start };
      }
      case 'type': {
        this.next();
        const name = this.expectId('a type name').value;
        this.expectPunct('=', `after 'type ${name}'`);
        const type = this.type();
        this.expectPunct(';', `after the type alias '${name}'`);
        return { kind: 'typedef', name, body: { kind: 'alias', type }, ...start };
      }
      default:
        return undefined;
    }
  }

  private closeNonEmpty(items: unknown[], kind: string, name: string, what: string): void {
    if (items.length === 0 && this.isPunct('}')) {
      throw this.error('E_WIT_SYNTAX', this.peek(), `${kind} '${name}' needs at least one ${what}`);
    }
    this.expectPunct('}', `to close ${kind} '${name}'`);
  }

  private resourceMember(resource: string): ResourceMemberAst {
    const start = this.itemStart();
    if (this.isKeyword('constructor')) {
      const kw = this.next();
      const func: FuncTypeAst = { params: this.paramList(), span: kw.span };
      if (this.eatPunct('->')) func.result = this.type();
      this.expectPunct(';', 'after the constructor');
      return { kind: 'constructor', name: 'constructor', func, ...start };
    }
    this.rejectKeywordName();
    const name = this.expectId(`a method name, 'constructor' or '}' in resource '${resource}'`).value;
    this.expectPunct(':', `after the method name '${name}'`);
    let kind: 'method' | 'static' = 'method';
    if (this.isKeyword('static')) {
      this.next();
      kind = 'static';
    }
    const func = this.funcType();
    this.expectPunct(';', `after the method '${name}'`);
    return { kind, name, func, ...start };
  }

  // --- types -----------------------------------------------------------------------------------

  type(): TypeExprAst {
    const t = this.peek();
    const span = t.span;
    if (t.kind === 'id') {
      this.next();
      return { kind: 'named', name: t.value, span };
    }
    if (t.kind !== 'keyword') throw this.expected('a type');
    if (PRIMITIVES.has(t.value)) {
      this.next();
      return { kind: 'primitive', name: t.value as PrimitiveName, span };
    }
    const unsupported = UNSUPPORTED_TYPES[t.value];
    if (unsupported) throw this.error('E_WIT_UNSUPPORTED', t, unsupported);
    switch (t.value) {
      case 'list': {
        this.next();
        this.expectPunct('<', "after 'list'");
        const element = this.type();
        if (this.isPunct(',')) {
          throw this.error('E_WIT_UNSUPPORTED', this.peek(), 'fixed-length lists (list<T, N>) are not supported');
        }
        this.expectPunct('>', 'to close list<...>');
        return { kind: 'list', element, span };
      }
      case 'option': {
        this.next();
        this.expectPunct('<', "after 'option'");
        const some = this.type();
        this.expectPunct('>', 'to close option<...>');
        return { kind: 'option', some, span };
      }
      case 'result': {
        this.next();
        if (!this.eatPunct('<')) return { kind: 'result', span };
        const result: TypeExprAst = { kind: 'result', span };
        if (this.eatPunct('_')) {
          this.expectPunct(',', "after '_' in result<_, E>");
          result.err = this.type();
        } else {
          result.ok = this.type();
          if (this.eatPunct(',')) result.err = this.type();
        }
        this.expectPunct('>', 'to close result<...>');
        return result;
      }
      case 'tuple': {
        this.next();
        this.expectPunct('<', "after 'tuple'");
        const types = this.commaList('>', () => this.type());
        if (types.length === 0) throw this.expected('a type in tuple<...>');
        this.expectPunct('>', 'to close tuple<...>');
        return { kind: 'tuple', types, span };
      }
      case 'borrow':
      case 'own': {
        this.next();
        this.expectPunct('<', `after '${t.value}'`);
        const name = this.expectId('a resource name').value;
        this.expectPunct('>', `to close ${t.value}<...>`);
        return { kind: t.value, name, span };
      }
      default:
        throw this.expected('a type');
    }
  }

  // --- worlds ----------------------------------------------------------------------------------

  private worldDecl(start: ItemStart): WorldAst {
    this.expectKeyword('world');
    const name = this.expectId('a world name').value;
    this.expectPunct('{', `to open world '${name}'`);
    const items: WorldItemAst[] = [];
    while (!this.isPunct('}')) {
      if (this.peek().kind === 'eof') throw this.expected(`'}' to close world '${name}'`);
      items.push(this.worldItem());
    }
    this.next();
    return { kind: 'world', name, items, ...start };
  }

  private worldItem(): WorldItemAst {
    const start = this.itemStart();
    const t = this.peek();
    if (this.isKeyword('import') || this.isKeyword('export')) {
      this.next();
      return { kind: t.value as 'import' | 'export', extern: this.extern(t.value), ...start };
    }
    if (this.isKeyword('use')) return this.useDecl(start);
    if (this.isKeyword('include')) return this.include(start);
    const typedef = this.typeDecl(start);
    if (typedef) return typedef;
    throw this.expected("'import', 'export', 'include', 'use' or a type definition in a world");
  }

  private extern(direction: string): ExternAst {
    // `name: func`, `name: interface`, or a path (which may itself start with `ns:`).
    const first = this.peek();
    if (first.kind === 'id' && this.isPunct(':', 1)) {
      const after = this.peek(2);
      if (after.kind === 'keyword' && (after.value === 'func' || after.value === 'async' || after.value === 'interface')) {
        this.next();
        this.next();
        if (after.value === 'interface') {
          this.next();
          return { kind: 'interface', name: first.value, items: this.interfaceBody() };
        }
        const func = this.funcType();
        this.expectPunct(';', `after ${direction} '${first.value}'`);
        return { kind: 'func', name: first.value, func };
      }
      // `import a: b;` (a plain name implementing b) vs `import a:b/c;`: the spec tells them apart by the
      // space after ':'.
      const colon = this.peek(1).span;
      const adjacent = after.span.line === colon.line && after.span.column === colon.column + 1;
      if (after.kind === 'id' && this.isPunct(';', 3) && !adjacent) {
        throw this.error('E_WIT_UNSUPPORTED', first, `'${direction} ${first.value}: ${after.value};' (a plain name implementing an interface) is not supported; write '${direction} ${after.value};'`);
      }
    }
    const path = this.usePath();
    this.expectPunct(';', `after ${direction} of an interface`);
    return { kind: 'path', path };
  }

  private include(start: ItemStart): WorldItemAst {
    this.expectKeyword('include');
    const path = this.usePath();
    const renames: { from: string; to: string; span: Span }[] = [];
    if (this.isKeyword('with')) {
      this.next();
      this.expectPunct('{', "after 'with'");
      renames.push(
        ...this.commaList('}', () => {
          const from = this.expectId('a name to rename');
          this.expectKeyword('as', `after '${from.value}' in 'with { ... }'`);
          return { from: from.value, to: this.expectId("a new name after 'as'").value, span: from.span };
        }),
      );
      this.expectPunct('}', "to close 'with { ... }'");
    }
    this.expectPunct(';', "after 'include'");
    return { kind: 'include', path, renames, ...start };
  }
}
