// A real host in its own process (`edge serve` on ephemeral ports) that tests can SIGKILL and restart on the same
// data directory: the durability tests' host.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const NODE = join(process.cwd(), 'node_modules', '.bin', 'node');
const MAIN = join(process.cwd(), 'host', 'cli', 'main.ts');
export const CHILD_TOKEN = 'durability-token';

export interface ChildHost {
  child: ChildProcess;
  dataUrl: string;
  adminUrl: string;
  port: number;
}

export function startChildHost(dataDir: string, extraArgs: string[] = []): Promise<ChildHost> {
  // The host's own node process (not the edge.mjs shim), so that SIGKILL hits the process holding the state.
  const child = spawn(NODE, ['--no-node-snapshot', '--disable-warning=ExperimentalWarning', MAIN, 'serve', '--port', '0', '--admin-port', '0', '--data-dir', dataDir, ...extraArgs], {
    env: { ...process.env, EDGE_ADMIN_TOKEN: CHILD_TOKEN, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`host did not start: ${out}`)), 30_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const data = /data:\s+(http:\/\/\S+)/.exec(out);
      const admin = /admin:\s+(http:\/\/\S+)/.exec(out);
      if (data && admin) {
        clearTimeout(timer);
        resolve({ child, dataUrl: data[1]!, adminUrl: admin[1]!, port: Number(new URL(data[1]!).port) });
      }
    });
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => reject(new Error(`host exited with ${code}: ${out}`)));
  });
}

/** SIGKILL: no polite close, no flush. */
export function kill9(h: ChildHost): Promise<void> {
  return new Promise((resolve) => {
    if (h.child.exitCode !== null || h.child.signalCode !== null) return resolve();
    h.child.removeAllListeners('exit');
    h.child.on('exit', () => resolve());
    h.child.kill('SIGKILL');
  });
}

export async function childAdmin(h: ChildHost, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(h.adminUrl + path, {
    method,
    headers: { authorization: `Bearer ${CHILD_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: await res.json() };
}
