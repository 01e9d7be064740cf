// Child processes of the benchmark: the edge host (`edge serve`) and the plain Fastify ceiling, each on loopback
// with random ports. Every child and temporary directory is tracked so that run.ts can kill and remove them on
// normal exit, on error and on Ctrl-C.
import type { DeployUpload } from '../host/deploy/upload.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The Node running the benchmark (npm puts node_modules/.bin first on PATH, so this is the project's Node 24). */
export const NODE = process.execPath;
const NODE_FLAGS = ['--no-node-snapshot', '--disable-warning=ExperimentalWarning'];

const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `edge-bench-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Registers a child started elsewhere (e.g. the load generator) so that it is killed with the others. */
export function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

/** Synchronous on purpose: also called from process.on('exit'). */
export function killAllChildren(): void {
  for (const child of liveChildren) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  liveChildren.clear();
}

export function removeAllTempDirs(): void {
  for (const dir of [...tempDirs]) removeTempDir(dir);
}

export interface StartedChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The first match of `ready` in the child's stdout. */
  readonly match: RegExpExecArray;
  stderrTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns `node <flags> <args>` and waits until its stdout matches `ready`. */
export function startChild(label: string, args: string[], options: { env?: NodeJS.ProcessEnv; ready: RegExp; timeoutMs?: number }): Promise<StartedChild> {
  const child = spawn(NODE, [...NODE_FLAGS, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveChildren.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exited.then(() => liveChildren.delete(child));

  const stop = async (graceMs = 10_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };

  return new Promise<StartedChild>((resolve, reject) => {
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${label}: ${why}\n  stdout: ${stdout.trim() || '(empty)'}\n  stderr: ${stderr.trim() || '(empty)'}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${options.timeoutMs ?? 30_000} ms`), options.timeoutMs ?? 30_000);
    child.once('error', (err) => fail(`cannot start ${NODE}: ${err.message}`));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? `code ${code}`}) before it was ready`));
    child.stdout!.on('data', function onData(d: string) {
      stdout += d;
      const m = options.ready.exec(stdout);
      if (!m || settled) return;
      settled = true;
      child.stdout!.off('data', onData);
      child.stdout!.resume(); // keep draining later output
      clearTimeout(timer);
      resolve({ child, pid: child.pid!, match: m, stderrTail: () => stderr, stop });
    });
  });
}

export interface ChildHost {
  readonly pid: number;
  /** http://127.0.0.1:<port> */
  readonly dataUrl: string;
  readonly dataPort: number;
  readonly adminUrl: string;
  readonly adminToken: string;
  /** POST /v1/workers; throws with the host's error body on anything but 201. */
  deploy(upload: WorkerUpload): Promise<{ name: string; version: { id: string } }>;
  /** GET /metrics (Prometheus text). */
  metrics(): Promise<string>;
  /** VmRSS of the host process, in bytes. */
  rssBytes(): number;
  /** The last 4,000 characters the host wrote to stderr. */
  stderrTail(): string;
  /** Whether the host process is still running. */
  alive(): boolean;
  stop(): Promise<void>;
}

/** What `edge deploy` uploads (a component travels base64-encoded). */
export type WorkerUpload = DeployUpload;

/**
 * Runs `edge serve --port 0 --admin-port 0` in a child process with a fresh data directory and a random admin
 * token, and reads the URLs from its banner (host/cli/serve.ts printHostBanner: `  data:  <url>   ...` and
 * `  admin: <url>`). edge.mjs runs the CLI in the same process when --no-node-snapshot is given, so the child's
 * pid is the host's.
 */
export async function startChildHost(extraArgs: string[] = []): Promise<ChildHost> {
  const dataDir = makeTempDir('host');
  const adminToken = randomBytes(24).toString('hex');
  const started = await startChild('edge serve', ['host/cli/edge.mjs', 'serve', '--port', '0', '--admin-port', '0', '--data-dir', dataDir, ...extraArgs], {
    env: { EDGE_ADMIN_TOKEN: adminToken },
    ready: /^\s*data:\s+(http:\/\/\S+)[\s\S]*^\s*admin:\s+(http:\/\/\S+)/m,
  }).catch((err: unknown) => {
    removeTempDir(dataDir);
    throw err;
  });
  const dataUrl = started.match[1]!;
  const adminUrl = started.match[2]!;
  const auth = { authorization: `Bearer ${adminToken}` };
  return {
    pid: started.pid,
    dataUrl,
    dataPort: Number(new URL(dataUrl).port),
    adminUrl,
    adminToken,
    async deploy(upload) {
      const res = await adminFetch(`${adminUrl}/v1/workers`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(upload) });
      const text = await res.text();
      if (res.status !== 201) throw new Error(`deploy failed: HTTP ${res.status}: ${text}`);
      return JSON.parse(text) as { name: string; version: { id: string } };
    },
    async metrics() {
      const res = await adminFetch(`${adminUrl}/metrics`, { headers: auth });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`GET /metrics failed: HTTP ${res.status}: ${text}`);
      return text;
    },
    rssBytes: () => readRssBytes(started.pid),
    stderrTail: () => started.stderrTail(),
    alive: () => started.child.exitCode === null && started.child.signalCode === null,
    async stop() {
      try {
        await started.stop();
      } finally {
        removeTempDir(dataDir);
      }
    },
  };
}

/**
 * fetch() to the admin API, retried once when the connection fails before any answer: undici reuses an idle
 * keep-alive socket that the server may be closing at that moment (the error is then "fetch failed" with cause
 * ECONNRESET or "other side closed"). The error thrown names the cause.
 */
async function adminFetch(url: string, init: RequestInit): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = `${(err as Error).message}${cause ? ` (${cause.code ?? ''} ${cause.message ?? ''})` : ''}`;
      if (attempt >= 2) throw new Error(`${init.method ?? 'GET'} ${url}: ${why}`, { cause: err });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** VmRSS from /proc/<pid>/status, in bytes. */
export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** User + system CPU seconds from a /proc stat line (10 ms resolution). */
function statCpuSeconds(stat: string): number {
  // Fields after the command name, which is in parentheses and may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100; // USER_HZ: 100 on Linux x86-64 (getconf CLK_TCK)
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/**
 * CPU seconds used so far by process `pid`: all its threads, and its main thread alone (the event loop; the
 * rest is V8's and isolated-vm's worker threads).
 */
export function readCpuSeconds(pid: number): { total: number; mainThread: number } {
  return {
    total: statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8')),
    mainThread: statCpuSeconds(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8')),
  };
}

/** The plain Fastify hello world (bench/fastify-hello.ts) used as the throughput ceiling. */
export async function startFastifyHello(): Promise<{ pid: number; url: string; port: number; stop(): Promise<void> }> {
  const started = await startChild('fastify hello', ['bench/fastify-hello.ts'], { ready: /^listening (http:\/\/\S+)$/m });
  const url = started.match[1]!;
  return { pid: started.pid, url, port: Number(new URL(url).port), stop: () => started.stop() };
}
