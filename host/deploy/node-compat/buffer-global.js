// The `Buffer` global of a nodejs_compat worker that names it (globals.js).
import { Buffer } from 'node:buffer';

globalThis.Buffer ??= Buffer;
export { Buffer };
