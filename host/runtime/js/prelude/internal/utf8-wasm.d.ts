// Types of utf8-wasm.js, for the host's TypeScript (which does not read the prelude's JS; test/bytes-encoding.test.ts
// imports the binary to compare it with its WAT source).
/** The WebAssembly binary of internal/utf8-encode.wat. */
export declare const UTF8_ENCODE_WASM: Uint8Array;
