// The bytes the kill test writes under each key: derived from the key, so a reader can check them.
import { createHash } from 'node:crypto';

/** The value of a key: its length and bytes follow from the key, so a reader can check it without the writer. */
export function valueFor(key: string): Buffer {
  const seed = createHash('sha256').update(key).digest();
  const len = 1 + (seed.readUInt32LE(0) % 20_000);
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i += 32) createHash('sha256').update(seed).update(String(i)).digest().copy(out, i);
  return out;
}
