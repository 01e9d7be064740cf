// The atomic counter of examples/do-counter as an AssemblyScript Durable Object class. Each object (one per name)
// handles its requests one at a time, so read, add, write cannot interleave; what a request wrote is committed
// when objectFetch returns, before its response leaves.
//   (object) GET /         {"count":N}
//   (object) POST /?n=5    adds n (default 1): {"count":N}
//   (object) DELETE /      forgets the count
import { Request, Response } from "@edge/guest";
import { storage } from "@edge/guest/durable-storage";

/** The count stored as decimal text (what a JS class reading the same object would get as bytes). */
function count(): i64 {
  const v = storage.getText("count");
  return v == null ? 0 : I64.parseInt(v);
}

function answer(n: i64): Response {
  return Response.json("{\"count\":" + n.toString() + "}");
}

export function objectFetch(id: string, request: Request): Response {
  if (request.method == "GET") return answer(count());
  if (request.method == "POST") {
    const by = request.searchParams.get("n");
    const n = count() + (by == null ? 1 : I64.parseInt(by));
    storage.putText("count", n.toString());
    return answer(n);
  }
  if (request.method == "DELETE") {
    storage.deleteAll();
    return answer(0);
  }
  return Response.json("{\"error\":\"method not allowed\"}", 405);
}

/** Requests to the worker itself: its objects are reached through stubs from another worker (front/). */
export function fetch(request: Request): Response {
  return Response.text("do-counter-as holds Counter objects; reach them through the front worker: GET or POST /counter/<name>\n", 404);
}
