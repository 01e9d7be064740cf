// @ts-nocheck: AssemblyScript, compiled by asc, not by tsc.
// A small URL and URLSearchParams: the parts of an absolute http(s) URL, and query strings decoded the way
// application/x-www-form-urlencoded is (`+` is a space, %XX are UTF-8 bytes; a malformed escape stays as it is).

import { utf8Decode, utf8Encode } from "./utf8";

function hexValue(c: u8): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function decode(s: string, plusIsSpace: bool): string {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 37 || (plusIsSpace && c == 43)) {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  const bytes = utf8Encode(s);
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b == 43 && plusIsSpace) {
      out[n++] = 32;
    } else if (b == 37 && i + 2 < bytes.length && hexValue(bytes[i + 1]) >= 0 && hexValue(bytes[i + 2]) >= 0) {
      out[n++] = <u8>((hexValue(bytes[i + 1]) << 4) | hexValue(bytes[i + 2]));
      i += 2;
    } else {
      out[n++] = b;
    }
  }
  return utf8Decode(out.subarray(0, n));
}

/** `%XX` escapes decoded (as UTF-8); `+` stays a `+`. Lenient: a malformed escape is kept as it is. */
export function decodeURIComponentLenient(s: string): string {
  return decode(s, false);
}

/** A query string component decoded as a form does it: `+` is a space. */
export function decodeFormComponent(s: string): string {
  return decode(s, true);
}

const HEX = "0123456789ABCDEF";

/** Encodes as application/x-www-form-urlencoded: unreserved bytes kept, space as `+`, the rest `%XX`. */
export function encodeFormComponent(s: string): string {
  const bytes = utf8Encode(s);
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    const unreserved = (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 42 || b == 45 || b == 46 || b == 95;
    if (unreserved) out += String.fromCharCode(b);
    else if (b == 32) out += "+";
    else out += "%" + HEX.charAt(b >> 4) + HEX.charAt(b & 15);
  }
  return out;
}

/** One `name=value` of a query string, decoded. */
export class SearchParam {
  name: string;
  value: string;
  constructor(name: string, value: string) {
    this.name = name;
    this.value = value;
  }
}

export class URLSearchParams {
  private list: Array<SearchParam> = new Array<SearchParam>();

  /** From a query string, with or without the leading `?`. */
  constructor(query: string = "") {
    const q = query.startsWith("?") ? query.substring(1) : query;
    const parts = q.length == 0 ? new Array<string>() : q.split("&");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (part.length == 0) continue;
      const eq = part.indexOf("=");
      if (eq < 0) this.list.push(new SearchParam(decodeFormComponent(part), ""));
      else this.list.push(new SearchParam(decodeFormComponent(part.substring(0, eq)), decodeFormComponent(part.substring(eq + 1))));
    }
  }

  /** The first value of `name`, or `null`. */
  get(name: string): string | null {
    for (let i = 0; i < this.list.length; i++) if (this.list[i].name == name) return this.list[i].value;
    return null;
  }

  getAll(name: string): Array<string> {
    const out = new Array<string>();
    for (let i = 0; i < this.list.length; i++) if (this.list[i].name == name) out.push(this.list[i].value);
    return out;
  }

  has(name: string): bool {
    for (let i = 0; i < this.list.length; i++) if (this.list[i].name == name) return true;
    return false;
  }

  append(name: string, value: string): void {
    this.list.push(new SearchParam(name, value));
  }

  set(name: string, value: string): void {
    const kept = new Array<SearchParam>();
    let done = false;
    for (let i = 0; i < this.list.length; i++) {
      const p = this.list[i];
      if (p.name != name) kept.push(p);
      else if (!done) {
        kept.push(new SearchParam(name, value));
        done = true;
      }
    }
    if (!done) kept.push(new SearchParam(name, value));
    this.list = kept;
  }

  delete(name: string): void {
    const kept = new Array<SearchParam>();
    for (let i = 0; i < this.list.length; i++) if (this.list[i].name != name) kept.push(this.list[i]);
    this.list = kept;
  }

  /** The pairs in order (a copy). */
  entries(): Array<SearchParam> {
    return this.list.slice(0);
  }

  get size(): i32 {
    return this.list.length;
  }

  /** The query string, encoded, without `?`. */
  toString(): string {
    let out = "";
    for (let i = 0; i < this.list.length; i++) {
      if (i > 0) out += "&";
      out += encodeFormComponent(this.list[i].name) + "=" + encodeFormComponent(this.list[i].value);
    }
    return out;
  }
}

/**
 * The parts of a URL as the Web's URL has them (`protocol` "http:", `host` "a.localhost:8787", `pathname` "/x",
 * `search` "?a=1" or "", `hash`). Not a full WHATWG parser: the host hands workers absolute, normalized URLs.
 * A string without `scheme://` is taken as a path with an optional query and fragment.
 */
export class URL {
  readonly href: string;
  protocol: string = "";
  host: string = "";
  hostname: string = "";
  port: string = "";
  pathname: string = "/";
  search: string = "";
  hash: string = "";
  private params: URLSearchParams | null = null;

  constructor(url: string) {
    this.href = url;
    let rest = url;
    const hashAt = rest.indexOf("#");
    if (hashAt >= 0) {
      this.hash = rest.substring(hashAt);
      rest = rest.substring(0, hashAt);
    }
    const queryAt = rest.indexOf("?");
    if (queryAt >= 0) {
      this.search = queryAt + 1 == rest.length ? "" : rest.substring(queryAt);
      rest = rest.substring(0, queryAt);
    }
    const schemeEnd = rest.indexOf("://");
    if (schemeEnd > 0) {
      this.protocol = rest.substring(0, schemeEnd + 1).toLowerCase();
      const afterScheme = rest.substring(schemeEnd + 3);
      const slash = afterScheme.indexOf("/");
      this.host = slash < 0 ? afterScheme : afterScheme.substring(0, slash);
      rest = slash < 0 ? "/" : afterScheme.substring(slash);
      const at = this.host.lastIndexOf("@");
      const hostPort = at >= 0 ? this.host.substring(at + 1) : this.host;
      const colon = hostPort.lastIndexOf(":");
      if (colon >= 0 && hostPort.indexOf("]", colon) < 0) {
        this.hostname = hostPort.substring(0, colon);
        this.port = hostPort.substring(colon + 1);
      } else {
        this.hostname = hostPort;
      }
    }
    this.pathname = rest.length == 0 ? "/" : rest;
  }

  get origin(): string {
    return this.protocol.length == 0 ? "null" : this.protocol + "//" + this.host;
  }

  get searchParams(): URLSearchParams {
    let p = this.params;
    if (p == null) {
      p = new URLSearchParams(this.search);
      this.params = p;
    }
    return p;
  }

  toString(): string {
    return this.href;
  }
}
