// The admin API's D1 routes: a host's SQL databases queried, changed and exported from outside any worker (what
// `edge d1` uses: execute, migrations, export). JSON in and out; see sqlParam and jsonValue for how values travel.
import type { FastifyError, FastifyPluginAsync, FastifyReply } from 'fastify';
import { EdgeError } from '../core/errors.ts';
import { SQL_DATABASE_ID_RE, SqlError, type SqlMeta, type SqlRows, type SqlStore, type SqlValue } from '../../storage/sql/sql-types.ts';
import { dumpSql, SqlDumpError } from '../../storage/sql/sql-dump.ts';

export interface AdminD1Deps {
  sql: SqlStore;
}

/** A parameter as JSON gives it: a number, a string, null, a boolean (1/0), or an array of byte values (a BLOB). */
export type D1JsonParam = number | string | boolean | null | number[];
/** A value as the routes answer it: INTEGER as a number (a string past 2^53), REAL a number, BLOB an array of bytes. */
export type D1JsonValue = number | string | null | number[];

export interface D1JsonMeta {
  changes: number;
  /** A string past 2^53, as INTEGER values. */
  lastRowId: number | string;
  rowsRead: number;
  rowsWritten: number;
  changedDb: boolean;
  sizeAfter: number;
  durationMs: number;
}

/** One statement's answer: the columns in order (names may repeat), the rows as arrays, and D1's meta. */
export interface D1JsonRows {
  columns: string[];
  rows: D1JsonValue[][];
  meta: D1JsonMeta;
}

/** An error of these routes, answered as `{ error: { code, message, details } }` like the rest of the admin API. */
class D1RouteError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: string, message: string, status: number, details?: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

/**
 * A JSON parameter as a SQLite value, with D1's conversions: an integral number (within 2^53) binds as INTEGER,
 * any other number as REAL, a boolean as 1/0, an array of byte values as a BLOB.
 */
export function sqlParam(v: unknown, where: string): SqlValue {
  if (v === null || typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'number') return Number.isSafeInteger(v) && !Object.is(v, -0) ? BigInt(v) : v;
  if (Array.isArray(v) && v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return Uint8Array.from(v as number[]);
  throw new D1RouteError('E_REQUEST_INVALID', `${where} must be a number, a string, null, a boolean or an array of byte values (a BLOB), got ${JSON.stringify(v)}`, 400);
}

/** A SQLite value as JSON: bigints that a JSON number cannot hold exactly become strings. */
export function jsonValue(v: SqlValue): D1JsonValue {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return Array.from(v);
  return v;
}

function jsonMeta(m: SqlMeta): D1JsonMeta {
  return { changes: m.changes, lastRowId: jsonValue(m.lastRowId) as number | string, rowsRead: m.rowsRead, rowsWritten: m.rowsWritten, changedDb: m.changedDb, sizeAfter: m.sizeAfter, durationMs: m.durationMs };
}

function jsonRows(r: SqlRows): D1JsonRows {
  return { columns: r.columns, rows: r.rows.map((row) => row.map(jsonValue)), meta: jsonMeta(r.meta) };
}

function paramsOf(params: unknown[] | undefined, where: string): SqlValue[] {
  return (params ?? []).map((p, i) => sqlParam(p, `${where}params[${i}]`));
}

/** `?no-data`, `?no-data=1`, `?no-data=true`: on; absent, `=0` or `=false`: off. */
function flag(v: string | undefined): boolean {
  return v !== undefined && v !== '0' && v.toLowerCase() !== 'false';
}

function sendError(reply: FastifyReply, status: number, code: string, message: string, details?: Record<string, unknown>): FastifyReply {
  return reply.code(status).send({ error: { code, message, ...(details ? { details } : {}) } });
}

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', pattern: SQL_DATABASE_ID_RE.source } },
  required: ['id'],
};
// Any JSON value here, checked by sqlParam: Fastify's validator coerces types, so a schema of alternatives (anyOf) would
// turn the string "5" into the number 5, and a list of types is refused by its strict mode.
const paramSchema = {};
const statementSchema = {
  type: 'object',
  required: ['sql'],
  additionalProperties: false,
  properties: { sql: { type: 'string', minLength: 1 }, params: { type: 'array', items: paramSchema } },
};
const metaSchema = {
  type: 'object',
  properties: {
    changes: { type: 'number' },
    lastRowId: { type: ['number', 'string'] },
    rowsRead: { type: 'number' },
    rowsWritten: { type: 'number' },
    changedDb: { type: 'boolean' },
    sizeAfter: { type: 'number' },
    durationMs: { type: 'number' },
  },
};
// Rows hold numbers, strings, null and byte arrays side by side: `{}` lets each value through as it is.
const rowsSchema = {
  type: 'object',
  properties: { columns: { type: 'array', items: { type: 'string' } }, rows: { type: 'array', items: { type: 'array', items: {} } }, meta: metaSchema },
};

export function adminD1Routes(deps: AdminD1Deps): FastifyPluginAsync {
  return async (app) => {
    app.setErrorHandler((err: FastifyError | Error, req, reply) => {
      const database = (req.params as Record<string, string> | undefined)?.['id'];
      const where = database !== undefined ? { database } : {};
      if (err instanceof D1RouteError) return sendError(reply, err.status, err.code, err.message, { ...where, ...err.details });
      if (err instanceof SqlError) {
        if (err.sqlCode === 'internal') return sendError(reply, 500, 'E_INTERNAL', `D1: ${err.message}: ${err.sqliteCode}`, where);
        return sendError(reply, 400, 'E_D1_SQL', `${err.message}: ${err.sqliteCode}`, {
          ...where,
          sqlCode: err.sqlCode,
          sqliteCode: err.sqliteCode,
          ...(err.statement !== undefined ? { statement: err.statement } : {}),
        });
      }
      if (err instanceof SqlDumpError) return sendError(reply, err.reason === 'changing' ? 409 : 400, 'E_D1_EXPORT', err.message, { ...where, reason: err.reason });
      if (err instanceof EdgeError) return reply.code(err.status).send({ error: err.toJSON() });
      if ((err as FastifyError).validation) return sendError(reply, 400, 'E_REQUEST_INVALID', `Invalid request: ${err.message}`, where);
      const status = (err as FastifyError).statusCode ?? 500;
      return sendError(reply, status, status >= 500 ? 'E_INTERNAL' : 'E_REQUEST_INVALID', err.message, where);
    });

    app.get(
      '/v1/d1',
      { schema: { response: { 200: { type: 'object', properties: { databases: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' } } } } } } } } },
      async () => ({ databases: (await deps.sql.list()).map((id) => ({ id })) }),
    );

    app.post<{ Params: { id: string }; Body: { sql: string; params?: unknown[] } }>(
      '/v1/d1/:id/query',
      { schema: { params: idParams, body: statementSchema, response: { 200: rowsSchema } } },
      async (req) => {
        const r = await deps.sql.database(req.params.id).query({ sql: req.body.sql, params: paramsOf(req.body.params, '') });
        return jsonRows(r);
      },
    );

    app.post<{ Params: { id: string }; Body: { statements: Array<{ sql: string; params?: unknown[] }> } }>(
      '/v1/d1/:id/batch',
      {
        schema: {
          params: idParams,
          body: { type: 'object', required: ['statements'], additionalProperties: false, properties: { statements: { type: 'array', items: statementSchema } } },
          response: { 200: { type: 'object', properties: { results: { type: 'array', items: rowsSchema } } } },
        },
      },
      async (req) => {
        const statements = req.body.statements.map((s, i) => ({ sql: s.sql, params: paramsOf(s.params, `statements[${i}].`) }));
        const results = await deps.sql.database(req.params.id).batch(statements);
        return { results: results.map(jsonRows) };
      },
    );

    app.post<{ Params: { id: string }; Body: { sql: string } }>(
      '/v1/d1/:id/exec',
      {
        schema: {
          params: idParams,
          body: { type: 'object', required: ['sql'], additionalProperties: false, properties: { sql: { type: 'string' } } },
          response: { 200: { type: 'object', properties: { count: { type: 'number' }, durationMs: { type: 'number' } } } },
        },
      },
      async (req) => {
        const r = await deps.sql.database(req.params.id).exec(req.body.sql);
        return { count: r.count, durationMs: r.durationMs };
      },
    );

    app.get<{ Params: { id: string }; Querystring: { 'no-data'?: string; 'no-schema'?: string; table?: string[] } }>(
      '/v1/d1/:id/export',
      {
        schema: {
          params: idParams,
          querystring: {
            type: 'object',
            properties: { 'no-data': { type: 'string' }, 'no-schema': { type: 'string' }, table: { type: 'array', items: { type: 'string', minLength: 1 } } },
          },
        },
      },
      async (req, reply) => {
        const text = await dumpSql(deps.sql.database(req.params.id), {
          noData: flag(req.query['no-data']),
          noSchema: flag(req.query['no-schema']),
          tables: req.query.table ?? [],
        });
        return reply.header('content-type', 'application/sql; charset=utf-8').send(text);
      },
    );
  };
}
