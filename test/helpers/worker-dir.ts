// Worker directories written from in-memory files for deploy/bundle tests, and the EdgeError a promise rejects with.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { EdgeError } from '../../host/core/errors.ts';

/** A new temporary directory holding `files` (path → content); its path is pushed onto `dirs` for clean-up. */
export async function writeWorkerDir(files: Record<string, string>, dirs: string[], prefix = 'edge-worker-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

/** The EdgeError `p` rejects with (a test failure when it resolves or rejects with anything else). */
export async function rejection(p: Promise<unknown>): Promise<EdgeError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  if (!(e instanceof EdgeError)) throw new Error(`expected an EdgeError, got ${String(e)}`);
  return e;
}
