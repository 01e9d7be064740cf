// The top-level fields of a JSON object, as a request body carries them (`{"title":"milk","done":true}`): strings
// decoded, booleans, null and numbers read; nested objects and arrays checked and skipped. The whole text must be
// valid JSON, else `parseJsonObject` returns null. Just what the todo API reads; not a JSON library.
import { parseJsonString } from "@edge/guest";

export enum JsonKind { Null, Bool, Number, String, Object, Array }

export class JsonField {
  constructor(public kind: JsonKind, public text: string, public isTrue: bool = false) {}
}

class Reader {
  at: i32 = 0;
  ok: bool = true;
  constructor(public s: string) {}

  space(): void {
    while (this.at < this.s.length) {
      const c = this.s.charCodeAt(this.at);
      if (c != 32 && c != 9 && c != 10 && c != 13) break;
      this.at++;
    }
  }

  peek(): i32 {
    this.space();
    return this.at < this.s.length ? this.s.charCodeAt(this.at) : -1;
  }

  expect(c: i32): void {
    if (this.peek() != c) this.ok = false;
    else this.at++;
  }

  literal(word: string): void {
    if (this.s.substr(this.at, word.length) == word) this.at += word.length;
    else this.ok = false;
  }

  /** A string token, decoded; "" (and ok = false) when it is not one. */
  string(): string {
    if (this.peek() != 34) {
      this.ok = false;
      return "";
    }
    const start = this.at;
    this.at++;
    while (this.at < this.s.length) {
      const c = this.s.charCodeAt(this.at);
      if (c == 92) this.at += 2;
      else if (c == 34) break;
      else this.at++;
    }
    if (this.at >= this.s.length) {
      this.ok = false;
      return "";
    }
    this.at++;
    const v = parseJsonString(this.s.substring(start, this.at));
    if (v == null) {
      this.ok = false;
      return "";
    }
    return v;
  }

  number(): string {
    const start = this.at;
    if (this.s.charCodeAt(this.at) == 45) this.at++;
    let digits = 0;
    while (this.at < this.s.length) {
      const c = this.s.charCodeAt(this.at);
      if ((c >= 48 && c <= 57) || c == 46 || c == 101 || c == 69 || c == 43 || c == 45) {
        if (c >= 48 && c <= 57) digits++;
        this.at++;
      } else break;
    }
    const text = this.s.substring(start, this.at);
    if (digits == 0 || isNaN(F64.parseFloat(text))) this.ok = false;
    return text;
  }

  value(depth: i32): JsonField {
    const c = this.peek();
    if (depth > 64) this.ok = false;
    if (!this.ok) return new JsonField(JsonKind.Null, "");
    if (c == 34) return new JsonField(JsonKind.String, this.string());
    if (c == 116) {
      this.literal("true");
      return new JsonField(JsonKind.Bool, "true", true);
    }
    if (c == 102) {
      this.literal("false");
      return new JsonField(JsonKind.Bool, "false", false);
    }
    if (c == 110) {
      this.literal("null");
      return new JsonField(JsonKind.Null, "null");
    }
    if (c == 123) {
      this.object(depth + 1, null);
      return new JsonField(JsonKind.Object, "");
    }
    if (c == 91) {
      this.at++;
      if (this.peek() == 93) this.at++;
      else {
        while (this.ok) {
          this.value(depth + 1);
          if (this.peek() == 44) this.at++;
          else break;
        }
        this.expect(93);
      }
      return new JsonField(JsonKind.Array, "");
    }
    if (c == 45 || (c >= 48 && c <= 57)) return new JsonField(JsonKind.Number, this.number());
    this.ok = false;
    return new JsonField(JsonKind.Null, "");
  }

  object(depth: i32, into: Map<string, JsonField> | null): void {
    this.expect(123);
    if (this.peek() == 125) {
      this.at++;
      return;
    }
    while (this.ok) {
      const name = this.string();
      this.expect(58);
      const v = this.value(depth);
      if (into != null) into.set(name, v);
      if (this.peek() == 44) this.at++;
      else break;
    }
    this.expect(125);
  }
}

/** The fields of the JSON object `text` (a later duplicate name wins, as in JSON.parse), or null when it is not one. */
export function parseJsonObject(text: string): Map<string, JsonField> | null {
  const r = new Reader(text);
  const fields = new Map<string, JsonField>();
  if (r.peek() != 123) return null;
  r.object(0, fields);
  if (!r.ok || r.peek() != -1) return null;
  return fields;
}
