// A file store on R2, as examples/r2-files (same routes, same JSON, same bucket). Bodies stream through in chunks:
// nothing is held whole in the worker.
//   PUT    /files/<key>                          upload (Content-Type and x-meta-* headers are kept) → 201
//   GET    /files/<key>                          download; Range (206), If-None-Match (304), If-Match (412)
//   HEAD   /files/<key>                          metadata only
//   DELETE /files/<key>                          delete → 204
//   GET    /files?prefix=a/&delimiter=/&cursor=  listing: {"objects":[...],"folders":[...],"truncated":..,"cursor":..}
import { Headers, Request, Response, decodeURIComponentLenient, jsonString } from "@edge/guest";
import { R2Bucket, R2Conditions, R2HttpMetadata, R2ListOptions, R2Object, R2PutOptions, R2Range } from "@edge/guest/r2";

export function fetch(request: Request): Response {
  const path = request.path;
  if (path == "/files" || path == "/files/") return list(request);
  if (!path.startsWith("/files/")) return json("{\"error\":\"not found\"}", 404);
  const key = decodeURIComponentLenient(path.substring(7));
  const method = request.method;
  if (method == "PUT") return upload(request, key);
  if (method == "GET" || method == "HEAD") return download(request, key);
  if (method == "DELETE") {
    const bucket = R2Bucket.open("FILES");
    bucket.deleteKey(key);
    bucket.close();
    return Response.empty(204);
  }
  return json("{\"error\":\"method not allowed\"}", 405);
}

function upload(request: Request, key: string): Response {
  const bucket = R2Bucket.open("FILES");
  const options = new R2PutOptions();
  options.httpMetadata = R2HttpMetadata.fromHeaders(request.headers);
  options.customMetadata = metaFrom(request.headers);
  const writer = bucket.beginPut(key, options);
  const body = request.body;
  if (body != null) {
    while (true) {
      const chunk = body.read(64 * 1024);
      if (chunk == null) break;
      writer.write(chunk);
    }
  }
  const object = writer.finish();
  bucket.close();
  return json(describe(object!), 201);
}

function download(request: Request, key: string): Response {
  const bucket = R2Bucket.open("FILES");
  if (request.method == "HEAD") {
    const object = bucket.head(key);
    bucket.close();
    if (object == null) return Response.empty(404);
    return new Response(null, 200, headersFor(object));
  }
  const rangeHeader = request.headers.get("range");
  const range = rangeHeader != null ? R2Range.fromHeader(rangeHeader) : null;
  const ifNoneMatch = request.headers.get("if-none-match");
  const ifMatch = request.headers.get("if-match");
  let onlyIf: R2Conditions | null = null;
  if (ifNoneMatch != null || ifMatch != null) {
    const c = new R2Conditions();
    c.etagDoesNotMatch = ifNoneMatch;
    c.etagMatches = ifMatch;
    onlyIf = c;
  }
  if (range != null && !range.isSuffix) {
    // A range starting past the end is refused by R2 (the JS example answers 400 with the error).
    const head = bucket.head(key);
    if (head != null && (range.offset > head.size || (range.offset == head.size && head.size > 0))) {
      bucket.close();
      return json("{\"error\":" + jsonString("get: range offset " + range.offset.toString() + " is past the end of the " + head.size.toString() + "-byte object") + "}", 400);
    }
  }
  const object = bucket.get(key, range, onlyIf);
  bucket.close();
  if (object == null) return json("{\"error\":" + jsonString("no file " + key) + "}", 404);
  const headers = headersFor(object);
  if (!object.hasBody) return new Response(null, ifNoneMatch != null ? 304 : 412, headers);
  let status: u16 = 200;
  if (object.ranged) {
    const r = object.range;
    const last: u64 = r.offset + <u64>r.length - 1;
    headers.set("content-range", "bytes " + r.offset.toString() + "-" + last.toString() + "/" + object.size.toString());
    status = 206;
  }
  const out = Response.begin(status, headers);
  while (true) {
    const chunk = object.read(64 * 1024);
    if (chunk == null) break;
    if (!out.write(chunk)) {
      object.close();
      break;
    }
  }
  return out.close();
}

function list(request: Request): Response {
  if (request.method != "GET") return json("{\"error\":\"method not allowed\"}", 405);
  const params = request.searchParams;
  const o = new R2ListOptions();
  o.prefix = params.get("prefix");
  o.delimiter = params.get("delimiter");
  o.cursor = params.get("cursor");
  const limit = params.get("limit");
  if (limit != null) o.limit = U32.parseInt(limit);
  o.includeHttpMetadata = true;
  const bucket = R2Bucket.open("FILES");
  const result = bucket.listWith(o);
  bucket.close();
  const objects = new Array<string>(result.objects.length);
  for (let i = 0; i < result.objects.length; i++) objects[i] = describe(result.objects[i]);
  const folders = new Array<string>(result.delimitedPrefixes.length);
  for (let i = 0; i < result.delimitedPrefixes.length; i++) folders[i] = jsonString(result.delimitedPrefixes[i]);
  const cursor = result.cursor;
  return json(
    "{\"objects\":[" + objects.join(",") + "],\"folders\":[" + folders.join(",") + "],\"truncated\":" + (result.truncated ? "true" : "false") +
      ",\"cursor\":" + (cursor != null ? jsonString(cursor) : "null") + "}",
  );
}

/** The JSON of an object, as the JS example's describe(). */
function describe(o: R2Object): string {
  const contentType = o.httpMetadata.contentType;
  return "{\"key\":" + jsonString(o.key) + ",\"size\":" + o.size.toString() + ",\"etag\":" + jsonString(o.etag) + ",\"uploaded\":" + jsonString(o.uploadedIso) +
    ",\"contentType\":" + (contentType != null ? jsonString(contentType) : "null") + "}";
}

function headersFor(o: R2Object): Headers {
  const headers = new Headers();
  o.writeHttpMetadata(headers);
  headers.set("etag", o.httpEtag);
  headers.set("last-modified", new Date(<i64>o.uploaded).toUTCString());
  headers.set("accept-ranges", "bytes");
  const names = o.customMetadata.keys();
  for (let i = 0; i < names.length; i++) headers.set("x-meta-" + names[i], o.customMetadata.get(names[i]));
  return headers;
}

function metaFrom(headers: Headers): Map<string, string> {
  const meta = new Map<string, string>();
  const entries = headers.entries();
  for (let i = 0; i < entries.length; i++) {
    if (entries[i].name.startsWith("x-meta-")) meta.set(entries[i].name.substring(7), entries[i].value);
  }
  return meta;
}

function json(text: string, status: u16 = 200): Response {
  return Response.json(text, status);
}
