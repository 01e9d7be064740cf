import { describe, expect, it } from 'vitest';
import { handOver, release } from './owned-bytes.ts';

describe('bytes handed over whole', () => {
  it('frees a chunk handed over once it is given back', () => {
    const chunk = new Uint8Array(65536).fill(7);
    const buf = chunk.buffer;
    handOver(chunk);
    expect(buf.detached).toBe(false);
    release(chunk);
    expect(buf.detached).toBe(true);
    expect(chunk.byteLength).toBe(0);
  });

  it('leaves alone what was not handed over: another chunk, a view cut from a handed one', () => {
    const mine = new Uint8Array(1024);
    release(mine);
    expect(mine.buffer.detached).toBe(false);
    const handed = new Uint8Array(1024);
    handOver(handed);
    const view = handed.subarray(0, 512);
    release(view);
    expect(handed.buffer.detached).toBe(false);
    expect(view[0]).toBe(0);
  });

  it('frees a buffer seen by several chunks only once all are given back', () => {
    const buf = new ArrayBuffer(4096);
    const a = new Uint8Array(buf, 0, 2048);
    const b = new Uint8Array(buf, 2048, 2048);
    handOver(a, b);
    release(a);
    expect(buf.detached).toBe(false);
    expect(b.byteLength).toBe(2048);
    release(a);
    expect(buf.detached).toBe(false);
    release(b);
    expect(buf.detached).toBe(true);
  });

  it('counts a chunk handed over twice (a stream enqueuing it again) as two', () => {
    const chunk = new Uint8Array(100);
    handOver(chunk, chunk);
    release(chunk);
    expect(chunk.byteLength).toBe(100);
    release(chunk);
    expect(chunk.buffer.detached).toBe(true);
  });
});
