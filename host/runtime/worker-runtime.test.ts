// The default bound on warm isolates follows the process's memory-mapping limit: past it V8 aborts the host.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { safeMaxIsolates } from './worker-runtime.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function mapCount(value: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edge-maps-'));
  dirs.push(dir);
  await writeFile(join(dir, 'max_map_count'), value);
  return join(dir, 'max_map_count');
}

describe('safeMaxIsolates', () => {
  it('keeps the default below what vm.max_map_count allows', async () => {
    expect(safeMaxIsolates(await mapCount('65530\n'))).toBe(3783);
    expect(safeMaxIsolates(await mapCount('262144\n'))).toBe(10_000);
    expect(safeMaxIsolates(await mapCount('6000\n'))).toBe(62);
  });

  it('falls back to 10,000 where the limit cannot be read', async () => {
    expect(safeMaxIsolates(join(tmpdir(), 'no-such-dir', 'max_map_count'))).toBe(10_000);
    expect(safeMaxIsolates(await mapCount('garbage'))).toBe(10_000);
  });
});
