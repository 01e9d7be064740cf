// `edge build` run as a real process (as test/cli.test.ts runs the CLI): builds an example into a component file,
// prints where and how large, fails with the user's file:line:column, and refuses JavaScript workers.

import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { printComponent } from '../build/component-tools.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const EDGE = join(ROOT, 'host/cli/edge.mjs');

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'edge-cli-build-'));
  tempDirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function runEdge(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env['NODE_OPTIONS'];
  const child = spawn(NODE, [EDGE, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((res) => child.on('close', (code) => res({ code, stdout, stderr })));
}

describe('edge build', () => {
  it('builds hello-as into <dir>/build/<name>.wasm and prints path and size', async () => {
    const dir = join(await tempDir(), 'hello-as');
    await cp(join(ROOT, 'examples/hello-as'), dir, { recursive: true });
    const { code, stdout, stderr } = await runEdge(['build', 'hello-as'], join(dir, '..'));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const out = join(dir, 'build/hello-as.wasm');
    const size = (await stat(out)).size;
    expect(stdout).toMatch(new RegExp(`^built hello-as → hello-as/build/hello-as\\.wasm \\(${(size / 1024).toFixed(1).replace('.', '\\.')} KiB\\)\\n$`));
    // A valid component, exporting the handler.
    const wat = await printComponent(await readFile(out));
    expect(wat).toContain('edge:platform/incoming-handler@0.1.0');
  }, 60_000);

  it('--out and --json', async () => {
    const base = await tempDir();
    const out = join(base, 'nested/echo.wasm');
    const { code, stdout } = await runEdge(['build', join(ROOT, 'examples/echo-as'), '--out', out, '--json'], base);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as { name: string; path: string; bytes: number; warnings: string[] };
    expect(result).toEqual({ name: 'echo-as', path: out, bytes: (await stat(out)).size, warnings: [] });
  }, 60_000);

  it('exits 1 with the diagnostics of the user’s file', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'wrangler.toml'), 'name = "broken"\nmain = "src/main.ts"\n\n[build]\nlanguage = "assemblyscript"\n');
    await cp(join(ROOT, 'examples/hello-as/assembly/index.ts'), join(dir, 'src/main.ts'));
    await writeFile(join(dir, 'src/main.ts'), (await readFile(join(dir, 'src/main.ts'), 'utf8')).replace('Response.text(', 'Response.txt('));
    const { code, stdout, stderr } = await runEdge(['build', dir], dir);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^error E_BUILD_FAILED: AssemblyScript compilation of src\/main\.ts failed:\nsrc\/main\.ts:6:19: Property 'txt' does not exist/);
  }, 60_000);

  it('refuses a JavaScript worker', async () => {
    const { code, stderr } = await runEdge(['build', join(ROOT, 'examples/hello-js')], ROOT);
    expect(code).toBe(1);
    expect(stderr).toContain('error E_BUILD_FAILED: hello-js is a JavaScript worker');
    expect(stderr).toContain('`edge build` compiles AssemblyScript workers only');
  });
});
