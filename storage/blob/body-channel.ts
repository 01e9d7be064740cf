// A body written chunk by chunk by one side (a guest's streamed put) and consumed by BlobStore.put as an async
// iterable: each write resolves once the store has taken the chunk, so a fast writer waits for the disk.

/** A body written chunk by chunk, consumed by the store's put as an async iterable. */
export class BodyChannel implements AsyncIterable<Uint8Array> {
  private readonly chunks: Uint8Array[] = [];
  private ended = false;
  private failure: unknown = null;
  private wake: (() => void) | null = null;
  private readonly consumed: Array<() => void> = [];

  /** Resolves once the store has taken the chunk (backpressure), rejects when the put has failed. */
  push(chunk: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.chunks.push(chunk);
    this.wake?.();
    return new Promise<void>((resolve) => this.consumed.push(resolve));
  }
  end(): void {
    this.ended = true;
    this.wake?.();
  }
  fail(err: unknown): void {
    this.failure ??= err;
    this.wake?.();
    for (const r of this.consumed.splice(0)) r();
  }
  get failed(): unknown {
    return this.failure;
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (this.failure) throw this.failure;
      const c = this.chunks.shift();
      if (c) {
        yield c;
        this.consumed.shift()?.();
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }
}
