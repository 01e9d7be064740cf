// The shapes a worker instance shares with the rest of the host: the loaded version it runs, the requests and
// scheduled events it takes, and the responses, subrequests and tail events it gives out.
import type { Readable } from 'node:stream';
import type { DeployManifest, ValueModuleType } from '../core/manifest.ts';
import type { VersionAssets } from '../core/assets.ts';
import type { ModuleSourceMap } from './source-map.ts';

export interface VersionModule {
  path: string;
  source: string;
  /** V8 code cache produced at deploy. */
  cache?: Buffer;
}

/**
 * A module of a JS worker whose default export is a value (wrangler's module rules): `CompiledWasm` a
 * WebAssembly.Module, `Text` a string (the bytes as UTF-8), `Data` an ArrayBuffer. Imported by its path, as a JS module is.
 */
export interface ValueModule {
  path: string;
  type: ValueModuleType;
  bytes: Uint8Array;
}

/** A WebAssembly component worker: jco's glue is one of `modules`, its core modules are here. */
export interface ComponentParts {
  /** Path of jco's glue among the version's modules (it exports `instantiate`). */
  glue: string;
  /** Core modules by the name the glue asks for, prepared at deploy (memory capped, fuel metered). */
  wasm: Array<{ name: string; bytes: Uint8Array }>;
  /** The interfaces it imports, as jco names them. */
  imports: string[];
  /** The global each metered core module exports its fuel counter as; null when not metered. */
  fuelExport: string | null;
  /** The world it exports (absent in versions stored before wasi:http/proxy components: our own). */
  world?: import('../core/isolate-protocol.ts').ComponentWorld;
}

export interface LoadedVersion {
  worker: string;
  versionId: string;
  manifest: DeployManifest;
  modules: VersionModule[];
  /** A JS worker's WebAssembly, text and data modules. */
  valueModules?: ValueModule[];
  component?: ComponentParts;
  /** Source maps of bundled modules: stacks sent to tail name the user's source through them. */
  sourceMaps?: ModuleSourceMap[];
  /** Its static assets (`assets` in the manifest): served by the host, before or instead of the worker. */
  assets?: VersionAssets;
}

export interface IncomingRequestData {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: Readable | null;
  cf?: Record<string, unknown>;
  /** How many subrequests deep this request is (0 for client traffic). */
  depth?: number;
  /** An event for a Durable Object of this worker: its class and id (a stub's fetch). */
  object?: ObjectAddress;
}

/** A Durable Object: the exported class that implements it, and its id (64 hex digits). */
export interface ObjectAddress {
  className: string;
  id: string;
}

export interface SubrequestInit {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  /**
   * Bytes (sent again on a 307/308 redirect), a stream read only as fast as the upstream accepts it (a guest's
   * ReadableStream, or the client's request body passed straight through), or none.
   */
  body: Uint8Array | Readable | null;
  redirect: 'follow' | 'manual' | 'error';
  /** A service binding: the worker called in-process, whatever the URL's host. */
  service?: { binding: string; worker: string; object?: ObjectAddress };
  /** Aborted when the guest aborts the fetch or cancels its response body, or when its request ends (never when absent). */
  signal?: AbortSignal;
}

export interface SubrequestResult {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  /** The response's URL (the last one after redirects). */
  url: string;
  redirected: boolean;
  /** The body as it arrives, read on demand; ending its iteration early releases the upstream. */
  body: AsyncIterable<Uint8Array> | null;
  /** The whole body, when it was already here with the head (`body` is then null): sent with the head, in one entry. */
  bytes?: Uint8Array;
  /** A 101 from a worker of this host: the WebSocket end it hands over (host/runtime/websockets.ts). */
  webSocket?: number;
}

export interface WorkerResponse {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  /** Whole body, or null when `stream` carries it (or there is none). */
  body: Uint8Array | null;
  stream: AsyncGenerator<Uint8Array> | null;
  /** A 101: the WebSocket end the worker hands over (host/runtime/websockets.ts); whoever takes it holds it next. */
  webSocket?: number;
}

export type TailKind = 'console' | 'exception' | 'limit' | 'request';
export interface TailEvent {
  ts: number;
  worker: string;
  version: string;
  level: 'log' | 'info' | 'warn' | 'error' | 'debug';
  kind: TailKind;
  message: string;
  code?: string;
  stack?: string;
}

/** A scheduled (cron) event for a worker. */
export interface ScheduledEventInit {
  /** The cron expression that fired ('' when triggered by hand without one). */
  cron: string;
  /** When the run was due, in ms since the epoch. */
  scheduledTime: number;
}

/** How a scheduled run ended (as Workers' tail outcomes, with our error code when it failed). */
export interface ScheduledOutcome {
  worker: string;
  version: string;
  cron: string;
  scheduledTime: number;
  outcome: 'ok' | 'exception' | 'exceededLimit' | 'noHandler' | 'canceled';
  /** The handler called controller.noRetry(). */
  noRetry: boolean;
  code?: string;
  message?: string;
  cpuMs: number;
  wallMs: number;
}
