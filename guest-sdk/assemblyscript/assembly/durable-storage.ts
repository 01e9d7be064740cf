// @ts-nocheck: AssemblyScript, compiled by asc, not by tsc.
// A Durable Object class written in AssemblyScript: its manifest declares the class (`[[migrations]] new_classes`),
// so `edge build` builds it for world durable-object, and its main exports, next to `fetch`,
//
//   export function objectFetch(id: string, request: Request): Response
//
// which handles the requests stubs send to its objects (from a JS worker's `env.COUNTERS.getByName(...)`, or another
// component's `@edge/guest/durable`), one at a time per object. `storage` is the storage of the object being handled:
// the same data a JS class of the same name has (values are bytes here). Reads see this request's own writes; the
// writes are committed together, atomically, when objectFetch returns, and are durable before its response leaves.
// A trap commits nothing. Values are at most 128 KiB as stored (the bytes and a header of 5-7 bytes); `tryPut` says
// when one is too large, `put` traps. Other failures are logged with their reason and trap.

import { failure } from "./host";
import { utf8Decode, utf8Encode } from "./utf8";

/** A key and its value, as `list` returns them. */
export class StorageEntry {
  constructor(public key: string, public value: Uint8Array) {}
  /** The value as UTF-8 text. */
  get text(): string {
    return utf8Decode(this.value);
  }
}

/** What `list` returns: keys with `prefix`, from `start` (included) to `end` (excluded), in key order or `reverse`, at most `limit` (0: all). */
export class ListOptions {
  prefix: string | null = null;
  start: string | null = null;
  end: string | null = null;
  limit: u32 = 0;
  reverse: bool = false;
}

/** The seam to the platform, implemented by the build's adapter (adapter-durable.ts) on the world's glue. */
export class StorageBackend {
  get(key: string): Uint8Array | null {
    throw new Error("durable-storage is only available to a Durable Object class (objectFetch)");
  }
  /** null when stored, else why not. */
  put(key: string, value: Uint8Array): string | null {
    throw new Error("durable-storage is only available to a Durable Object class (objectFetch)");
  }
  delete(key: string): bool {
    throw new Error("durable-storage is only available to a Durable Object class (objectFetch)");
  }
  list(options: ListOptions): Array<StorageEntry> {
    throw new Error("durable-storage is only available to a Durable Object class (objectFetch)");
  }
  deleteAll(): void {
    throw new Error("durable-storage is only available to a Durable Object class (objectFetch)");
  }
}

let backend: StorageBackend = new StorageBackend();

/** Called once by the build's adapter. */
export function __setStorageBackend(b: StorageBackend): void {
  backend = b;
}

/** The storage of the object whose objectFetch runs. */
export class DurableStorage {
  /** The value of `key`, or null. */
  get(key: string): Uint8Array | null {
    return backend.get(key);
  }

  /** The value of `key` as UTF-8 text, or null. */
  getText(key: string): string | null {
    const v = backend.get(key);
    return v == null ? null : utf8Decode(v);
  }

  /** Stores `value` under `key` (committed when objectFetch returns); traps, after logging why, when it cannot. */
  put(key: string, value: Uint8Array): void {
    const why = backend.put(key, value);
    if (why != null) {
      const e = failure("Durable Object storage put(\"" + key + "\") failed: " + why);
      throw e;
    }
  }

  /** `put` of UTF-8 text. */
  putText(key: string, text: string): void {
    this.put(key, utf8Encode(text));
  }

  /** `put` that returns why the value could not be stored (e.g. "value-too-large: 200000 bytes"), or null when it was. */
  tryPut(key: string, value: Uint8Array): string | null {
    return backend.put(key, value);
  }

  /** Removes `key`; whether it existed. */
  delete(key: string): bool {
    return backend.delete(key);
  }

  /** Keys and values in key order within `options` (all of them without). */
  list(options: ListOptions | null = null): Array<StorageEntry> {
    return backend.list(options == null ? new ListOptions() : options);
  }

  /** Removes every key of the object. */
  deleteAll(): void {
    backend.deleteAll();
  }
}

export const storage = new DurableStorage();
