// The `process` global of a nodejs_compat worker that names it (globals.js).
import process from 'node:process';

globalThis.process ??= process;
export { process };
