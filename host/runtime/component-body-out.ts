// A component's response body after begin-response: written by the guest through 'resp.write', read by the data
// plane as the client takes it, the guest's writes held back while the client is slower.
import type { EdgeError } from '../core/errors.ts';
import type { BodyError, InvokeReply } from '../core/isolate-protocol.ts';

/** Above this many bytes written and not yet sent, a component's write waits for the client. */
const OUT_HIGH_WATER = 256 * 1024;

/** The reply to a 'resp.write'. */
type BodyReply = InvokeReply<null, BodyError>;

/** A component's response body: written by the guest (blocking when the client is slower), read by the data plane. */
export class ComponentBodyOut {
  private readonly queue: Uint8Array[] = [];
  private buffered = 0;
  private ended = false;
  private error: EdgeError | null = null;
  private cancelled = false;
  private wake: (() => void) | null = null;
  private writers: Array<() => void> = [];

  write(chunk: Uint8Array): BodyReply | Promise<BodyReply> {
    if (this.cancelled || this.error || this.ended) return { e: { tag: 'closed' } };
    if (chunk.byteLength === 0) return { v: null };
    this.queue.push(chunk);
    this.buffered += chunk.byteLength;
    this.wake?.();
    if (this.buffered <= OUT_HIGH_WATER) return { v: null };
    return new Promise<BodyReply>((resolve) => {
      this.writers.push(() => resolve(this.cancelled || this.error ? { e: { tag: 'closed' } } : { v: null }));
    });
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  fail(err: EdgeError): void {
    if (this.ended) return;
    this.error ??= err;
    this.release();
    this.wake?.();
  }

  private release(): void {
    const w = this.writers;
    this.writers = [];
    for (const f of w) f();
  }

  async *chunks(): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        const next = this.queue.shift();
        if (next) {
          this.buffered -= next.byteLength;
          if (this.buffered <= OUT_HIGH_WATER) this.release();
          yield next;
          continue;
        }
        if (this.error) throw this.error;
        if (this.ended) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
      }
    } finally {
      if (!this.ended) {
        // The client went away: the guest's next write gets `closed`.
        this.cancelled = true;
        this.release();
      }
    }
  }
}
