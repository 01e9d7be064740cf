// Bytes crossing into an isolate carry nothing but themselves. isolated-vm copies a value into an isolate as a
// structured clone, and a structured clone of a typed array view copies its whole ArrayBuffer: a view of a larger
// buffer would hand the guest the bytes around it. Node cuts small Buffers (Buffer.from, allocUnsafe, concat) from
// one shared 8-64 KiB pool, so those bytes can be another request's or another tenant's (measured: a 2-byte R2 range
// across two multipart parts came in as a view on 64 KiB of the host's heap, module source text among it). Every
// value the host hands an isolate (entry commands, replies to its calls) goes through exactBytes first.

/** Deeper than any command or reply the protocol has: a structure this deep is left as it is (it holds no bytes). */
const MAX_DEPTH = 64;

/**
 * `value` with every typed array or DataView in it (at any depth of plain objects and arrays) on a buffer of its own
 * that it spans: a view that is not gets a copy of its own bytes. Containers are copied only on the way to a view that
 * was replaced (the caller's objects are never changed); anything else (class instances, WebAssembly modules,
 * isolated-vm handles) is passed as it is.
 */
export function exactBytes<T>(value: T): T {
  return exact(value, 0) as T;
}

function exact(v: unknown, depth: number): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (ArrayBuffer.isView(v)) return ownBuffer(v);
  if (depth >= MAX_DEPTH) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      if (item === null || typeof item !== 'object') continue;
      const fixed = exact(item, depth + 1);
      if (fixed !== item) (out ??= v.slice())[i] = fixed;
    }
    return out ?? v;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return v;
  let out: Record<string, unknown> | null = null;
  const record = v as Record<string, unknown>;
  for (const key in record) {
    const item = record[key];
    if (item === null || typeof item !== 'object') continue;
    const fixed = exact(item, depth + 1);
    if (fixed !== item) (out ??= { ...record })[key] = fixed;
  }
  return out ?? v;
}

function ownBuffer(view: ArrayBufferView): ArrayBufferView {
  const buffer = view.buffer;
  if (view.byteOffset === 0 && view.byteLength === buffer.byteLength) return view;
  const bytes = new Uint8Array(buffer, view.byteOffset, view.byteLength).slice().buffer;
  if (view instanceof DataView) return new DataView(bytes);
  // A Buffer crosses as the Uint8Array it is; other typed arrays keep their type.
  const Ctor = view instanceof Uint8Array ? Uint8Array : (view.constructor as new (b: ArrayBuffer) => ArrayBufferView);
  return new Ctor(bytes);
}
