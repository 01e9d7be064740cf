// WitError: the one error type of the WIT front end, carrying a stable code and the source position.
import type { Span } from './types.ts';

export type WitErrorCode =
  | 'E_WIT_SYNTAX' // the text is not WIT (or not the part of WIT we parse)
  | 'E_WIT_UNSUPPORTED' // valid WIT that this front end deliberately does not handle (async, streams, ...)
  | 'E_WIT_UNKNOWN_TYPE' // a type name (or a name in `use ... .{}`) that is not defined
  | 'E_WIT_UNKNOWN_INTERFACE' // a `use`/`import`/`export` path naming no interface of the package
  | 'E_WIT_UNKNOWN_WORLD' // an `include` naming no world of the package
  | 'E_WIT_DUPLICATE' // a name defined twice in one scope
  | 'E_WIT_CYCLE' // a type that contains itself, interfaces that `use` each other, worlds that include each other
  | 'E_WIT_INVALID' // well-formed but meaningless: borrow of a record, constructor returning the wrong type, ...
  | 'E_WIT_PACKAGE'; // missing or conflicting `package` declarations, no .wit files

export class WitError extends Error {
  readonly code: WitErrorCode;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The message without the `file:line:column: ` prefix. */
  readonly detail: string;

  constructor(code: WitErrorCode, span: Span, detail: string) {
    super(`${span.file}:${span.line}:${span.column}: ${detail}`);
    this.name = 'WitError';
    this.code = code;
    this.file = span.file;
    this.line = span.line;
    this.column = span.column;
    this.detail = detail;
  }
}
