// @ts-nocheck: AssemblyScript, compiled by asc, not by tsc.
// Durable Objects for AssemblyScript workers: `import { DurableObjectNamespace } from "@edge/guest/durable"`, then
// `DurableObjectNamespace.open("COUNTERS")` for a namespace the manifest binds in `[[durable_objects.bindings]]`
// (its class is a JS class exported by this worker's manifest's `script_name` worker). Ids are made as JS workers'
// `env.COUNTERS.idFromName(...)` makes them (the same name gives the same object); `stub.fetch(...)` sends the object a
// request and waits for its response, whole. Calls are synchronous for the guest. A failure (an id of another class,
// the object failing) is logged with its reason and traps, ending the request with a 500 that `edge tail` shows.

import { DurableNamespace, DurableError, ObjectRequest, ResponseBody, TupleStringString } from "./bindings";
import { console } from "./console";
import { Headers } from "./headers";
import { Response } from "./response";
import { utf8Encode } from "./utf8";

function describe(e: DurableError): string {
  if (e.tag == DurableError.NOT_GRANTED) return "no Durable Object namespace is bound as \"" + e.asNotGranted + "\" ([[durable_objects.bindings]] in wrangler.toml)";
  if (e.tag == DurableError.INVALID_ID) return "not an id of this namespace: " + e.asInvalidId;
  if (e.tag == DurableError.OBJECT_FAILED) return "the object failed: " + e.asObjectFailed;
  return "internal: " + e.asInternal;
}

function fail(op: string, e: DurableError): void {
  const message = "Durable Object " + op + " failed: " + describe(e);
  console.error(message);
  throw new Error(message);
}

/** A stub: the object with this id, reached by `fetch`. */
export class DurableObjectStub {
  constructor(private ns: DurableNamespace, readonly id: string) {}

  /** Sends the object a request (`url` is what its fetch handler sees) and returns its response. */
  fetch(url: string, method: string = "GET", body: Uint8Array | null = null, headers: Headers | null = null): Response {
    const list = new Array<TupleStringString>();
    if (headers != null) {
      const entries = headers.entries();
      for (let i = 0; i < entries.length; i++) list.push(new TupleStringString(entries[i].name, entries[i].value));
    }
    const r = this.ns.fetch(this.id, new ObjectRequest(method, url, list, body == null ? new Uint8Array(0) : body));
    if (!r.isOk) fail("fetch " + url, r.error);
    const res = r.value;
    const h = new Headers();
    for (let i = 0; i < res.headers.length; i++) h.append(res.headers[i].f0, res.headers[i].f1);
    const bytes = res.body.tag == ResponseBody.BYTES ? res.body.asBytes : new Uint8Array(0);
    return Response.bytes(bytes, res.status, h);
  }

  /** `fetch` with a text body. */
  fetchText(url: string, method: string, text: string): Response {
    return this.fetch(url, method, utf8Encode(text));
  }
}

export class DurableObjectNamespace {
  private constructor(private ns: DurableNamespace) {}

  /** The namespace bound as `binding` (deploy refuses a component whose manifest binds none). */
  static open(binding: string): DurableObjectNamespace {
    const r = DurableNamespace.open(binding);
    if (!r.isOk) fail("open", r.error);
    return new DurableObjectNamespace(r.value);
  }

  /** The id of the object named `name`: the same name always gives the same object. */
  idFromName(name: string): string {
    return this.ns.idFromName(name);
  }

  /** A new object's id. */
  newUniqueId(): string {
    return this.ns.newUniqueId();
  }

  /** `id` (64 hex digits) checked to belong to this namespace; traps when it does not. */
  idFromString(id: string): string {
    const r = this.ns.idFromString(id);
    if (!r.isOk) fail("idFromString", r.error);
    return r.value;
  }

  get(id: string): DurableObjectStub {
    return new DurableObjectStub(this.ns, this.idFromString(id));
  }

  getByName(name: string): DurableObjectStub {
    return new DurableObjectStub(this.ns, this.idFromName(name));
  }
}
