// Child process of the kill test: writes to a KvEngine from many concurrent writers and prints each write once it
// is acknowledged (stdout to a pipe is synchronous on Linux, so a printed line was acknowledged before any kill).
import { valueFor } from './kv-values.ts';
import { KvEngine } from '../kv/kv-engine.ts';

const [dir, roundArg] = process.argv.slice(2);
const round = Number(roundArg);
const WRITERS = 24;

const kv = await KvEngine.open(dir!, { segmentBytes: 256 * 1024, compactAtBytes: 512 * 1024 });
process.stdout.write('READY\n');
await Promise.all(
  Array.from({ length: WRITERS }, async (_, w) => {
    for (let seq = 0; ; seq++) {
      const key = `r${round}-w${w}-${seq}`;
      await kv.put('ns', key, valueFor(key));
      // Churn: the same few keys rewritten over and over, so that compactions run (and get killed) too.
      await Promise.all([0, 1, 2].map((j) => {
        const churn = `churn-w${w}-${j}`;
        return kv.put('ns', churn, valueFor(churn));
      }));
      // The writer's own counter: overwritten in sequence, so after a crash it holds the last acknowledged seq or the next one.
      await kv.put('ns', `last-w${w}`, Buffer.from(`${round}:${seq}`));
      process.stdout.write(`ACK ${key}\n`);
      if (seq % 7 === 3) {
        await kv.delete('ns', key);
        process.stdout.write(`DEL ${key}\n`);
      }
    }
  }),
);
