// echo-as: answers with what it received, as JSON: method, path, decoded query parameters, headers (in order,
// repeated names kept) and the body as text. `/stream` instead streams the raw body back chunk by chunk.
import { Request, Response, Headers, jsonString } from "@edge/guest";

function pairs(names: Array<string>, values: Array<string>): string {
  let out = "[";
  for (let i = 0; i < names.length; i++) {
    if (i > 0) out += ",";
    out += "[" + jsonString(names[i]) + "," + jsonString(values[i]) + "]";
  }
  return out + "]";
}

function streamBack(request: Request): Response {
  const headers = new Headers();
  headers.set("content-type", request.headers.get("content-type") || "application/octet-stream");
  const writer = Response.begin(200, headers);
  const body = request.body;
  if (body != null) {
    let chunk = body.read();
    while (chunk != null) {
      if (!writer.write(chunk)) break; // the client went away
      chunk = body.read();
    }
  }
  return writer.close();
}

export function fetch(request: Request): Response {
  if (request.path == "/stream") return streamBack(request);

  const params = request.searchParams.entries();
  const names = new Array<string>();
  const values = new Array<string>();
  for (let i = 0; i < params.length; i++) {
    names.push(params[i].name);
    values.push(params[i].value);
  }
  const json =
    "{" +
    "\"method\":" + jsonString(request.method) + "," +
    "\"path\":" + jsonString(request.path) + "," +
    "\"query\":" + pairs(names, values) + "," +
    "\"headers\":" + pairs(request.headers.keys(), request.headers.values()) + "," +
    "\"body\":" + jsonString(request.text()) +
    "}";
  return Response.json(json);
}
