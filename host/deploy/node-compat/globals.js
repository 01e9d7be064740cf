// Injected into every nodejs_compat bundle (esbuild `inject`): the `Buffer`, `process` and `global` globals that
// Workers has under nodejs_compat. Only what the worker's code names is bundled (this folder is free of side effects
// for esbuild: package.json), and then it is defined on globalThis as well, for code that looks there.
export { Buffer } from './buffer-global.js';
export { process } from './process-global.js';
export const global = globalThis;
