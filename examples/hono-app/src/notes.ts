// An in-memory note store: per isolate, gone on redeploy (the example has no storage bindings).
export interface Note {
  id: number;
  text: string;
  tags: string[];
  createdAt: string;
}

class NoteStore {
  #notes: Note[] = [{ id: 1, text: 'try hono on the edge', tags: ['hello'], createdAt: new Date(0).toISOString() }];
  #next = 2;

  get size(): number {
    return this.#notes.length;
  }

  list(): Note[] {
    return [...this.#notes];
  }

  get(id: number): Note | undefined {
    return this.#notes.find((n) => n.id === id);
  }

  add(text: string, tags: string[]): Note {
    const note = { id: this.#next++, text, tags, createdAt: new Date().toISOString() };
    this.#notes.push(note);
    return note;
  }

  /** Keeps the newest `keep` notes; returns how many were removed. */
  prune(keep: number): number {
    const removed = Math.max(0, this.#notes.length - keep);
    this.#notes.splice(0, removed);
    return removed;
  }
}

export const notes = new NoteStore();
