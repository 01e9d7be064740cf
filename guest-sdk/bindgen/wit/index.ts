// The WIT front end: lexer, parser, resolver, printer and directory loader.
export { WitError, type WitErrorCode } from './errors.ts';
export { tokenize, describeToken, identifierProblem, KEYWORDS, type Token, type TokenKind } from './lexer.ts';
export { parseWit } from './parser.ts';
export { resolvePackage, resolveFiles, resolveWithDeps, refersToOtherPackages, definitionOf, isResource, interfaceId, formatPackageId, type WitSource, type DepPackage, type ForeignPackages } from './resolve.ts';
export { printWit, typeText } from './print.ts';
export { loadWitDir } from './load.ts';
export type * from './types.ts';
