// What the prelude's code finds in the isolate without importing it, for the type checker (tsconfig.prelude.json):
// the isolated-vm References the host hands over, V8's own WebAssembly namespace, and the globals the prelude itself
// installs (globals.js) that its modules then use by name. No DOM and no Node: the isolate has neither.

/**
 * An isolated-vm Reference to a host function, as the isolate holds it (internal/bridge.js): the function runs in
 * the host, with copies of the arguments. Only the apply flavours the prelude uses.
 */
interface HostReference<F extends (...args: any[]) => unknown> {
  /** Runs `F` and waits for its (copied) result. */
  applySync(receiver: undefined, args: Parameters<F>, options?: HostTransferOptions): ReturnType<F>;
  /** Runs `F` without waiting; its result is dropped. */
  applyIgnored(receiver: undefined, args: Parameters<F>, options?: HostTransferOptions): void;
  /** Runs `F`, which returns a promise, and blocks this thread until the promise settles. */
  applySyncPromise(receiver: undefined, args: Parameters<F>, options?: HostTransferOptions): Awaited<ReturnType<F>>;
}

/** isolated-vm's transfer options, as far as the prelude sets them. */
interface HostTransferOptions {
  arguments?: { copy?: boolean };
  result?: { copy?: boolean };
}

/** The `ctx` (ExecutionContext) the runtime hands to fetch and scheduled handlers (runtime.js, executionContext). */
interface GuestExecutionContext {
  waitUntil(promise: unknown): void;
  passThroughOnException(): void;
  props: object;
  /** Non-enumerable: for the component adapter (component.js), whose imports talk to the host about this request. */
  readonly __edgeReqId: number;
}

/** A worker's handlers, as the host's bootstrap module leaves them (a module's default export, or the listeners). */
interface GuestWorker {
  fetch?(request: import('../request.js').Request, env: Record<string, unknown>, ctx: GuestExecutionContext): unknown;
  scheduled?(controller: import('../scheduled.js').ScheduledController, env: Record<string, unknown>, ctx: GuestExecutionContext): unknown;
}

/** Left by the host's bootstrap module for the runtime (runtime.js, loadWorker), which takes them away. */
declare var __edgeWorker: GuestWorker | undefined;
declare var __edgeEnv: Record<string, unknown> | undefined;

// Installed by globals.js before any guest code runs, and used by name by runtime.js and component.js.
declare var ReadableStream: typeof import('web-streams-polyfill').ReadableStream;
type ReadableStream<R = any> = import('web-streams-polyfill').ReadableStream<R>;
declare var Response: typeof import('../response.js').Response;
type Response = import('../response.js').Response;

/** V8's WebAssembly namespace (wrapped by wasm-memory.js), as far as the prelude uses it. lib.dom.d.ts has the full one. */
declare namespace WebAssembly {
  type BufferSource = ArrayBufferView | ArrayBuffer;
  type Imports = Record<string, Record<string, unknown>>;
  type Exports = Record<string, unknown>;
  type ExternalKind = 'function' | 'table' | 'memory' | 'global' | 'tag';
  interface ModuleExportDescriptor {
    kind: ExternalKind;
    name: string;
  }
  interface ModuleImportDescriptor {
    kind: ExternalKind;
    module: string;
    name: string;
  }
  class Module {
    constructor(bytes: BufferSource);
    static exports(module: Module): ModuleExportDescriptor[];
    static imports(module: Module): ModuleImportDescriptor[];
    static customSections(module: Module, sectionName: string): ArrayBuffer[];
  }
  class Instance {
    constructor(module: Module, importObject?: Imports);
    readonly exports: Exports;
  }
  interface MemoryDescriptor {
    initial: number | bigint;
    maximum?: number | bigint;
    shared?: boolean;
    address?: 'i32' | 'i64';
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
    grow(delta: number | bigint): number;
  }
  type ValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'externref' | 'anyfunc';
  interface GlobalDescriptor {
    value: ValueType;
    mutable?: boolean;
  }
  class Global {
    constructor(descriptor: GlobalDescriptor, value?: unknown);
    /** A number, or a bigint for an i64 global (fuel counters are). */
    value: any;
    valueOf(): any;
  }
  class CompileError extends Error {}
  class LinkError extends Error {}
  class RuntimeError extends Error {}
  function validate(bytes: BufferSource): boolean;
  function compile(bytes: BufferSource): Promise<Module>;
  function instantiate(bytes: BufferSource, importObject?: Imports): Promise<{ module: Module; instance: Instance }>;
  function instantiate(module: Module, importObject?: Imports): Promise<Instance>;
}
