-- Migration number: 0001 	 The todo list of examples/d1-todo-js (and examples/d1-todo-as).
CREATE TABLE todos (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL DEFAULT (datetime('now')));
