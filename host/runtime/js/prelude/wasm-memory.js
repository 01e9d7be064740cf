// PLACEHOLDER (being written): caps and accounts WebAssembly memories against the isolate budget.
export function installWasmMemoryLimits(WebAssembly, budgetBytes) {}
export function wasmMemoryBytes() { return 0; }
