// workerd, the runtime Cloudflare publishes (npm `workerd`, an optional dependency), run on the same machine as
// our host so that the suite can state its figures as ratios: cold start to first response, hello-world
// requests/s (the runner's load generator against `url(name)`) and RSS per idle worker.
//
// Routing: one socket per worker. Each hello worker is its own service with its own `127.0.0.1:0` socket, and
// workerd reports the port it bound for each socket on its control descriptor (`--control-fd 3`), so there is no
// port race and no router worker in front: a request reaches the worker it is for with no extra hop, which is
// how workerd is deployed when one process serves one app. `url(name)` gives the worker's own port; the Host
// header `<name>.localhost:<port>` it returns too is not used for routing, only sent so that requests look like
// the ones our host gets.
//
// Open-source workerd enforces no CPU or memory limits (Cloudflare's limit enforcer is not in the open-source
// build), so its figures are for workers that run unbounded, while ours pay for the limit checks.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Agent } from 'node:http';
import { arch, endianness } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, makeTempDir, readRssBytes, removeTempDir, trackChild } from './child-host.ts';
import { timedGet } from './http-get.ts';

export interface WorkerdInfo {
  binary: string;
  /** The npm package's version, e.g. 1.20261117.1 (the binary reports its compatibility date instead). */
  version: string;
}

export interface RunningWorkerd {
  pid: number;
  /** The first worker's port (each worker has its own socket: use `url(name)`). */
  port: number;
  url(name: string): { url: string; host: string };
  names: string[];
  /** VmRSS of the workerd process (one process, all workers), in bytes. */
  rssBytes(): number;
  stop(): Promise<void>;
}

/** For the report: how the workerd figures were obtained and what they do not include. */
export const WORKERD_NOTES: readonly string[] = [
  'workerd: the npm package `workerd` run from its own binary on this machine, one process, each hello worker its own service on its own 127.0.0.1 socket (no router hop).',
  'workerd: open-source workerd enforces no CPU or memory limits, so its workers run unbounded; ours pay for the limit checks.',
  'workerd: it has no live deploy, so its cold start is a process start: spawn with one worker to the first 200 response, i.e. start-up plus compiling the worker plus one request.',
];

export const WORKERD_INSTALL_HINT = 'npm install --save-optional workerd';
export const HELLO_BODY = 'Hello from the edge!\n';
const HELLO_SCRIPT = `export default {\n  fetch() {\n    return new Response(${JSON.stringify(HELLO_BODY)});\n  },\n};\n`;
/** The same date as the edge workers the suite deploys, so that both runtimes see the same Web API behaviour. */
const COMPATIBILITY_DATE = '2026-11-01';
const MiB = 1024 * 1024;

/** As in the `workerd` package's lib/main.js: `${process.platform} ${os.arch()} ${os.endianness()}` → binary package. */
const PLATFORM_PACKAGES: Readonly<Record<string, string>> = {
  'darwin arm64 LE': '@cloudflare/workerd-darwin-arm64',
  'darwin x64 LE': '@cloudflare/workerd-darwin-64',
  'linux arm64 LE': '@cloudflare/workerd-linux-arm64',
  'linux x64 LE': '@cloudflare/workerd-linux-64',
  'win32 x64 LE': '@cloudflare/workerd-windows-64',
  'win32 arm64 LE': '@cloudflare/workerd-windows-64',
};

export interface FindWorkerdOptions {
  /** The directory node_modules is looked up from (default: the project root). */
  from?: string;
  /** Default: this machine's `${process.platform} ${os.arch()} ${os.endianness()}`. */
  platformKey?: string;
}

/**
 * The workerd binary inside the npm package, resolved the way the package itself does (but without importing
 * its lib/main.js, which throws when the binary is missing), or why there is none. The binary is run once
 * with --version so that one that cannot run here (wrong libc, truncated download) counts as missing.
 */
export function findWorkerd(options: FindWorkerdOptions = {}): { info: WorkerdInfo } | { missing: string } {
  const from = options.from ?? ROOT;
  const platformKey = options.platformKey ?? `${process.platform} ${arch()} ${endianness()}`;
  const require = createRequire(join(from, 'package.json'));
  let wrapperPackageJson: string;
  try {
    wrapperPackageJson = require.resolve('workerd/package.json');
  } catch {
    return { missing: `not installed: ${WORKERD_INSTALL_HINT}` };
  }
  const platformPackage = PLATFORM_PACKAGES[platformKey];
  if (!platformPackage) return { missing: `no build for this platform (${platformKey}): the workerd package ships binaries for ${Object.keys(PLATFORM_PACKAGES).join(', ')}` };
  const exe = platformKey.startsWith('win32') ? 'workerd.exe' : 'workerd';
  let binary: string;
  try {
    // Resolved from the wrapper package, where npm puts its optional dependency.
    binary = createRequire(wrapperPackageJson).resolve(`${platformPackage}/bin/${exe}`);
  } catch {
    const downloaded = join(dirname(wrapperPackageJson), 'lib', `downloaded-${platformPackage.replace('/', '-')}-${exe}`);
    if (!existsSync(downloaded)) {
      return { missing: `workerd is installed but its binary package ${platformPackage} is not (installed with --omit=optional, or on another platform): ${WORKERD_INSTALL_HINT}` };
    }
    binary = downloaded;
  }
  const version = (JSON.parse(readFileSync(wrapperPackageJson, 'utf8')) as { version: string }).version;
  try {
    execFileSync(binary, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
  } catch (err) {
    return { missing: `${binary} does not run here (${(err as Error).message.split('\n')[0]}): reinstall with ${WORKERD_INSTALL_HINT}` };
  }
  return { info: { binary, version } };
}

function requireWorkerd(): WorkerdInfo {
  const found = findWorkerd();
  if ('missing' in found) throw new Error(`workerd: ${found.missing}`);
  return found.info;
}

/** Cap'n Proto text config: one service and one socket per worker, all embedding the same module file. */
export function workerdConfig(names: readonly string[], moduleFile: string): string {
  const id = (i: number): string => `w${i}`;
  const services = names.map((name, i) => `    (name = ${JSON.stringify(name)}, worker = .${id(i)}),`).join('\n');
  const sockets = names.map((name, i) => `    (name = ${JSON.stringify(name)}, address = "127.0.0.1:0", http = (), service = ${JSON.stringify(name)}),`).join('\n');
  const workers = names
    .map((_, i) => `const ${id(i)} :Workerd.Worker = (\n  modules = [(name = "worker.js", esModule = embed ${JSON.stringify(moduleFile)})],\n  compatibilityDate = "${COMPATIBILITY_DATE}",\n);`)
    .join('\n');
  return `using Workerd = import "/workerd/workerd.capnp";\n\nconst config :Workerd.Config = (\n  services = [\n${services}\n  ],\n  sockets = [\n${sockets}\n  ],\n);\n\n${workers}\n`;
}

interface SpawnedWorkerd {
  child: ChildProcess;
  /** Socket name → port, once every socket listens. */
  ports: Map<string, number>;
  /** performance.now() just before spawn, and when the last socket reported it listens. */
  spawnedAt: number;
  listeningAt: number;
  stop(): Promise<void>;
}

/**
 * Writes the config into a fresh temporary directory, spawns `workerd serve` with `--control-fd 3`, and
 * resolves once every socket has reported its port (`{"event":"listen","socket":...,"port":...}`).
 */
async function spawnWorkerd(info: WorkerdInfo, names: readonly string[], script: string, config?: string): Promise<SpawnedWorkerd> {
  const dir = makeTempDir('workerd');
  writeFileSync(join(dir, 'worker.js'), script);
  writeFileSync(join(dir, 'config.capnp'), config ?? workerdConfig(names, 'worker.js'));
  const spawnedAt = performance.now();
  const child = spawn(info.binary, ['serve', 'config.capnp', '--control-fd', '3'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  trackChild(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    }
    removeTempDir(dir);
  };

  const ports = new Map<string, number>();
  const timeoutMs = 15_000 + 50 * names.length;
  try {
    const listeningAt = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not listening after ${timeoutMs} ms (${ports.size} of ${names.length} sockets)`)), timeoutMs);
      const fail = (why: string): void => {
        clearTimeout(timer);
        reject(new Error(why));
      };
      child.once('error', (err) => fail(`cannot start ${info.binary}: ${err.message}`));
      child.once('exit', (code, signal) => fail(`exited (${signal ?? `code ${code}`}) before it listened`));
      let buffered = '';
      const control = child.stdio[3] as NodeJS.ReadableStream;
      control.setEncoding('utf8');
      control.on('data', (d: string) => {
        buffered += d;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          let message: { event?: string; socket?: string; port?: number };
          try {
            message = JSON.parse(line) as typeof message;
          } catch {
            continue;
          }
          if (message.event === 'listen' && message.socket !== undefined && message.port !== undefined) ports.set(message.socket, message.port);
        }
        if (ports.size === names.length) {
          clearTimeout(timer);
          resolve(performance.now());
        }
      });
    });
    return { child, ports, spawnedAt, listeningAt, stop };
  } catch (err) {
    await stop();
    throw new Error(`workerd ${info.version} with ${names.length} worker(s): ${(err as Error).message}\n  stderr: ${stderr.trim() || '(empty)'}`);
  }
}

async function getHello(port: number, host: string, agent: Agent, script: string | undefined): Promise<number> {
  const res = await timedGet({ port, host, agent });
  if (res.status !== 200 || (script === undefined && res.body !== HELLO_BODY)) {
    throw new Error(`workerd: GET http://${host}/ answered ${res.status} ${JSON.stringify(res.body.slice(0, 300))}, expected 200 ${JSON.stringify(HELLO_BODY)}`);
  }
  return res.ms;
}

/**
 * Starts workerd serving `workers` hello workers named `hello-0` … (one socket each, see the header), and
 * resolves once the first of them has answered 200. `script` replaces the hello module (an ES module with a
 * default export); its responses are then only checked for status 200. `config` replaces the generated Cap'n Proto
 * config (a suite that needs bindings, e.g. a disk service): it must embed "worker.js" and name its sockets
 * `hello-0` … like the workers.
 */
export async function startWorkerd(options: { workers: number; script?: string; config?: string }): Promise<RunningWorkerd> {
  if (!(Number.isInteger(options.workers) && options.workers >= 1)) throw new RangeError(`workerd: workers must be a positive integer, got ${options.workers}`);
  const info = requireWorkerd();
  const names = Array.from({ length: options.workers }, (_, i) => `hello-${i}`);
  const spawned = await spawnWorkerd(info, names, options.script ?? HELLO_SCRIPT, options.config);
  const url = (name: string): { url: string; host: string } => {
    const port = spawned.ports.get(name);
    if (port === undefined) throw new Error(`workerd: no worker named "${name}" (have ${names[0]} … ${names[names.length - 1]})`);
    return { url: `http://127.0.0.1:${port}/`, host: `${name}.localhost:${port}` };
  };
  const agent = new Agent({ keepAlive: false });
  try {
    const first = url(names[0]!);
    await getHello(Number(new URL(first.url).port), first.host, agent, options.script);
  } catch (err) {
    await spawned.stop();
    throw err;
  } finally {
    agent.destroy();
  }
  return {
    pid: spawned.child.pid!,
    port: spawned.ports.get(names[0]!)!,
    url,
    names,
    rssBytes: () => readRssBytes(spawned.child.pid!),
    stop: spawned.stop,
  };
}

/**
 * One cold start as workerd can have it (no live deploy): spawn workerd with one hello worker, then one GET on a
 * new connection as soon as it reports its socket listening. `totalMs` is spawn → last byte of the first 200;
 * `startupMs` is spawn → listening (process start, config, compiling the worker), `firstRequestMs` the request.
 */
export async function workerdColdStartSample(): Promise<{ totalMs: number; startupMs: number; firstRequestMs: number }> {
  const info = requireWorkerd();
  const name = 'hello-0';
  const spawned = await spawnWorkerd(info, [name], HELLO_SCRIPT);
  const agent = new Agent({ keepAlive: false });
  try {
    const port = spawned.ports.get(name)!;
    await getHello(port, `${name}.localhost:${port}`, agent, undefined);
    const doneAt = performance.now();
    return { totalMs: doneAt - spawned.spawnedAt, startupMs: spawned.listeningAt - spawned.spawnedAt, firstRequestMs: doneAt - spawned.listeningAt };
  } finally {
    agent.destroy();
    await spawned.stop();
  }
}

const IDLE_WAIT_MS = 2000;

/** VmRSS of workerd serving `n` hello workers, each hit once and then left idle for IDLE_WAIT_MS. */
async function idleRssBytes(n: number): Promise<number> {
  const running = await startWorkerd({ workers: n });
  const agent = new Agent({ keepAlive: false });
  try {
    for (const name of running.names) {
      const { url, host } = running.url(name);
      await getHello(Number(new URL(url).port), host, agent, undefined);
    }
    await sleep(IDLE_WAIT_MS);
    return running.rssBytes();
  } finally {
    agent.destroy();
    await running.stop();
  }
}

/**
 * RSS per idle worker: (RSS with `n` hello workers − RSS with 1) / (n − 1), each worker hit once then idle ~2 s.
 * Each worker also owns a listening socket here (see the header), a few KiB of the figure.
 */
export async function workerdRssPerWorker(n: number): Promise<{ mibPerWorker: number; rssOneMib: number; rssNMib: number }> {
  if (!(Number.isInteger(n) && n >= 2)) throw new RangeError(`workerd: RSS per worker needs n >= 2 workers, got ${n}`);
  const rssOne = await idleRssBytes(1);
  const rssN = await idleRssBytes(n);
  return { mibPerWorker: (rssN - rssOne) / (n - 1) / MiB, rssOneMib: rssOne / MiB, rssNMib: rssN / MiB };
}
