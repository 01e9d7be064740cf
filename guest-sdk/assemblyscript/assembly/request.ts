// @ts-nocheck: AssemblyScript, compiled by asc, not by tsc.
// The request a worker handles: method, URL, headers and a body read from the host in chunks.

import { concatBytes } from "./bytes";
import { Headers } from "./headers";
import { BodySource } from "./host";
import { URL, URLSearchParams } from "./url";
import { utf8Decode } from "./utf8";

/** Default chunk size of body reads. */
export const BODY_CHUNK: u32 = 64 * 1024;

/** The body of a request, read from the host in chunks as they are asked for. */
export class BodyReader {
  private source: BodySource | null;
  private ended: bool = false;

  constructor(source: BodySource) {
    this.source = source;
  }

  /** At most `max` bytes, or `null` once the body has ended. A failure (client gone, ...) traps after logging. */
  read(max: u32 = BODY_CHUNK): Uint8Array | null {
    const source = this.source;
    if (this.ended || source == null) return null;
    const chunk = source.read(max);
    if (chunk == null) this.close();
    return chunk;
  }

  /** The rest of the body, read to its end. */
  readAll(): Uint8Array {
    const chunks = new Array<Uint8Array>();
    let total = 0;
    while (true) {
      const next = this.read(BODY_CHUNK);
      if (next == null) break;
      const chunk = next;
      if (chunk.length == 0) continue;
      chunks.push(chunk);
      total += chunk.length;
    }
    return concatBytes(chunks, total);
  }

  /** Gives the body back to the host; reads then return `null`. */
  close(): void {
    this.ended = true;
    const source = this.source;
    if (source != null) {
      this.source = null;
      source.close();
    }
  }
}

export class Request {
  /** `GET`, `POST`, ... */
  readonly method: string;
  /** The absolute URL, e.g. `http://hello.localhost:8787/path?query`. */
  readonly url: string;
  readonly headers: Headers;
  /** `null` for a request without a body. */
  readonly body: BodyReader | null;
  private whole: Uint8Array | null = null;
  private parsed: URL | null = null;

  constructor(method: string, url: string, headers: Headers | null = null, body: BodySource | null = null) {
    this.method = method;
    this.url = url;
    this.headers = headers == null ? new Headers() : headers;
    this.body = body == null ? null : new BodyReader(body);
  }

  /** The URL, parsed. */
  get parsedUrl(): URL {
    let u = this.parsed;
    if (u == null) {
      u = new URL(this.url);
      this.parsed = u;
    }
    return u;
  }

  /** The path of the URL, e.g. `/users/42` (percent-escapes kept, as URL's `pathname`). */
  get path(): string {
    return this.parsedUrl.pathname;
  }

  /** The query string with its `?`, or "" (as URL's `search`). */
  get search(): string {
    return this.parsedUrl.search;
  }

  /** The query parameters, decoded. */
  get searchParams(): URLSearchParams {
    return this.parsedUrl.searchParams;
  }

  /** The whole body (empty without one). Reads it to the end the first time; later calls return the same bytes. */
  bytes(): Uint8Array {
    let whole = this.whole;
    if (whole == null) {
      const body = this.body;
      whole = body == null ? new Uint8Array(0) : body.readAll();
      this.whole = whole;
    }
    return whole!;
  }

  /** The whole body as UTF-8 text. */
  text(): string {
    return utf8Decode(this.bytes());
  }

  /** Called by the build's adapter once the handler has returned: gives an unread body back to the host. */
  __close(): void {
    const body = this.body;
    if (body != null) body.close();
  }
}
