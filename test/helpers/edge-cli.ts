// The `edge` CLI as a real process for tests (as test/cli.test.ts spawns it): output captured, waits on patterns,
// each process in its own group so that a test can SIGKILL the shim and the node it runs together.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const EDGE = join(ROOT, 'host/cli/edge.mjs');

export interface EdgeProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The first match of `re` in stdout (or stderr), waiting for more output as needed. */
  waitFor(re: RegExp, stream?: 'stdout' | 'stderr', timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

/** `env`: variables for the process; EDGE_ADMIN_TOKEN and EDGE_ADMIN_URL of the test runner are not passed on unless given here. */
export function startEdge(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): EdgeProcess {
  const extra = options.env ?? {};
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  if (!('EDGE_ADMIN_TOKEN' in extra)) delete env['EDGE_ADMIN_TOKEN'];
  if (!('EDGE_ADMIN_URL' in extra)) delete env['EDGE_ADMIN_URL'];
  delete env['NODE_OPTIONS'];
  const child = spawn(NODE, [EDGE, ...args], { cwd: options.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  let done = false;
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; notify(); });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s; notify(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.on('close', (code, signal) => {
      done = true;
      notify();
      res({ code, signal });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill() {
      try {
        if (child.pid && !done) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
    waitFor(re, stream = 'stdout', timeoutMs = 30_000) {
      return new Promise((res, rej) => {
        const check = () => {
          const m = (stream === 'stdout' ? out : err).match(re);
          if (m) {
            cleanup();
            res(m);
          } else if (done) {
            cleanup();
            rej(new Error(`edge exited before ${re} appeared on ${stream}\nstdout:\n${out}\nstderr:\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          rej(new Error(`timed out waiting for ${re} on ${stream}\nstdout:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Starts `edge dev <dir>` on free ports and waits until the worker is deployed and watched; `url` is the data-plane base. */
export async function startEdgeDev(dir: string): Promise<{ dev: EdgeProcess; url: string; host: string }> {
  const dev = startEdge(['dev', dir, '--port', '0', '--admin-port', '0']);
  try {
    const url = (await dev.waitFor(/^\s*data:\s+(http:\/\/127\.0\.0\.1:\d+)/m))[1]!;
    const workerUrl = (await dev.waitFor(/url:\s+(\S+)/))[1]!;
    await dev.waitFor(/watching/);
    return { dev, url, host: new URL(workerUrl).host };
  } catch (e) {
    dev.kill();
    throw e;
  }
}
