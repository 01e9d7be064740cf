// Child process of the kill test for the object store: puts objects (streamed in chunks), replaces and deletes
// some, and prints each acknowledged operation.
import { BlobEngine } from '../blob/blob-engine.ts';
import { valueFor } from './kv-values.ts';

const [dir, roundArg] = process.argv.slice(2);
const round = Number(roundArg);
const r2 = await BlobEngine.open(dir!, { segmentBytes: 64 * 1024, compactAtBytes: 128 * 1024 });
process.stdout.write('READY\n');
async function* chunks(b: Buffer): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += 4096) yield b.subarray(i, i + 4096);
}
await Promise.all(
  Array.from({ length: 8 }, async (_, w) => {
    for (let seq = 0; ; seq++) {
      const key = `r${round}-w${w}-${seq}`;
      await r2.put('bucket', key, chunks(valueFor(key)));
      process.stdout.write(`ACK ${key}\n`);
      // The same key rewritten again and again (replaced files must be freed, the newest must survive).
      await r2.put('bucket', `same-w${w}`, chunks(valueFor(`same-w${w}`)));
      if (seq % 5 === 2) {
        await r2.delete('bucket', [key]);
        process.stdout.write(`DEL ${key}\n`);
      }
    }
  }),
);
