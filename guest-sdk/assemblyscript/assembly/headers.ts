// @ts-nocheck: AssemblyScript, compiled by asc, not by tsc.
// Headers, as the Fetch standard has them: case-insensitive names (stored lower-case), repeated names kept in order.

/** One header line: `name` is lower-case. */
export class Header {
  name: string;
  value: string;
  constructor(name: string, value: string) {
    this.name = name;
    this.value = value;
  }
}

/** ASCII lower-case; header names are ASCII tokens, and most arrive lower-case already (no copy then). */
export function lowerAscii(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return s.toLowerCase();
  }
  return s;
}

export class Headers {
  private list: Array<Header> = new Array<Header>();

  constructor() {}

  /** Headers from name/value pairs (names are lower-cased). */
  static fromEntries(entries: Array<Header>): Headers {
    const h = new Headers();
    for (let i = 0; i < entries.length; i++) h.append(entries[i].name, entries[i].value);
    return h;
  }

  /** Adds a line, after any others of the same name. */
  append(name: string, value: string): void {
    this.list.push(new Header(lowerAscii(name), value));
  }

  /** Replaces every line of `name` with one line holding `value`, where the first one was. */
  set(name: string, value: string): void {
    const key = lowerAscii(name);
    const kept = new Array<Header>();
    let done = false;
    for (let i = 0; i < this.list.length; i++) {
      const h = this.list[i];
      if (h.name != key) kept.push(h);
      else if (!done) {
        kept.push(new Header(key, value));
        done = true;
      }
    }
    if (!done) kept.push(new Header(key, value));
    this.list = kept;
  }

  delete(name: string): void {
    const key = lowerAscii(name);
    const kept = new Array<Header>();
    for (let i = 0; i < this.list.length; i++) if (this.list[i].name != key) kept.push(this.list[i]);
    this.list = kept;
  }

  /** Every value of `name` joined with ", " (as the Fetch standard does), or `null` when there is none. */
  get(name: string): string | null {
    const key = lowerAscii(name);
    let out: string | null = null;
    for (let i = 0; i < this.list.length; i++) {
      const h = this.list[i];
      if (h.name != key) continue;
      out = out == null ? h.value : out + ", " + h.value;
    }
    return out;
  }

  /** Every value of `name`, one per line, in order (for `set-cookie` and the like). */
  getAll(name: string): Array<string> {
    const key = lowerAscii(name);
    const out = new Array<string>();
    for (let i = 0; i < this.list.length; i++) if (this.list[i].name == key) out.push(this.list[i].value);
    return out;
  }

  getSetCookie(): Array<string> {
    return this.getAll("set-cookie");
  }

  has(name: string): bool {
    const key = lowerAscii(name);
    for (let i = 0; i < this.list.length; i++) if (this.list[i].name == key) return true;
    return false;
  }

  /** The lines in order, repeated names not combined. A copy: changing it does not change the headers. */
  entries(): Array<Header> {
    return this.list.slice(0);
  }

  keys(): Array<string> {
    const out = new Array<string>(this.list.length);
    for (let i = 0; i < this.list.length; i++) out[i] = this.list[i].name;
    return out;
  }

  values(): Array<string> {
    const out = new Array<string>(this.list.length);
    for (let i = 0; i < this.list.length; i++) out[i] = this.list[i].value;
    return out;
  }

  /** Number of lines. */
  get size(): i32 {
    return this.list.length;
  }
}
