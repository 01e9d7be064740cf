// @ts-nocheck: AssemblyScript, compiled by asc, not by tsc.
// UTF-8 conversions between Uint8Array and string (AssemblyScript strings are UTF-16).

export function utf8Encode(text: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(text));
}

export function utf8Decode(bytes: Uint8Array): string {
  if (bytes.length == 0) return "";
  return String.UTF8.decodeUnsafe(bytes.dataStart, <usize>bytes.length);
}
