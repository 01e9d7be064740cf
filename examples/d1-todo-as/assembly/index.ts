// A todo list on D1, as examples/d1-todo-js (same routes, same JSON, same database):
//   GET    /todos        → [{"id":1,"title":"milk","done":false}, ...] ordered by id
//   POST   /todos        {"title":"milk"} → 201 and the todo
//   GET    /todos/<id>   → the todo, or 404
//   PATCH  /todos/<id>   {"done":true} and/or {"title":"..."} → the updated todo, or 404
//   DELETE /todos/<id>   → 204, or 404
// Errors are {"error":"..."} with 400 (a body that is not what the route takes), 404 or 405. The table is
// migrations/0001_create_todos.sql's; until the CLI applies migrations, the worker creates it when it is missing.
import { Request, Response, jsonString } from "@edge/guest";
import { D1Database, D1Row, SqlValue } from "@edge/guest/d1";
import { JsonField, JsonKind, parseJsonObject } from "./json-object";

const COLUMNS = "id, title, done";

/** migrations/0001_create_todos.sql with IF NOT EXISTS (SQLite stores both as the same schema). */
const SCHEMA = "CREATE TABLE IF NOT EXISTS todos (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL DEFAULT (datetime('now')))";
/** Whether this instance has made sure of the table (an instance may serve many requests). */
let ensured = false;

function todoJson(row: D1Row): string {
  return "{\"id\":" + row.getInteger("id").toString() + ",\"title\":" + jsonString(row.getString("title")) + ",\"done\":" + (row.getBoolean("done") ? "true" : "false") + "}";
}

function error(message: string, status: u16): Response {
  return Response.json("{\"error\":" + jsonString(message) + "}", status);
}

/** The id of `/todos/<id>` (1 to 18 digits), or -1. */
function idOf(segment: string): i64 {
  if (segment.length < 1 || segment.length > 18) return -1;
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  return I64.parseInt(segment, 10);
}

export function fetch(request: Request): Response {
  const path = request.path;
  if (path != "/todos" && !path.startsWith("/todos/")) return error("not found", 404);
  const db = D1Database.open("DB");
  if (!ensured) {
    db.exec(SCHEMA);
    ensured = true;
  }
  const res = path == "/todos" ? collection(db, request) : item(db, request, path.substring(7));
  db.close();
  return res;
}

function collection(db: D1Database, request: Request): Response {
  if (request.method == "GET") {
    const rows = db.prepare("SELECT " + COLUMNS + " FROM todos ORDER BY id").all().results;
    const parts = new Array<string>(rows.length);
    for (let i = 0; i < rows.length; i++) parts[i] = todoJson(rows[i]);
    return Response.json("[" + parts.join(",") + "]");
  }
  if (request.method != "POST") return error("method not allowed", 405);
  const body = parseJsonObject(request.text());
  if (body == null) return error("the body must be a JSON object", 400);
  const title = stringField(body, "title");
  if (title == null || title.trim().length == 0) return error("title must be a non-empty string", 400);
  const meta = db.prepare("INSERT INTO todos (title) VALUES (?)").bind([SqlValue.text(title)]).run();
  const row = db.prepare("SELECT " + COLUMNS + " FROM todos WHERE id = ?").bind([SqlValue.integer(meta.lastRowId)]).first();
  return Response.json(todoJson(row!), 201);
}

function item(db: D1Database, request: Request, segment: string): Response {
  const id = idOf(segment);
  if (id < 0) return error("no todo " + segment, 404);
  const method = request.method;
  const select = db.prepare("SELECT " + COLUMNS + " FROM todos WHERE id = ?").bind([SqlValue.integer(id)]);
  if (method == "GET") {
    const row = select.first();
    return row == null ? error("no todo " + segment, 404) : Response.json(todoJson(row));
  }
  if (method == "DELETE") {
    const meta = db.prepare("DELETE FROM todos WHERE id = ?").bind([SqlValue.integer(id)]).run();
    return meta.changes == 0 ? error("no todo " + segment, 404) : Response.empty(204);
  }
  if (method != "PATCH") return error("method not allowed", 405);
  const body = parseJsonObject(request.text());
  if (body == null) return error("the body must be a JSON object", 400);
  // A field left out (or null) keeps its value: bound as NULL, COALESCE keeps the column.
  let title = SqlValue.null();
  if (body.has("title") && body.get("title").kind != JsonKind.Null) {
    const t = stringField(body, "title");
    if (t == null || t.trim().length == 0) return error("title must be a non-empty string", 400);
    title = SqlValue.text(t);
  }
  let done = SqlValue.null();
  if (body.has("done") && body.get("done").kind != JsonKind.Null) {
    const d = body.get("done");
    if (d.kind != JsonKind.Bool) return error("done must be a boolean", 400);
    done = SqlValue.boolean(d.isTrue);
  }
  // The update and the read back in one transaction: the answer is the row as this update left it.
  const update = db.prepare("UPDATE todos SET title = COALESCE(?, title), done = COALESCE(?, done) WHERE id = ?").bind([title, done, SqlValue.integer(id)]);
  const results = db.batch([update, select]);
  if (results[0].meta.changes == 0) return error("no todo " + segment, 404);
  return Response.json(todoJson(results[1].results[0]));
}

function stringField(body: Map<string, JsonField>, name: string): string | null {
  if (!body.has(name)) return null;
  const f = body.get(name);
  return f.kind == JsonKind.String ? f.text : null;
}
