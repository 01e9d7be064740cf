// Named counters in KV, as examples/kv-counter-js (same routes, same JSON, same namespace):
//   GET / · GET /<name> · POST /<name> · DELETE /<name>
import { Request, Response, jsonString } from "@edge/guest";
import { KV, KvPut } from "@edge/guest/kv";

const PREFIX = "counter:";

function validName(name: string): bool {
  if (name.length < 1 || name.length > 64) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 95 || c == 45;
    if (!ok) return false;
  }
  return true;
}

function counter(name: string, count: i64): string {
  return "{\"name\":" + jsonString(name) + ",\"count\":" + count.toString() + "}";
}

/** The count in metadata `{"count":N}` (written by both examples), 0 when absent. */
function countOf(metadata: string | null): i64 {
  if (metadata == null) return 0;
  const at = metadata.indexOf("\"count\":");
  if (at < 0) return 0;
  let n: i64 = 0;
  for (let i = at + 8; i < metadata.length; i++) {
    const c = metadata.charCodeAt(i);
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  return n;
}

export function fetch(request: Request): Response {
  const kv = KV.open("COUNTERS");
  const path = request.path;
  const name = path.length > 1 ? path.substring(1) : "";
  let res: Response;
  if (name == "") {
    if (request.method != "GET") res = Response.json("{\"error\":\"method not allowed\"}", 405);
    else {
      const parts = new Array<string>();
      let cursor: string | null = null;
      do {
        const page = kv.list(PREFIX, 1000, cursor);
        for (let i = 0; i < page.keys.length; i++) {
          const k = page.keys[i];
          parts.push(counter(k.name.substring(PREFIX.length), countOf(k.metadata)));
        }
        cursor = page.listComplete ? null : page.cursor;
      } while (cursor != null);
      res = Response.json("{\"counters\":[" + parts.join(",") + "]}");
    }
  } else if (!validName(name)) {
    res = Response.json("{\"error\":\"a counter name is 1-64 characters of a-z, 0-9, _ and -\"}", 400);
  } else {
    const key = PREFIX + name;
    if (request.method == "GET") {
      const v = kv.getText(key);
      res = Response.json(counter(name, v == null ? 0 : I64.parseInt(v)));
    } else if (request.method == "POST") {
      const v = kv.getText(key);
      const count: i64 = (v == null ? 0 : I64.parseInt(v)) + 1;
      const options = new KvPut();
      options.metadata = "{\"count\":" + count.toString() + "}";
      kv.putText(key, count.toString(), options);
      res = Response.json(counter(name, count));
    } else if (request.method == "DELETE") {
      kv.delete(key);
      res = Response.json(counter(name, 0));
    } else {
      res = Response.json("{\"error\":\"method not allowed\"}", 405);
    }
  }
  kv.close();
  return res;
}
