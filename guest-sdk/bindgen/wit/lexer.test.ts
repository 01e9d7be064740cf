import { describe, it, expect } from 'vitest';
import { WitError } from './errors.ts';
import { tokenize, type Token } from './lexer.ts';

const kinds = (text: string): string[] => tokenize('t.wit', text).map((t) => `${t.kind}:${t.value}`);

function lexError(text: string): WitError {
  try {
    tokenize('t.wit', text);
  } catch (e) {
    if (e instanceof WitError) return e;
    throw e;
  }
  throw new Error('expected a WitError');
}

describe('tokenize', () => {
  it('lexes kebab-case identifiers, acronyms and keywords', () => {
    expect(kinds('red-green-blue parse-XML-document XML record list')).toEqual([
      'id:red-green-blue',
      'id:parse-XML-document',
      'id:XML',
      'keyword:record',
      'keyword:list',
      'eof:',
    ]);
  });

  it('lexes %-escaped identifiers as identifiers, also for keywords', () => {
    const [a, b] = tokenize('t.wit', '%variant %foo');
    expect(a).toMatchObject({ kind: 'id', value: 'variant', escaped: true });
    expect(b).toMatchObject({ kind: 'id', value: 'foo', escaped: true });
  });

  it('lexes all punctuation, with -> as one token', () => {
    expect(kinds(': ; , . { } ( ) < > = -> @ / * _')).toEqual([
      ...[':', ';', ',', '.', '{', '}', '(', ')', '<', '>', '=', '->', '@', '/', '*', '_'].map((p) => `punct:${p}`),
      'eof:',
    ]);
  });

  it('does not swallow the - of -> into an identifier', () => {
    expect(kinds('f->u32')).toEqual(['id:f', 'punct:->', 'keyword:u32', 'eof:']);
  });

  it('lexes integers and semver versions, stopping a version before .{', () => {
    expect(kinds('42 0.1.0 1.0.0-rc.1+build.5')).toEqual(['int:42', 'version:0.1.0', 'version:1.0.0-rc.1+build.5', 'eof:']);
    expect(kinds('edge:platform@0.1.0;')).toEqual(['id:edge', 'punct::', 'id:platform', 'punct:@', 'version:0.1.0', 'punct:;', 'eof:']);
    expect(kinds('types@1.0.0-rc.1.{a}')).toEqual(['id:types', 'punct:@', 'version:1.0.0-rc.1', 'punct:.', 'punct:{', 'id:a', 'punct:}', 'eof:']);
  });

  it('skips line comments and nested block comments', () => {
    expect(kinds('a // b c\n/* x /* nested */ still comment */ d')).toEqual(['id:a', 'id:d', 'eof:']);
  });

  it('keeps /// and /** */ doc comments on the next token; plain comments are dropped', () => {
    const toks = tokenize('t.wit', '/// first\n///   indented\n///\n// plain\n//// not doc\n/** block\n * second\n */\nx /**/ /*** no */ y');
    expect(toks[0]!.docs).toEqual(['first', '  indented', '', 'block', 'second']);
    expect(toks[1]!.docs).toEqual([]);
  });

  it('records 1-based line and column for each token', () => {
    const toks = tokenize('t.wit', 'a\n  bb\n\tc');
    expect(toks.map((t: Token) => [t.span.line, t.span.column])).toEqual([[1, 1], [2, 3], [3, 2], [3, 3]]);
    expect(toks[0]!.span.file).toBe('t.wit');
  });

  it('rejects identifiers with mixed-case or digit-leading words', () => {
    const e = lexError('record x {\n  fooBar: u32 }');
    expect(e.code).toBe('E_WIT_SYNTAX');
    expect([e.line, e.column]).toEqual([2, 3]);
    expect(e.message).toMatch(/^t\.wit:2:3: identifier 'fooBar': word 'fooBar' mixes upper and lower case/);
    expect(lexError('a-1b').detail).toMatch(/word '1b' starts with a digit/);
    expect(lexError('%1x').detail).toMatch(/starts with a digit/);
  });

  it('rejects an unterminated block comment at its start', () => {
    const e = lexError('a\n /* /* */');
    expect([e.code, e.line, e.column]).toEqual(['E_WIT_SYNTAX', 2, 2]);
    expect(e.detail).toMatch(/unterminated block comment/);
  });

  it('rejects unexpected characters, naming them', () => {
    const e = lexError('interface a { x: func() -> u32 $ }');
    expect(e.message).toBe("t.wit:1:32: unexpected character '$'");
    expect(lexError('"s"').detail).toMatch(/string literals are not supported/);
    expect(lexError('%').detail).toMatch(/expected an identifier after '%'/);
  });

  it('rejects versions with leading zeros', () => {
    expect(lexError('a@01.0.0').detail).toMatch(/invalid version '01.0.0'/);
  });

  it('rejects bidirectional override characters in comments', () => {
    expect(lexError('// evil \u202E comment').detail).toMatch(/bidirectional/);
  });
});
