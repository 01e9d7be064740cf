// Lexer for WIT: turns a file's text into tokens, keeping doc comments on the token they precede.
import { WitError } from './errors.ts';
import type { Span } from './types.ts';

export type TokenKind = 'id' | 'keyword' | 'int' | 'version' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** The identifier without its `%`, the keyword, the digits, the version, or the punctuation. */
  value: string;
  /** `%name`: an identifier that may spell a keyword. */
  escaped: boolean;
  span: Span;
  /** Lines of the `///` and `/** *\/` comments between the previous token and this one. */
  docs: string[];
}

export const KEYWORDS: ReadonlySet<string> = new Set([
  'as', 'async', 'bool', 'borrow', 'char', 'constructor', 'enum', 'error-context', 'export', 'f32',
  'f64', 'flags', 'from', 'func', 'future', 'import', 'include', 'interface', 'list', 'map', 'option',
  'own', 'package', 'record', 'resource', 'result', 's16', 's32', 's64', 's8', 'static', 'stream',
  'string', 'tuple', 'type', 'u16', 'u32', 'u64', 'u8', 'use', 'variant', 'with', 'world',
]);

// Longest first so that '->' wins over '-'.
const PUNCTUATION = ['->', '=', ',', ':', ';', '(', ')', '{', '}', '<', '>', '*', '/', '.', '@', '_'];

// Full semver; the numeric parts are checked for leading zeros separately for a clearer message.
const VERSION = /(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?/y;
const DIGITS = /\d+/y;
// A kebab-case word sequence; '-' only counts when a word follows, so `a->` is not swallowed.
const IDENT = /[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*/y;
const WORD_LOWER = /^[a-z][a-z0-9]*$/;
const WORD_UPPER = /^[A-Z][A-Z0-9]*$/;
// Bidirectional overrides are forbidden anywhere, comments included (trojan-source).
const BIDI = /[\u202A-\u202E\u2066-\u2069]/;

/** Checks a kebab-case WIT identifier; returns why it is invalid, or undefined. */
export function identifierProblem(name: string): string | undefined {
  for (const word of name.split('-')) {
    if (word === '') return `identifier '${name}' has an empty word`;
    if (/^[0-9]/.test(word)) return `identifier '${name}': word '${word}' starts with a digit`;
    if (!WORD_LOWER.test(word) && !WORD_UPPER.test(word)) {
      return `identifier '${name}': word '${word}' mixes upper and lower case (each '-'-separated word is all lowercase or all uppercase)`;
    }
  }
  return undefined;
}

export function tokenize(file: string, text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  let lineStart = 0;
  let docs: string[] = [];

  const spanAt = (offset: number): Span => ({ file, line, column: offset - lineStart + 1 });
  const fail = (offset: number, detail: string): never => {
    throw new WitError('E_WIT_SYNTAX', spanAt(offset), detail);
  };
  // Advances over text[pos, end) keeping line bookkeeping right across newlines.
  const advanceTo = (end: number): void => {
    for (let i = pos; i < end; i++) {
      if (text.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    pos = end;
  };
  const push = (kind: TokenKind, value: string, start: number, end: number, escaped = false): void => {
    tokens.push({ kind, value, escaped, span: spanAt(start), docs });
    docs = [];
    advanceTo(end);
  };

  while (pos < text.length) {
    const ch = text[pos]!;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      advanceTo(pos + 1);
      continue;
    }
    if (text.startsWith('//', pos)) {
      let end = text.indexOf('\n', pos);
      if (end < 0) end = text.length;
      const body = text.slice(pos + 2, end);
      if (BIDI.test(body)) fail(pos, 'comment contains a bidirectional override character');
      // `///` is a doc comment, `////...` a plain one (as in Rust).
      if (body.startsWith('/') && !body.startsWith('//')) docs.push(stripOneSpace(body.slice(1)).trimEnd());
      advanceTo(end);
      continue;
    }
    if (text.startsWith('/*', pos)) {
      const start = pos;
      let depth = 0;
      let i = pos;
      while (i < text.length) {
        if (text.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (text.startsWith('*/', i)) {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else {
          i++;
        }
      }
      if (depth !== 0) fail(start, "unterminated block comment: expected '*/' before end of file");
      const body = text.slice(start + 2, i - 2);
      if (BIDI.test(body)) fail(start, 'comment contains a bidirectional override character');
      // `/** ... */` is a doc comment; `/**/` and `/*** ... */` are not.
      if (body.startsWith('*') && body !== '*' && !body.startsWith('**')) docs.push(...blockDocLines(body.slice(1)));
      advanceTo(i);
      continue;
    }
    if (ch === '%') {
      IDENT.lastIndex = pos + 1;
      const m = IDENT.exec(text);
      if (!m) fail(pos, "expected an identifier after '%'");
      const name = m![0];
      const problem = identifierProblem(name);
      if (problem) fail(pos, problem);
      push('id', name, pos, pos + 1 + name.length, true);
      continue;
    }
    if (ch >= '0' && ch <= '9') {
      VERSION.lastIndex = pos;
      const v = VERSION.exec(text);
      if (v) {
        for (const part of [v[1]!, v[2]!, v[3]!]) {
          if (part.length > 1 && part.startsWith('0')) fail(pos, `invalid version '${v[0]}': '${part}' has a leading zero`);
        }
        push('version', v[0], pos, pos + v[0].length);
        continue;
      }
      DIGITS.lastIndex = pos;
      const d = DIGITS.exec(text)![0];
      push('int', d, pos, pos + d.length);
      continue;
    }
    if (/[A-Za-z]/.test(ch)) {
      IDENT.lastIndex = pos;
      const name = IDENT.exec(text)![0];
      if (KEYWORDS.has(name)) {
        push('keyword', name, pos, pos + name.length);
        continue;
      }
      const problem = identifierProblem(name);
      if (problem) fail(pos, problem);
      push('id', name, pos, pos + name.length);
      continue;
    }
    const punct = PUNCTUATION.find((p) => text.startsWith(p, pos));
    // `_` is only a token of its own (in `result<_, E>`), never the start of an identifier.
    if (punct && !(punct === '_' && /[A-Za-z0-9_-]/.test(text[pos + 1] ?? ''))) {
      push('punct', punct, pos, pos + punct.length);
      continue;
    }
    const shown = ch === '"' ? "'\"' (string literals are not supported)" : `'${ch}'`;
    fail(pos, `unexpected character ${shown}`);
  }
  tokens.push({ kind: 'eof', value: '', escaped: false, span: spanAt(pos), docs });
  return tokens;
}

function stripOneSpace(s: string): string {
  return s.startsWith(' ') ? s.slice(1) : s;
}

// `/** ... */` body to lines: drop a leading ` * ` gutter and the blank first/last lines.
function blockDocLines(body: string): string[] {
  const lines = body.split(/\r?\n/).map((l, i) => {
    const t = i === 0 ? l : l.replace(/^\s*\*(?!\/)/, '');
    return stripOneSpace(i === 0 ? t.trimStart() : t).trimEnd();
  });
  while (lines.length > 0 && lines[0] === '') lines.shift();
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** How a token is named in "expected ..., found ..." messages. */
export function describeToken(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of file';
    case 'id':
      return `identifier '${t.escaped ? '%' : ''}${t.value}'`;
    case 'keyword':
      return `keyword '${t.value}'`;
    case 'int':
      return `integer '${t.value}'`;
    case 'version':
      return `version '${t.value}'`;
    case 'punct':
      return `'${t.value}'`;
  }
}
