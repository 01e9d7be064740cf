// Warm hello-world throughput over HTTP: the host (and, as the ceiling, a plain Fastify hello world) in a child
// process, the load generator (autocannon's CLI) in another, so that neither shares an event loop with the load.
// wrk is run too when it is on PATH, for comparison with the lab notes (workerd and Fastify were measured with it).
import { execFileSync, spawn } from 'node:child_process';
import { Agent } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE, ROOT, startChildHost, startFastifyHello, trackChild } from './child-host.ts';
import { timedGet } from './http-get.ts';
import { formatNumber, type BenchRecord, type SuiteResult } from './report.ts';

export interface ThroughputOptions {
  durationSec: number;
  connections: number[];
  warmupSec: number;
  log(line: string): void;
}

/** workerd hello world measured here with `wrk -t1 -c10 -d10s` (LAB-NOTES.md): 9-11k req/s. */
const WORKERD_REQ_PER_S = 10_000;
const TARGET_REQ_PER_S = 2 * WORKERD_REQ_PER_S;

interface Percentiles {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  total?: number;
}

interface AutocannonResult {
  requests: Percentiles;
  latency: Percentiles;
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
  '2xx': number;
}

interface LoadResult {
  reqPerSec: Percentiles;
  latencyMs: Percentiles;
  requests: number;
  seconds: number;
}

const AUTOCANNON = join(ROOT, 'node_modules/autocannon/autocannon.js');

function autocannonVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules/autocannon/package.json'), 'utf8')) as { version: string }).version;
}

function runAutocannon(url: string, hostHeader: string | null, connections: number, durationSec: number): Promise<LoadResult> {
  const args = [AUTOCANNON, '-c', String(connections), '-d', String(durationSec), '--json'];
  if (hostHeader) args.push('-H', `host=${hostHeader}`);
  args.push(url);
  const child = spawn(NODE, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), (durationSec + 30) * 1000);
  return new Promise<LoadResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`autocannon exited with ${signal ?? code}: ${err.trim() || out.trim()}`));
      let r: AutocannonResult;
      try {
        r = JSON.parse(out) as AutocannonResult;
      } catch {
        return reject(new Error(`autocannon printed no JSON: ${out.slice(0, 500)} ${err.slice(0, 500)}`));
      }
      const bad = r.errors + r.timeouts + r.non2xx;
      if (bad > 0) return reject(new Error(`autocannon against ${url}: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx responses of ${r.requests.total}`));
      resolve({ reqPerSec: r.requests, latencyMs: r.latency, requests: r['2xx'], seconds: r.duration });
    });
  });
}

function wrkPath(): string | null {
  try {
    return execFileSync('which', ['wrk'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/** `wrk -t1 -c10 -d10s`; returns Requests/sec as printed by wrk. */
function runWrk(wrk: string, url: string, hostHeader: string | null, connections: number, durationSec: number): Promise<number> {
  const args = ['-t1', `-c${connections}`, `-d${durationSec}s`];
  if (hostHeader) args.push('-H', `Host: ${hostHeader}`);
  args.push(url);
  const child = spawn(wrk, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), (durationSec + 30) * 1000);
  return new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
      if (code !== 0 || !m) return reject(new Error(`wrk failed (${code}): ${out}`));
      if (/Non-2xx or 3xx responses/.test(out)) return reject(new Error(`wrk saw non-2xx responses: ${out}`));
      resolve(Number(m[1]));
    });
  });
}

interface Target {
  runtime: string;
  workload: string;
  url: string;
  hostHeader: string | null;
}

export async function runThroughput(options: ThroughputOptions): Promise<SuiteResult> {
  const records: BenchRecord[] = [];
  const notes: string[] = [];
  const wrk = wrkPath();
  const wrkResults = new Map<string, number>();
  const byRuntime = new Map<string, Map<number, LoadResult>>();

  const measure = async (t: Target): Promise<void> => {
    const results = new Map<number, LoadResult>();
    byRuntime.set(t.runtime, results);
    options.log(`  warm: ${t.runtime}: ${options.warmupSec} s warm-up at c=10 (dropped)`);
    await runAutocannon(t.url, t.hostHeader, 10, options.warmupSec);
    for (const c of options.connections) {
      options.log(`  warm: ${t.runtime}: autocannon -c ${c} -d ${options.durationSec}`);
      const r = await runAutocannon(t.url, t.hostHeader, c, options.durationSec);
      results.set(c, r);
      const workload = `${t.workload}, autocannon c=${c} d=${options.durationSec}s`;
      records.push({ suite: 'warm-throughput', runtime: t.runtime, workload, metric: 'requests_per_second', unit: 'req/s', ...pick(r.reqPerSec), n: r.seconds, note: 'percentiles over per-second samples' });
      records.push({ suite: 'warm-throughput', runtime: t.runtime, workload, metric: 'latency', unit: 'ms', ...pick(r.latencyMs), n: r.requests });
    }
    if (wrk) {
      options.log(`  warm: ${t.runtime}: wrk -t1 -c10 -d${options.durationSec}s`);
      wrkResults.set(t.runtime, await runWrk(wrk, t.url, t.hostHeader, 10, options.durationSec));
    }
  };

  // One server at a time, so that the load generator and the server under test have the two cores to themselves.
  const host = await startChildHost();
  try {
    const dir = join(ROOT, 'examples/hello-js');
    await host.deploy({
      manifest: { fileName: 'wrangler.toml', content: readFileSync(join(dir, 'wrangler.toml'), 'utf8') },
      modules: [{ path: 'index.js', content: readFileSync(join(dir, 'index.js'), 'utf8') }],
    });
    const hostHeader = `hello-js.localhost:${host.dataPort}`;
    const agent = new Agent({ keepAlive: false });
    const check = await timedGet({ port: host.dataPort, host: hostHeader, agent });
    if (check.status !== 200 || !check.body.startsWith('Hello from the edge!')) throw new Error(`hello-js answered ${check.status}: ${check.body.slice(0, 300)}`);
    await measure({ runtime: 'edge-js', workload: 'examples/hello-js', url: `${host.dataUrl}/`, hostHeader });
  } finally {
    await host.stop();
  }
  const fastify = await startFastifyHello();
  try {
    await measure({ runtime: 'fastify', workload: 'plain Fastify hello (ceiling)', url: `${fastify.url}/`, hostHeader: null });
  } finally {
    await fastify.stop();
  }

  notes.push(
    `warm: autocannon ${autocannonVersion()} CLI in its own process (one thread), ${options.durationSec} s per run after a ${options.warmupSec} s warm-up; host (\`edge serve\`) and Fastify each in their own child process, run one after the other; loopback 127.0.0.1.`,
  );
  const edge = byRuntime.get('edge-js')!;
  const ceiling = byRuntime.get('fastify')!;
  for (const c of options.connections) {
    const e = edge.get(c)!.reqPerSec.mean;
    const f = ceiling.get(c)!.reqPerSec.mean;
    notes.push(`warm: c=${c}: edge-js ${formatNumber(e)} req/s vs plain Fastify ${formatNumber(f)} req/s = ${((100 * e) / f).toFixed(0)}% of the ceiling.`);
  }
  if (wrk) {
    const e = wrkResults.get('edge-js')!;
    const f = wrkResults.get('fastify')!;
    notes.push(`warm: wrk -t1 -c10 -d${options.durationSec}s: edge-js ${formatNumber(e)} req/s, Fastify ${formatNumber(f)} req/s (lab notes: workerd ~10k, Fastify ~35k).`);
    records.push({ suite: 'warm-throughput', runtime: 'edge-js', workload: `examples/hello-js, wrk -t1 -c10 -d${options.durationSec}s`, metric: 'requests_per_second', unit: 'req/s', p50: e, p90: e, p99: e, mean: e, n: 1, note: 'wrk prints only the mean' });
    records.push({ suite: 'warm-throughput', runtime: 'fastify', workload: `plain Fastify hello, wrk -t1 -c10 -d${options.durationSec}s`, metric: 'requests_per_second', unit: 'req/s', p50: f, p90: f, p99: f, mean: f, n: 1, note: 'wrk prints only the mean' });
  } else {
    notes.push('warm: wrk is not on PATH (`which wrk` found nothing), so only autocannon figures are given; the workerd anchor (~10k req/s) was measured with wrk, so the comparison is across tools.');
  }

  const c10 = edge.get(10)!;
  const measuredBy = wrk ? wrkResults.get('edge-js')! : c10.reqPerSec.mean;
  return {
    records,
    notes,
    targets: [
      {
        target: `warm throughput ≥ 2× workerd (≥ ${formatNumber(TARGET_REQ_PER_S)} req/s at c=10)`,
        measured: `${formatNumber(measuredBy)} req/s (${wrk ? 'wrk' : 'autocannon'} mean, c=10)`,
        pass: measuredBy >= TARGET_REQ_PER_S,
        note: wrk ? undefined : 'workerd figure is from wrk; wrk absent here',
      },
    ],
  };
}

function pick(p: Percentiles): { p50: number; p90: number; p99: number; mean: number } {
  return { p50: p.p50, p90: p.p90, p99: p.p99, mean: p.mean };
}
