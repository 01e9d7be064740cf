// A todo list on D1 (env.DB), as examples/d1-todo-as (same routes, same JSON, same database):
//   GET    /todos        → [{"id":1,"title":"milk","done":false}, ...] ordered by id
//   POST   /todos        {"title":"milk"} → 201 and the todo
//   GET    /todos/<id>   → the todo, or 404
//   PATCH  /todos/<id>   {"done":true} and/or {"title":"..."} → the updated todo, or 404
//   DELETE /todos/<id>   → 204, or 404
// Errors are {"error":"..."} with 400 (a body that is not what the route takes), 404 or 405. The table is
// migrations/0001_create_todos.sql's: `edge d1 migrations apply DB` creates it.

const COLUMNS = 'id, title, done';

/** A row as the API shows it: `done` is stored as 0/1 and shown as a boolean. */
function todo(row) {
  return { id: row.id, title: row.title, done: row.done === 1 };
}

function error(message, status) {
  return Response.json({ error: message }, { status });
}

/** The JSON object of the request body, or null when it is not one. */
async function jsonObject(request) {
  try {
    const body = await request.json();
    return body !== null && typeof body === 'object' && !Array.isArray(body) ? body : null;
  } catch {
    return null;
  }
}

function validTitle(title) {
  return typeof title === 'string' && title.trim() !== '';
}

async function collection(request, db) {
  if (request.method === 'GET') {
    const { results } = await db.prepare(`SELECT ${COLUMNS} FROM todos ORDER BY id`).all();
    return Response.json(results.map(todo));
  }
  if (request.method !== 'POST') return error('method not allowed', 405);
  const body = await jsonObject(request);
  if (body === null) return error('the body must be a JSON object', 400);
  if (!validTitle(body.title)) return error('title must be a non-empty string', 400);
  const row = await db.prepare(`INSERT INTO todos (title) VALUES (?) RETURNING ${COLUMNS}`).bind(body.title).first();
  return Response.json(todo(row), { status: 201 });
}

async function item(request, db, segment) {
  // Ids are positive integers; anything else names no todo.
  if (!/^\d{1,15}$/.test(segment)) return error(`no todo ${segment}`, 404);
  const id = Number(segment);
  const select = db.prepare(`SELECT ${COLUMNS} FROM todos WHERE id = ?`).bind(id);
  if (request.method === 'GET') {
    const row = await select.first();
    return row === null ? error(`no todo ${segment}`, 404) : Response.json(todo(row));
  }
  if (request.method === 'DELETE') {
    const { meta } = await db.prepare('DELETE FROM todos WHERE id = ?').bind(id).run();
    return meta.changes === 0 ? error(`no todo ${segment}`, 404) : new Response(null, { status: 204 });
  }
  if (request.method !== 'PATCH') return error('method not allowed', 405);
  const body = await jsonObject(request);
  if (body === null) return error('the body must be a JSON object', 400);
  // A field left out (or null) keeps its value: bound as NULL, COALESCE keeps the column.
  const title = body.title ?? null;
  if (title !== null && !validTitle(title)) return error('title must be a non-empty string', 400);
  const done = body.done ?? null;
  if (done !== null && typeof done !== 'boolean') return error('done must be a boolean', 400);
  // The update and the read back in one transaction: the answer is the row as this update left it.
  const [update, read] = await db.batch([db.prepare('UPDATE todos SET title = COALESCE(?, title), done = COALESCE(?, done) WHERE id = ?').bind(title, done, id), select]);
  if (update.meta.changes === 0) return error(`no todo ${segment}`, 404);
  return Response.json(todo(read.results[0]));
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === '/todos') return collection(request, env.DB);
    if (pathname.startsWith('/todos/')) return item(request, env.DB, pathname.slice('/todos/'.length));
    return error('not found', 404);
  },
};
