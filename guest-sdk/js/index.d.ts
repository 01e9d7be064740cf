// Types for JS/TS workers on this runtime: the globals a worker has, taken from @cloudflare/workers-types where our
// implementation matches Workers, and our own declarations where it differs (ExecutionContext, ExportedHandler,
// Fetcher, service-worker events, HTMLRewriter's content). Only what the runtime provides is declared: code that uses a
// Workers API we do not have (WebSocketPair, connect(), ...) fails to typecheck instead of failing at run time. README.md lists the
// differences. Use it as `"types": ["@edge/workers-types"]` with `"lib": ["es2024"]` (no "DOM").

import * as CF from '@cloudflare/workers-types';

export {};

declare global {
  // ---------------------------------------------------------------------------------------------------------------
  // Handlers: what a worker's default export may hold (fetch and scheduled; no queue, tail, email or RPC).

  /** `ctx`: extends the request past the response, or hands it to the origin when the handler throws. */
  interface ExecutionContext {
    /** Keeps the request alive (up to 30 s after the response) until `promise` settles; a rejection goes to tail. */
    waitUntil(promise: Promise<unknown>): void;
    /** If the handler then throws, the request goes on to the origin as if the worker were not there. */
    passThroughOnException(): void;
    /** What a caller passes along a service binding; always `{}` on this host (no RPC entrypoints). */
    readonly props: any;
  }

  type ExportedHandlerFetchHandler<Env = unknown, CfHostMetadata = unknown> = (
    request: Request<CfHostMetadata, IncomingRequestCfProperties<CfHostMetadata>>,
    env: Env,
    ctx: ExecutionContext,
  ) => Response | Promise<Response>;

  type ExportedHandlerScheduledHandler<Env = unknown> = (controller: ScheduledController, env: Env, ctx: ExecutionContext) => void | Promise<void>;

  /** `export default { fetch, scheduled } satisfies ExportedHandler<Env>`. */
  interface ExportedHandler<Env = unknown, CfHostMetadata = unknown> {
    fetch?: ExportedHandlerFetchHandler<Env, CfHostMetadata>;
    scheduled?: ExportedHandlerScheduledHandler<Env>;
  }

  /** A Cron Trigger firing (`[triggers] crons`), or `edge trigger` / `/__scheduled` under `edge dev`. */
  type ScheduledController = CF.ScheduledController;
  var ScheduledController: { prototype: ScheduledController };
  type ScheduledEvent = CF.ScheduledEvent;
  var ScheduledEvent: typeof CF.ScheduledEvent;
  /** Service-worker syntax: `addEventListener('fetch', (event) => event.respondWith(...))`. */
  type FetchEvent = CF.FetchEvent;
  var FetchEvent: typeof CF.FetchEvent;
  function addEventListener(type: 'fetch', handler: (event: FetchEvent) => void): void;
  function addEventListener(type: 'scheduled', handler: (event: ScheduledEvent) => void): void;
  function removeEventListener(type: 'fetch', handler: (event: FetchEvent) => void): void;
  function removeEventListener(type: 'scheduled', handler: (event: ScheduledEvent) => void): void;
  var self: typeof globalThis;

  /**
   * `request.cf` of an incoming request, typed as in Workers. This host fills what it knows (client address, HTTP
   * version, TLS, `colo` "LOCAL" unless configured, `country` from a trusted proxy header or "XX") and gives
   * placeholders for what only Cloudflare's network knows (`asn` 0, no geolocation); it adds `clientIp`.
   */
  type IncomingRequestCfProperties<HostMetadata = unknown> = CF.IncomingRequestCfProperties<HostMetadata> & { clientIp?: string };

  /** A service binding (`services = [{ binding, service }]`): calls the other worker in-process. HTTP only, no RPC. */
  interface Fetcher {
    fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Bindings: `kv_namespaces` (Workers KV) and `r2_buckets` (R2), as on Workers. `services` give a Fetcher (above).

  type KVNamespace<Key extends string = string> = CF.KVNamespace<Key>;
  type KVNamespaceGetOptions<Type> = CF.KVNamespaceGetOptions<Type>;
  type KVNamespacePutOptions = CF.KVNamespacePutOptions;
  type KVNamespaceListOptions = CF.KVNamespaceListOptions;
  type KVNamespaceListResult<Metadata, Key extends string = string> = CF.KVNamespaceListResult<Metadata, Key>;
  type KVNamespaceListKey<Metadata, Key extends string = string> = CF.KVNamespaceListKey<Metadata, Key>;
  type KVNamespaceGetWithMetadataResult<Value, Metadata> = CF.KVNamespaceGetWithMetadataResult<Value, Metadata>;

  type R2Bucket = CF.R2Bucket;
  type R2Object = CF.R2Object;
  type R2ObjectBody = CF.R2ObjectBody;
  type R2Objects = CF.R2Objects;
  type R2GetOptions = CF.R2GetOptions;
  type R2PutOptions = CF.R2PutOptions;
  type R2ListOptions = CF.R2ListOptions;
  type R2Conditional = CF.R2Conditional;
  type R2Range = CF.R2Range;
  type R2HTTPMetadata = CF.R2HTTPMetadata;
  type R2Checksums = CF.R2Checksums;
  type R2MultipartUpload = CF.R2MultipartUpload;
  type R2MultipartOptions = CF.R2MultipartOptions;
  type R2UploadedPart = CF.R2UploadedPart;

  // ---------------------------------------------------------------------------------------------------------------
  // Fetch

  type Headers = CF.Headers;
  var Headers: typeof CF.Headers;
  type Request<CfHostMetadata = unknown, Cf = CF.CfProperties<CfHostMetadata>> = CF.Request<CfHostMetadata, Cf>;
  var Request: typeof CF.Request;
  type Response = CF.Response;
  var Response: typeof CF.Response;
  type RequestInit<Cf = CF.CfProperties> = CF.RequestInit<Cf>;
  type ResponseInit = CF.ResponseInit;
  type HeadersInit = CF.HeadersInit;
  type BodyInit = CF.BodyInit;
  type RequestInfo<CfHostMetadata = unknown, Cf = CF.CfProperties<CfHostMetadata>> = CF.RequestInfo<CfHostMetadata, Cf>;
  type CfProperties<HostMetadata = unknown> = CF.CfProperties<HostMetadata>;
  function fetch(input: RequestInfo | URL, init?: RequestInit<CfProperties>): Promise<Response>;
  type FormData = CF.FormData;
  var FormData: typeof CF.FormData;
  type Blob = CF.Blob;
  var Blob: typeof CF.Blob;
  type BlobOptions = CF.BlobOptions;
  type File = CF.File;
  var File: typeof CF.File;
  type FileOptions = CF.FileOptions;
  type URL = CF.URL;
  var URL: typeof CF.URL;
  type URLSearchParams = CF.URLSearchParams;
  var URLSearchParams: typeof CF.URLSearchParams;

  // ---------------------------------------------------------------------------------------------------------------
  // HTMLRewriter: as on Workers, but inserted content is a string (Workers also takes a ReadableStream or Response).

  interface ContentOptions {
    /** Insert the content as HTML; by default it is text, and escaped. */
    html?: boolean;
  }
  interface HTMLRewriterElementContentHandlers {
    element?(element: Element): void | Promise<void>;
    comments?(comment: Comment): void | Promise<void>;
    text?(text: Text): void | Promise<void>;
  }
  interface HTMLRewriterDocumentContentHandlers {
    doctype?(doctype: Doctype): void | Promise<void>;
    comments?(comment: Comment): void | Promise<void>;
    text?(text: Text): void | Promise<void>;
    end?(end: DocumentEnd): void | Promise<void>;
  }
  /** Rewrites HTML as it streams through `transform(response)`; a bad selector throws a TypeError at `on()`. */
  interface HTMLRewriter {
    on(selector: string, handlers: HTMLRewriterElementContentHandlers): HTMLRewriter;
    onDocument(handlers: HTMLRewriterDocumentContentHandlers): HTMLRewriter;
    /** The response with its body rewritten as it is read (same status and headers, minus Content-Length). */
    transform(response: Response): Response;
  }
  var HTMLRewriter: { prototype: HTMLRewriter; new (): HTMLRewriter };
  interface Element {
    tagName: string;
    readonly attributes: IterableIterator<[name: string, value: string]>;
    readonly removed: boolean;
    readonly namespaceURI: string;
    getAttribute(name: string): string | null;
    hasAttribute(name: string): boolean;
    setAttribute(name: string, value: string): Element;
    removeAttribute(name: string): Element;
    before(content: string, options?: ContentOptions): Element;
    after(content: string, options?: ContentOptions): Element;
    prepend(content: string, options?: ContentOptions): Element;
    append(content: string, options?: ContentOptions): Element;
    replace(content: string, options?: ContentOptions): Element;
    setInnerContent(content: string, options?: ContentOptions): Element;
    remove(): Element;
    removeAndKeepContent(): Element;
    onEndTag(handler: (tag: EndTag) => void | Promise<void>): void;
  }
  interface EndTag {
    name: string;
    before(content: string, options?: ContentOptions): EndTag;
    after(content: string, options?: ContentOptions): EndTag;
    remove(): EndTag;
  }
  interface Comment {
    text: string;
    readonly removed: boolean;
    before(content: string, options?: ContentOptions): Comment;
    after(content: string, options?: ContentOptions): Comment;
    replace(content: string, options?: ContentOptions): Comment;
    remove(): Comment;
  }
  interface Text {
    readonly text: string;
    readonly lastInTextNode: boolean;
    readonly removed: boolean;
    before(content: string, options?: ContentOptions): Text;
    after(content: string, options?: ContentOptions): Text;
    replace(content: string, options?: ContentOptions): Text;
    remove(): Text;
  }
  interface Doctype {
    readonly name: string | null;
    readonly publicId: string | null;
    readonly systemId: string | null;
  }
  interface DocumentEnd {
    append(content: string, options?: ContentOptions): DocumentEnd;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Streams, encoding, compression

  type ReadableStream<R = any> = CF.ReadableStream<R>;
  var ReadableStream: typeof CF.ReadableStream;
  type ReadableStreamDefaultReader<R = any> = CF.ReadableStreamDefaultReader<R>;
  var ReadableStreamDefaultReader: typeof CF.ReadableStreamDefaultReader;
  type ReadableStreamBYOBReader = CF.ReadableStreamBYOBReader;
  var ReadableStreamBYOBReader: typeof CF.ReadableStreamBYOBReader;
  type ReadableStreamBYOBRequest = CF.ReadableStreamBYOBRequest;
  var ReadableStreamBYOBRequest: typeof CF.ReadableStreamBYOBRequest;
  type ReadableStreamDefaultController<R = any> = CF.ReadableStreamDefaultController<R>;
  var ReadableStreamDefaultController: typeof CF.ReadableStreamDefaultController;
  type ReadableByteStreamController = CF.ReadableByteStreamController;
  var ReadableByteStreamController: typeof CF.ReadableByteStreamController;
  type WritableStream<W = any> = CF.WritableStream<W>;
  var WritableStream: typeof CF.WritableStream;
  type WritableStreamDefaultWriter<W = any> = CF.WritableStreamDefaultWriter<W>;
  var WritableStreamDefaultWriter: typeof CF.WritableStreamDefaultWriter;
  type WritableStreamDefaultController = CF.WritableStreamDefaultController;
  var WritableStreamDefaultController: typeof CF.WritableStreamDefaultController;
  type TransformStream<I = any, O = any> = CF.TransformStream<I, O>;
  var TransformStream: typeof CF.TransformStream;
  type TransformStreamDefaultController<O = any> = CF.TransformStreamDefaultController<O>;
  var TransformStreamDefaultController: typeof CF.TransformStreamDefaultController;
  type ByteLengthQueuingStrategy = CF.ByteLengthQueuingStrategy;
  var ByteLengthQueuingStrategy: typeof CF.ByteLengthQueuingStrategy;
  type CountQueuingStrategy = CF.CountQueuingStrategy;
  var CountQueuingStrategy: typeof CF.CountQueuingStrategy;
  type ReadableStreamReadResult<R = any> = CF.ReadableStreamReadResult<R>;
  type StreamPipeOptions = CF.StreamPipeOptions;
  type QueuingStrategy<T = any> = CF.QueuingStrategy<T>;
  type UnderlyingSource<R = any> = CF.UnderlyingSource<R>;
  type UnderlyingSink<W = any> = CF.UnderlyingSink<W>;
  type UnderlyingByteSource = CF.UnderlyingByteSource;
  type Transformer<I = any, O = any> = CF.Transformer<I, O>;
  type ReadableWritablePair<R = any, W = any> = CF.ReadableWritablePair<R, W>;
  type BufferSource = CF.BufferSource;

  type TextEncoder = CF.TextEncoder;
  var TextEncoder: typeof CF.TextEncoder;
  type TextDecoder = CF.TextDecoder;
  var TextDecoder: typeof CF.TextDecoder;
  type TextEncoderStream = CF.TextEncoderStream;
  var TextEncoderStream: typeof CF.TextEncoderStream;
  type TextDecoderStream = CF.TextDecoderStream;
  var TextDecoderStream: typeof CF.TextDecoderStream;
  type TextDecoderDecodeOptions = CF.TextDecoderDecodeOptions;
  type TextDecoderConstructorOptions = CF.TextDecoderConstructorOptions;
  type TextEncoderEncodeIntoResult = CF.TextEncoderEncodeIntoResult;
  type CompressionStream = CF.CompressionStream;
  var CompressionStream: typeof CF.CompressionStream;
  type DecompressionStream = CF.DecompressionStream;
  var DecompressionStream: typeof CF.DecompressionStream;
  function atob(data: string): string;
  function btoa(data: string): string;

  // ---------------------------------------------------------------------------------------------------------------
  // Events, abort, timers

  type Event = CF.Event;
  var Event: typeof CF.Event;
  type EventInit = CF.EventInit;
  type EventTarget<EventMap extends Record<string, CF.Event> = Record<string, CF.Event>> = CF.EventTarget<EventMap>;
  var EventTarget: typeof CF.EventTarget;
  type CustomEvent<T = any> = CF.CustomEvent<T>;
  var CustomEvent: typeof CF.CustomEvent;
  type EventListener<EventType extends CF.Event = CF.Event> = CF.EventListener<EventType>;
  type EventListenerObject<EventType extends CF.Event = CF.Event> = CF.EventListenerObject<EventType>;
  type EventListenerOrEventListenerObject<EventType extends CF.Event = CF.Event> = CF.EventListenerOrEventListenerObject<EventType>;
  type AbortController = CF.AbortController;
  var AbortController: typeof CF.AbortController;
  type AbortSignal = CF.AbortSignal;
  var AbortSignal: typeof CF.AbortSignal;
  type DOMException = CF.DOMException;
  var DOMException: typeof CF.DOMException;
  /** Timers run only while a request (or its waitUntil work) is alive, as in Workers. */
  function setTimeout<Args extends any[]>(callback: (...args: Args) => void, msDelay?: number, ...args: Args): number;
  function clearTimeout(timeoutId: number | null): void;
  function setInterval<Args extends any[]>(callback: (...args: Args) => void, msDelay?: number, ...args: Args): number;
  function clearInterval(timeoutId: number | null): void;
  function queueMicrotask(task: Function): void;
  function structuredClone<T>(value: T, options?: CF.StructuredSerializeOptions): T;

  // ---------------------------------------------------------------------------------------------------------------
  // Crypto, cache, console, performance, navigator, WebAssembly

  type Crypto = CF.Crypto;
  var Crypto: typeof CF.Crypto;
  var crypto: Crypto;
  type SubtleCrypto = CF.SubtleCrypto;
  var SubtleCrypto: typeof CF.SubtleCrypto;
  type CryptoKey = CF.CryptoKey;
  var CryptoKey: typeof CF.CryptoKey;
  type CryptoKeyPair = CF.CryptoKeyPair;
  type JsonWebKey = CF.JsonWebKey;
  type Cache = CF.Cache;
  var Cache: typeof CF.Cache;
  type CacheStorage = CF.CacheStorage;
  var CacheStorage: typeof CF.CacheStorage;
  type CacheQueryOptions = CF.CacheQueryOptions;
  /** `caches.default` and `caches.open(name)`: a cache on this host, shared by its workers' requests. */
  var caches: CacheStorage;
  type Console = CF.Console;
  var console: Console;
  type Performance = CF.Performance;
  var Performance: typeof CF.Performance;
  var performance: Performance;
  type Navigator = CF.Navigator;
  var Navigator: typeof CF.Navigator;
  var navigator: Navigator;
  export import WebAssembly = CF.WebAssembly;
}
