// An in-memory todo list: state lives as long as the worker's isolate (durable state comes with KV/D1).
const todos = new Map();
let nextId = 1;

export function listTodos() {
  return [...todos.values()];
}

export function addTodo(input) {
  if (typeof input?.title !== 'string' || input.title.trim() === '') {
    throw new TypeError('a todo needs a non-empty "title" string');
  }
  const todo = { id: nextId++, title: input.title.trim(), done: Boolean(input.done) };
  todos.set(todo.id, todo);
  return todo;
}

export function getTodo(id) {
  return todos.get(Number(id)) ?? null;
}
