// geo-as: which region an IPv4 address is in, from the host's `geo` capability; the same answers as ../js-worker.
//   GET /?ip=192.0.2.10   → {"ip":"192.0.2.10","region":"eu-west"}
//   GET /                 → the region of the caller's own address (cf-connecting-ip)
//
// `Table` and `LookupError` are the glue the build generates from capability/geo.wit (guest-sdk/bindgen) when the
// host config (the nearest edge.config.ts, or --config) names the capability, exported by "@edge/guest/bindings": the
// resource `table` becomes the class `Table` (static `open`, method `region`, `drop()`), and the variant `error`
// becomes `LookupError` (prefixed with its interface's name, since the platform's interfaces have an `error` too).
// Results are classes named after their payloads, read with `isOk`, `value` and `error`.
import { Request, Response, jsonString } from "@edge/guest";
import { Table, LookupError } from "@edge/guest/bindings";

function describe(e: LookupError): string {
  if (e.tag == LookupError.NOT_GRANTED) return "not-granted: " + e.asNotGranted;
  return "invalid-address: " + e.asInvalidAddress;
}

export function fetch(request: Request): Response {
  let ip = request.searchParams.get("ip");
  if (ip == null) ip = request.headers.get("cf-connecting-ip");
  const address = ip != null ? ip : "";

  const opened = Table.open("GEO");
  if (!opened.isOk) {
    // Only when wrangler.toml grants no "GEO": deploy would then have refused the component already.
    return Response.json("{\"error\":" + jsonString(describe(opened.error)) + "}", 500);
  }
  const table = opened.value;
  const found = table.region(address);
  // AssemblyScript has no finalizers: give the handle back to the host explicitly.
  table.drop();

  if (!found.isOk) {
    return Response.json("{\"ip\":" + jsonString(address) + ",\"error\":" + jsonString(describe(found.error)) + "}", 400);
  }
  const region = found.value;
  return Response.json("{\"ip\":" + jsonString(address) + ",\"region\":" + (region != null ? jsonString(region) : "null") + "}");
}
