// Write generations of KV namespaces, shared with the isolates that read them: each worker instance with KV
// bindings gets a SharedArrayBuffer with one counter per bound namespace, which the host bumps (Atomics) after every
// write to that namespace takes effect. The prelude's KV facade keeps recently read values and serves them without
// asking the host while the namespace's counter is unchanged: a hot read costs no host round trip, and a write
// anywhere on the host (another worker, a component, the CLI) is seen by the next read (read-your-writes).
// A guest can only write to its own counters, so tampering with them can only make its own reads stale.
export class KvGenerations {
  private readonly byNamespace = new Map<string, Set<{ counters: Int32Array; index: number }>>();

  /** After a write to `ns` took effect. */
  bump(ns: string): void {
    const slots = this.byNamespace.get(ns);
    if (!slots) return;
    for (const s of slots) Atomics.add(s.counters, s.index, 1);
  }

  /** Counters for an instance's namespaces (in order); `detach` when the instance goes away. */
  attach(namespaces: string[]): { shared: SharedArrayBuffer; detach(): void } {
    const shared = new SharedArrayBuffer(Math.max(1, namespaces.length) * 4);
    const counters = new Int32Array(shared);
    const slots = namespaces.map((ns, index) => {
      const slot = { counters, index };
      let set = this.byNamespace.get(ns);
      if (!set) this.byNamespace.set(ns, (set = new Set()));
      set.add(slot);
      return { ns, slot };
    });
    return {
      shared,
      detach: () => {
        for (const { ns, slot } of slots) {
          const set = this.byNamespace.get(ns);
          set?.delete(slot);
          if (set?.size === 0) this.byNamespace.delete(ns);
        }
      },
    };
  }

  /** Namespaces with attached readers (for tests). */
  get attachedNamespaces(): number {
    return this.byNamespace.size;
  }
}
