// D1: `d1_databases` grants databases of the host's SQL store (storage/sql: sql.js in a thread per database, durable
// through the segment log). The one host implementation is the `edge:platform/sql` interface
// (`Database.open(binding)`): components import it, and JS workers' `env.DB` (d1-facade.js, a D1Database) calls the
// same functions. The database lives in the host, never in a tenant's isolate.
import { fileURLToPath } from 'node:url';
import { CapabilityError, type BuiltinCapability, type CapabilityDefinition } from '../capability.ts';
import { d1Section, type D1Grant } from './d1-section.ts';
import type * as Sql from '../generated/interfaces/edge-platform-sql.d.ts';
import { SqlError, type SqlDatabaseHandle, type SqlMeta, type SqlRows, type SqlStatement, type SqlStore, type SqlValue } from '../../../storage/sql/sql-types.ts';

type SqlImpl = typeof Sql;

/** A SqlError as the sql interface's error variant (the message keeps SQLite's words and code). */
function witError(err: unknown): never {
  if (!(err instanceof SqlError)) throw err;
  const text = `${err.message}: ${err.sqliteCode}`;
  return witErrorText(err, text);
}

/** exec()'s errors name the statement that failed, as D1's do. */
function execError(err: unknown): never {
  if (!(err instanceof SqlError) || err.statement === undefined) return witError(err);
  return witErrorText(err, `Error in line ${err.statement}: ${err.message}: ${err.sqliteCode}`);
}

function witErrorText(err: SqlError, text: string): never {
  const payload: Sql.Error = { tag: err.sqlCode, val: text };
  throw new CapabilityError(payload, text);
}

function toStore(v: Sql.Value): SqlValue {
  switch (v.tag) {
    case 'null':
      return null;
    case 'integer':
      return v.val;
    case 'real':
      return v.val;
    case 'text':
      return v.val;
    case 'blob':
      return v.val;
  }
}

function toWit(v: SqlValue): Sql.Value {
  if (v === null) return { tag: 'null' };
  if (typeof v === 'bigint') return { tag: 'integer', val: v };
  if (typeof v === 'number') return { tag: 'real', val: v };
  if (typeof v === 'string') return { tag: 'text', val: v };
  return { tag: 'blob', val: v };
}

const MAX_I64 = 2n ** 63n - 1n;
const MIN_I64 = -(2n ** 63n);

/** A parameter a guest sent as a JS value: one of the sql interface's value kinds, else a clear error. */
function checkParam(p: unknown): void {
  if (p === null || typeof p === 'number' || typeof p === 'string' || p instanceof Uint8Array) return;
  if (typeof p === 'bigint') {
    if (p > MAX_I64 || p < MIN_I64) throw new RangeError(`D1_TYPE_ERROR: ${p} does not fit in a 64-bit INTEGER`);
    return;
  }
  throw new TypeError(`D1_TYPE_ERROR: a parameter of type ${typeof p} is not a SQL value`);
}

function statementOf(s: Sql.Statement): SqlStatement {
  return { sql: s.sql, params: s.params.map(toStore) };
}

function metaOf(m: SqlMeta): Sql.Meta {
  return {
    changes: BigInt(m.changes),
    lastRowId: m.lastRowId,
    rowsRead: BigInt(m.rowsRead),
    rowsWritten: BigInt(m.rowsWritten),
    changedDb: m.changedDb,
    sizeAfter: BigInt(m.sizeAfter),
    durationMs: m.durationMs,
  };
}

function rowsOf(r: SqlRows): Sql.Rows {
  return { columns: r.columns, rows: r.rows.map((row) => row.map(toWit)), meta: metaOf(r.meta) };
}

export function sqlCapability(store: SqlStore): CapabilityDefinition<SqlImpl, D1Grant> {
  return {
    name: 'd1',
    interface: 'edge:platform/sql',
    instantiate(grants) {
      class Database {
        readonly #id: string;
        private constructor(id: string) {
          this.#id = id;
        }

        static open(binding: string): Database {
          const g = grants.get(binding);
          if (!g) throw new CapabilityError({ tag: 'not-granted', val: binding } satisfies Sql.Error, `no D1 database is bound as "${binding}" (d1_databases)`);
          return new Database(g.id);
        }

        /** At once when the database can answer a read now (a component's call then needs no ticket), else later. */
        query(statement: Sql.Statement): Sql.Rows | Promise<Sql.Rows> {
          const db = store.database(this.#id);
          const s = statementOf(statement);
          const now = this.#now(db, s);
          if (now) return rowsOf(now);
          return db.query(s).then(rowsOf, witError);
        }

        queryNow(statement: Sql.Statement): Sql.Rows | undefined {
          const now = this.#now(store.database(this.#id), statementOf(statement));
          return now ? rowsOf(now) : undefined;
        }

        /**
         * For JS workers' D1 facade only (not part of the WIT interface): queryNow with the statement as its text and
         * its parameters as JS values, and the rows as JSON text (SqlDatabaseHandle.queryNowJson), which the facade
         * parses. Undefined when the database cannot answer now (the facade then calls query).
         */
        queryNowJson(sql: unknown, params: unknown): string | undefined {
          if (typeof sql !== 'string' || !Array.isArray(params)) throw new TypeError('queryNowJson takes SQL text and an array of parameters');
          for (const p of params) checkParam(p);
          try {
            return store.database(this.#id).queryNowJson(sql, params as SqlValue[]) ?? undefined;
          } catch (err) {
            return witError(err);
          }
        }

        /** queryNowJson with the parameters as arguments (all primitives: the facade's call of them crosses as they are). */
        queryNowJsonFlat(sql: unknown, ...params: unknown[]): string | undefined {
          return this.queryNowJson(sql, params);
        }

        #now(db: SqlDatabaseHandle, s: SqlStatement): SqlRows | null {
          try {
            return db.queryNow(s);
          } catch (err) {
            return witError(err);
          }
        }

        async batch(statements: Sql.Statement[]): Promise<Sql.Rows[]> {
          return (await store.database(this.#id).batch(statements.map(statementOf)).catch(witError)).map(rowsOf);
        }

        async exec(sql: string): Promise<Sql.ExecResult> {
          const r = await store.database(this.#id).exec(sql).catch(execError);
          return { count: r.count, durationMs: r.durationMs };
        }

        async dump(): Promise<Uint8Array> {
          return store.database(this.#id).dump().catch(witError);
        }

        bookmark(): string {
          return store.database(this.#id).bookmark();
        }
      }
      return { Database } as unknown as SqlImpl;
    },
  };
}

/** The D1 capability: its section, the JS facade, and the interface bound to the host's SQL store. */
export const d1Builtin: BuiltinCapability<D1Grant> = {
  name: 'd1',
  interface: 'edge:platform/sql',
  grant: 'section',
  section: d1Section,
  grantHint: 'its manifest binds no D1 database; add d1_databases = [{ binding = "DB", database_name = "...", database_id = "..." }]',
  unavailable: 'this host was started without a SQL store',
  facade: { module: fileURLToPath(new URL('./d1-facade.js', import.meta.url)) },
  bind(host) {
    const store = host.sql;
    if (!store) return null;
    const def = sqlCapability(store);
    return { instantiate: (grants, ctx) => def.instantiate(grants, ctx) };
  },
};
