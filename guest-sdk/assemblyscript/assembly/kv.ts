// @ts-nocheck: AssemblyScript, compiled by asc, not by tsc.
// Workers KV for AssemblyScript workers: `import { KV } from "@edge/guest/kv"`, then `KV.open("MY_KV")` for a
// namespace the manifest binds in `kv_namespaces`. The same host implementation and rules as JS workers' env.MY_KV.
// Calls are synchronous for the guest (the host answers before the call returns). A failure (a key over 512 bytes,
// a value over 25 MiB, ...) is logged with its reason and traps, ending the request with a 500 that `edge tail` shows.

import { Box, KvNamespace, KvError, KvPutOptions, KvListOptions, KvListResult, KeyInfo } from "./bindings";
import { console } from "./console";
import { utf8Decode, utf8Encode } from "./utf8";

export { KvListResult, KeyInfo };

function describe(e: KvError): string {
  if (e.tag == KvError.NOT_GRANTED) return "no KV namespace is bound as \"" + e.asNotGranted + "\" (kv_namespaces in wrangler.toml)";
  if (e.tag == KvError.KEY_TOO_LONG) return "keys are at most 512 bytes of UTF-8; this one is " + e.asKeyTooLong.toString() + " bytes";
  if (e.tag == KvError.INVALID_KEY) return "invalid key: " + e.asInvalidKey;
  if (e.tag == KvError.VALUE_TOO_LARGE) return "values are at most 25 MiB; this one is " + e.asValueTooLarge.toString() + " bytes";
  if (e.tag == KvError.METADATA_TOO_LARGE) return "metadata is at most 1024 bytes; this is " + e.asMetadataTooLarge.toString() + " bytes";
  if (e.tag == KvError.INVALID_EXPIRATION) return "invalid expiration: " + e.asInvalidExpiration;
  if (e.tag == KvError.INVALID_LIST) return "invalid list: " + e.asInvalidList;
  return "internal: " + e.asInternal;
}

function fail(op: string, e: KvError): void {
  const message = "KV " + op + " failed: " + describe(e);
  console.error(message);
  throw new Error(message);
}

/** A value with its metadata (JSON text, or null). */
export class KvEntry {
  constructor(public value: Uint8Array, public metadata: string | null) {}
  get text(): string {
    return utf8Decode(this.value);
  }
}

/** How long a put lives: `expirationTtl` seconds from now, or until `expiration` (seconds since the epoch); 0 = not set. */
export class KvPut {
  expiration: u64 = 0;
  expirationTtl: u64 = 0;
  /** JSON text stored beside the value (at most 1024 bytes). */
  metadata: string | null = null;
}

export class KV {
  private constructor(private ns: KvNamespace) {}

  /** The namespace bound as `binding` (deploy refuses a component whose manifest binds none, so this holds). */
  static open(binding: string): KV {
    const r = KvNamespace.open(binding);
    if (!r.isOk) fail("open", r.error);
    return new KV(r.value);
  }

  /** The value of `key`, or null when there is none (or it expired). */
  get(key: string): Uint8Array | null {
    const e = this.getWithMetadata(key);
    return e == null ? null : e.value;
  }

  /** The value of `key` as UTF-8 text, or null. */
  getText(key: string): string | null {
    const v = this.get(key);
    return v == null ? null : utf8Decode(v);
  }

  getWithMetadata(key: string): KvEntry | null {
    const r = this.ns.get(key);
    if (!r.isOk) fail("GET", r.error);
    const e = r.value;
    return e == null ? null : new KvEntry(e.value, e.metadata);
  }

  /** Stores `value` under `key`; durable when this returns. */
  put(key: string, value: Uint8Array, options: KvPut | null = null): void {
    const o = options != null ? options : new KvPut();
    const opts = new KvPutOptions(o.expiration > 0 ? new Box<u64>(o.expiration) : null, o.expirationTtl > 0 ? new Box<u64>(o.expirationTtl) : null, o.metadata);
    const r = this.ns.put(key, value, opts);
    if (!r.isOk) fail("PUT", r.error);
  }

  putText(key: string, value: string, options: KvPut | null = null): void {
    this.put(key, utf8Encode(value), options);
  }

  delete(key: string): void {
    const r = this.ns.delete(key);
    if (!r.isOk) fail("DELETE", r.error);
  }

  /** Keys in UTF-8 byte order: up to `limit` (1-1000) from `cursor` (null for the first page). */
  list(prefix: string | null = null, limit: u32 = 1000, cursor: string | null = null): KvListResult {
    const r = this.ns.list(new KvListOptions(prefix, new Box<u32>(limit), cursor));
    if (!r.isOk) fail("LIST", r.error);
    return r.value;
  }

  /** Gives the namespace handle back to the host (AssemblyScript has no finalizers). */
  close(): void {
    this.ns.drop();
  }
}
