// @ts-nocheck: AssemblyScript, compiled by asc, not by tsc.
// The response a worker returns: a whole body (string or bytes), or a body streamed to the client while the
// worker produces it (`Response.begin` → `ResponseWriter`).

import { Headers } from "./headers";
import { BodySink, failure, host } from "./host";
import { utf8Encode } from "./utf8";

function withDefault(headers: Headers | null, name: string, value: string): Headers {
  const h = headers == null ? new Headers() : headers;
  if (!h.has(name)) h.set(name, value);
  return h;
}

export class Response {
  /** 200-599. */
  status: u16;
  headers: Headers;
  /** `null`: no body. */
  body: Uint8Array | null;
  /** The body was written through a `ResponseWriter`; `body` and `headers` are ignored then. */
  streamed: bool = false;

  /** `new Response("hello")`; `null` for no body. Strings are sent as UTF-8. See also the static constructors. */
  constructor(body: string | null = null, status: u16 = 200, headers: Headers | null = null) {
    this.status = status;
    this.headers = headers == null ? new Headers() : headers;
    this.body = body == null ? null : utf8Encode(body);
  }

  /** `text` as UTF-8, `content-type: text/plain;charset=UTF-8` unless given. */
  static text(text: string, status: u16 = 200, headers: Headers | null = null): Response {
    return new Response(text, status, withDefault(headers, "content-type", "text/plain;charset=UTF-8"));
  }

  /** `json` is JSON text (see `jsonString` for quoting strings); `content-type: application/json` unless given. */
  static json(json: string, status: u16 = 200, headers: Headers | null = null): Response {
    return new Response(json, status, withDefault(headers, "content-type", "application/json"));
  }

  /** `bytes` as they are (no content-type is added). */
  static bytes(bytes: Uint8Array, status: u16 = 200, headers: Headers | null = null): Response {
    const r = new Response(null, status, headers);
    r.body = bytes;
    return r;
  }

  /** A response without a body (204 unless given). */
  static empty(status: u16 = 204, headers: Headers | null = null): Response {
    return new Response(null, status, headers);
  }

  static redirect(location: string, status: u16 = 302): Response {
    const h = new Headers();
    h.set("location", location);
    return new Response(null, status, h);
  }

  /**
   * Sends `status` and `headers` to the client now and returns the writer for the body; return `writer.close()`
   * from the handler. Use it for bodies produced piece by piece (or too large to hold whole).
   */
  static begin(status: u16 = 200, headers: Headers | null = null): ResponseWriter {
    if (active != null) {
      const error = failure("Response.begin called twice in one request");
      throw error;
    }
    const h = headers == null ? new Headers() : headers;
    const entries = h.entries();
    const names = new Array<string>(entries.length);
    const values = new Array<string>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      names[i] = entries[i].name;
      values[i] = entries[i].value;
    }
    const writer = new ResponseWriter(status, h, host().beginResponse(status, names, values));
    active = writer;
    return writer;
  }

  /**
   * `Response.begin(status, headers)`, then `produce(writer)`, then `writer.close()`. `produce` cannot capture
   * local variables (AssemblyScript closures do not); use `begin` when it needs them.
   */
  static stream(status: u16, headers: Headers | null, produce: (writer: ResponseWriter) => void): Response {
    const writer = Response.begin(status, headers);
    produce(writer);
    return writer.close();
  }

  /** A streamed response: what `ResponseWriter.close` returns. */
  static __streamed(status: u16, headers: Headers): Response {
    const r = new Response(null, status, headers);
    r.streamed = true;
    return r;
  }
}

let active: ResponseWriter | null = null;

/** Called by the build's adapter after the handler: ends a body left open. `true` when one was begun. */
export function __endStreaming(): bool {
  const writer = active;
  if (writer == null) return false;
  writer.close();
  active = null;
  return true;
}

/** A response body being streamed to the client (`outgoing-body`). */
export class ResponseWriter {
  readonly status: u16;
  readonly headers: Headers;
  private sink: BodySink | null;
  private gone: bool = false;

  constructor(status: u16, headers: Headers, sink: BodySink) {
    this.status = status;
    this.headers = headers;
    this.sink = sink;
  }

  /** Sends `chunk` now. `false` when the client has gone away (later writes do nothing) or the body is closed. */
  write(chunk: Uint8Array): bool {
    const sink = this.sink;
    if (sink == null || this.gone) return false;
    if (chunk.length == 0) return true;
    if (!sink.write(chunk)) this.gone = true;
    return !this.gone;
  }

  /** Sends `text` as UTF-8. */
  writeText(text: string): bool {
    return this.write(utf8Encode(text));
  }

  /** Whether the client went away while writing. */
  get clientGone(): bool {
    return this.gone;
  }

  /** Ends the body; return the result from the handler. */
  close(): Response {
    const sink = this.sink;
    if (sink != null) {
      this.sink = null;
      sink.close();
    }
    return Response.__streamed(this.status, this.headers);
  }
}
