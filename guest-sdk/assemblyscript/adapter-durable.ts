// @ts-nocheck: AssemblyScript, compiled by asc, not by tsc.
// The build's adapter for a Durable Object class (world durable-object). buildWorker copies it into the build
// directory as `handler.ts` and adapter.ts as `worker-handler.ts`: the glue's incoming-handler export goes to
// adapter.ts (the worker's `fetch`), its durable-handler export here (the worker's `objectFetch(id, request)`), and
// @edge/guest/durable-storage gets its backend on the glue's durable-storage imports (`platform.ts` names them).

import { ObjectRequest, Response as WitResponse, ResponseBody, TupleStringString, DurableStorageError, DurableStorageListOptions, Box } from "./glue-types";
import { storageGet, storagePut, storageDelete, storageList, storageDeleteAll } from "./platform";
import { Headers, Request, Response } from "@edge/guest";
import { BodySource, failure } from "@edge/guest/host";
import { ListOptions, StorageBackend, StorageEntry, __setStorageBackend } from "@edge/guest/durable-storage";
import { objectFetch } from "./user-entry";

export { handle as incomingHandler_handle } from "./worker-handler";

function describe(e: DurableStorageError): string {
  if (e.tag == DurableStorageError.VALUE_TOO_LARGE) return "value-too-large: " + e.asValueTooLarge.toString() + " bytes (values are at most 128 KiB as stored)";
  return "internal: " + e.asInternal;
}

function fail(op: string, e: DurableStorageError): void {
  const error = failure("Durable Object storage " + op + " failed: " + describe(e));
  throw error;
}

class WitStorage extends StorageBackend {
  get(key: string): Uint8Array | null {
    const r = storageGet(key);
    if (!r.isOk) fail("get(\"" + key + "\")", r.error);
    return r.value;
  }
  put(key: string, value: Uint8Array): string | null {
    const r = storagePut(key, value);
    return r.isOk ? null : describe(r.error);
  }
  delete(key: string): bool {
    const r = storageDelete(key);
    if (!r.isOk) fail("delete(\"" + key + "\")", r.error);
    return r.value;
  }
  list(o: ListOptions): Array<StorageEntry> {
    const r = storageList(new DurableStorageListOptions(o.prefix, o.start, o.end, o.limit == 0 ? null : new Box<u32>(o.limit), o.reverse));
    if (!r.isOk) fail("list", r.error);
    const pairs = r.value;
    const out = new Array<StorageEntry>(pairs.length);
    for (let i = 0; i < pairs.length; i++) out[i] = new StorageEntry(pairs[i].f0, pairs[i].f1);
    return out;
  }
  deleteAll(): void {
    const r = storageDeleteAll();
    if (!r.isOk) fail("deleteAll", r.error);
  }
}

__setStorageBackend(new WitStorage());

/** The request's body, whole, read once. */
class WholeBody extends BodySource {
  private bytes: Uint8Array | null;
  constructor(bytes: Uint8Array) {
    super();
    this.bytes = bytes;
  }
  read(max: u32): Uint8Array | null {
    const b = this.bytes;
    if (b == null) return null;
    if (<u32>b.length <= max) {
      this.bytes = null;
      return b;
    }
    this.bytes = b.subarray(max);
    return b.subarray(0, max);
  }
}

export function durableHandler_handle(id: string, request: ObjectRequest): WitResponse {
  const headers = new Headers();
  const wh = request.headers;
  for (let i = 0; i < wh.length; i++) headers.append(wh[i].f0, wh[i].f1);
  const req = new Request(request.method, request.url, headers, request.body.length == 0 ? null : new WholeBody(request.body));
  const res: Response = objectFetch(id, req);
  req.__close();
  if (res.streamed) {
    const error = failure("objectFetch must return its response whole: Response.begin is not available to Durable Objects");
    throw error;
  }
  const entries = res.headers.entries();
  const out = new Array<TupleStringString>(entries.length);
  for (let i = 0; i < entries.length; i++) out[i] = new TupleStringString(entries[i].name, entries[i].value);
  const bytes = res.body;
  return new WitResponse(res.status, out, bytes == null ? ResponseBody.empty() : ResponseBody.bytes(bytes));
}
