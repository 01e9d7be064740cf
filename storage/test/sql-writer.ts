// Child process of the SQL kill test: writes to one database of a SqlEngine from many concurrent writers, with tiny
// snapshot thresholds so that snapshots and log compactions run (and get killed) all the time, and prints each
// transaction once it is acknowledged with the random value it stored.
import { SqlEngine } from '../sql/sql-store.ts';

const [dir, roundArg] = process.argv.slice(2);
const round = Number(roundArg);
const WRITERS = 16;

const engine = await SqlEngine.open(dir!, { snapshotBytes: 16 * 1024 });
const db = engine.database('kill');
await db.exec('CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, r INTEGER, pad BLOB); CREATE TABLE IF NOT EXISTS n (w TEXT PRIMARY KEY, c INTEGER)');
process.stdout.write('READY\n');
await Promise.all(
  Array.from({ length: WRITERS }, async (_, w) => {
    for (let seq = 0; ; seq++) {
      const key = `r${round}-w${w}-${seq}`;
      const [ins] = await db.batch([
        { sql: 'INSERT INTO t (k, r, pad) VALUES (?, random(), randomblob(200)) RETURNING CAST(r AS TEXT) AS r', params: [key] },
        { sql: 'INSERT INTO n (w, c) VALUES (?, 1) ON CONFLICT (w) DO UPDATE SET c = c + 1', params: [`w${w}`] },
      ]);
      process.stdout.write(`ACK ${key} ${String(ins!.rows[0]![0])}\n`);
    }
  }),
);
