// The D1 benchmark's table and statements (bench/d1.ts), shared by every side it is measured on: a worker over
// HTTP (env.DB), sql.js behind a plain Fastify route (bench/fastify-sqljs.ts), sql.js in the bench process and the
// SQL store's engine (storage/sql SqlEngine) called directly. Every side holds the same 10,000 rows.
import initSqlJs, { type Database } from 'sql.js';

/** Rows seeded; point reads pick an id in 1..ROWS. */
export const ROWS = 10_000;

/** The schema and the seed, as one exec() (D1 runs it in one transaction): ids 1..ROWS, 'item-<id>', id × 7. */
export const SEED_SQL = [
  'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, value INTEGER NOT NULL);',
  `INSERT INTO items (id, name, value) WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${ROWS}) SELECT i, 'item-' || i, i * 7 FROM s;`,
].join('\n');

export const READ_SQL = 'SELECT * FROM items WHERE id = ?';
export const INSERT_SQL = 'INSERT INTO items (name, value) VALUES (?, ?)';

/** A random id among the seeded rows. */
export function randomId(): number {
  return 1 + Math.floor(Math.random() * ROWS);
}

/** The row a point read of `id` returns, as every side answers it (JSON of the row object). */
export function expectedRow(id: number): { id: number; name: string; value: number } {
  return { id, name: `item-${id}`, value: id * 7 };
}

/** An in-memory sql.js database (the sql.js build the SQL store runs) holding the seeded table. */
export async function openSeededSqlJs(): Promise<Database> {
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  db.run(SEED_SQL);
  return db;
}
