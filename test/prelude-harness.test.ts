import { afterAll, describe, expect, it } from 'vitest';
import { createPreludeIsolate } from './helpers/prelude-isolate.ts';

describe('prelude harness', async () => {
  const pi = await createPreludeIsolate();
  afterAll(() => pi.dispose());
  it('evaluates the prelude and removes __edgeInit before guest code', async () => {
    expect(await pi.run('return typeof __edgeInit')).toBe('undefined');
  });
  it('exposes nothing of Node', async () => {
    expect(await pi.run('return [typeof process, typeof require, typeof module, typeof Buffer, typeof global]')).toEqual([
      'undefined', 'undefined', 'undefined', 'undefined', 'undefined',
    ]);
  });
});
