// @ts-nocheck: AssemblyScript, compiled by asc, not by tsc.
// Byte helpers shared by the SDK's body readers.

/** The chunks one after the other (the single chunk itself when there is one). */
export function concatBytes(chunks: Array<Uint8Array>, total: i32): Uint8Array {
  if (chunks.length == 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < chunks.length; i++) {
    out.set(chunks[i], at);
    at += chunks[i].length;
  }
  return out;
}
