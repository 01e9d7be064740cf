// Warm hello-world throughput over HTTP at several concurrencies: the host serving hello-js and the hello-as
// component, workerd serving the same hello world (when installed) and, as the ceiling of our host, a plain Fastify
// hello world, all running at once in their own child processes (idle while another is loaded), with the load
// generator in yet another process: wrk when it is installed (with a Lua hook that prints its whole latency
// distribution as quantiles), else autocannon's CLI. Runs are interleaved across runtimes (round r starts with
// runtime r mod k), so that drift of this shared machine hits every runtime alike.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { NODE, ROOT, makeTempDir, readCpuSeconds, startChildHost, startFastifyHello, trackChild, type ChildHost } from './child-host.ts';
import { helloAsComponent, helloAsUpload } from './hello-as.ts';
import { timedGet } from './http-get.ts';
import { interleaveAll, measure, type Measurement, type Runtime, type SuiteResult, type TargetCheck } from './records.ts';
import { formatNumber } from './markdown.ts';
import { collectUpload } from '../host/deploy/upload.ts';
import { summarize } from './stats.ts';
import { ratioText, type WorkerdApi, type WorkerdServer } from './workerd-bridge.ts';

export interface ThroughputOptions {
  durationSec: number;
  concurrencies: number[];
  rounds: number;
  warmupSec: number;
  log(line: string): void;
  step?(done: number, total: number): void;
  workerd?: WorkerdApi;
}

/** workerd hello world measured here with `wrk -t1 -c10 -d10s` (LAB-NOTES.md): 9-11k req/s; used when workerd is absent. */
const LAB_WORKERD_REQ_PER_S = 10_000;
const SUITE = 'warm';
const QUANTILES = 200;

/** One load run: requests/s over the run, latency distribution as QUANTILES quantiles (ms), requests answered. */
export interface LoadRun {
  reqPerSec: number;
  latencyQuantilesMs: number[];
  requests: number;
  bad: number;
}

/** A request other than a plain GET: its method and body (the same for every request of the run). */
export interface LoadRequest {
  method: string;
  body?: string;
}

export interface LoadGenerator {
  tool: 'wrk' | 'autocannon';
  version: string;
  run(url: string, hostHeader: string | null, connections: number, durationSec: number, headers?: Record<string, string>, request?: LoadRequest): Promise<LoadRun>;
}

const WRK_SCRIPT = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("EDGE_SUMMARY %d %d %d %d\\n", summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status))
  local qs = {}
  for i = 1, ${QUANTILES} do qs[#qs + 1] = string.format("%d", latency:percentile((i - 0.5) * 100 / ${QUANTILES})) end
  io.write("EDGE_QUANTILES " .. table.concat(qs, " ") .. "\\n")
end
`;

function runProcess(cmd: string, args: string[], timeoutSec: number): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutSec * 1000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

function wrkGenerator(wrk: string): LoadGenerator {
  const script = join(makeTempDir('wrk'), 'quantiles.lua');
  writeFileSync(script, WRK_SCRIPT);
  let version = 'unknown';
  try {
    version = execFileSync(wrk, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!.trim();
  } catch (e) {
    // wrk -v exits with 1 after printing its version.
    version = String((e as { stdout?: string }).stdout ?? '').split('\n')[0]!.trim() || 'unknown';
  }
  return {
    tool: 'wrk',
    version,
    async run(url, hostHeader, connections, durationSec, headers = {}, request) {
      let scriptFile = script;
      if (request) {
        // wrk takes the method and body from its Lua script.
        scriptFile = join(makeTempDir('wrk'), 'request.lua');
        const body = request.body === undefined ? '' : `wrk.body = [==[${request.body}]==]\n`;
        writeFileSync(scriptFile, `wrk.method = ${JSON.stringify(request.method)}\n${body}${WRK_SCRIPT}`);
      }
      const args = ['-t1', `-c${connections}`, `-d${durationSec}s`, '-s', scriptFile];
      if (hostHeader) args.push('-H', `Host: ${hostHeader}`);
      for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
      args.push(url);
      const { code, out, err } = await runProcess(wrk, args, durationSec + 30);
      const sum = /^EDGE_SUMMARY (\d+) (\d+) (\d+) (\d+)$/m.exec(out);
      const qs = /^EDGE_QUANTILES (.+)$/m.exec(out);
      if (code !== 0 || !sum || !qs) throw new Error(`wrk ${args.join(' ')} failed (${code}): ${out} ${err}`);
      const requests = Number(sum[1]);
      return {
        reqPerSec: requests / (Number(sum[2]) / 1e6),
        latencyQuantilesMs: qs[1]!.split(' ').map((v) => Number(v) / 1000),
        requests,
        bad: Number(sum[3]) + Number(sum[4]),
      };
    },
  };
}

const AUTOCANNON = join(ROOT, 'node_modules/autocannon/autocannon.js');

function autocannonGenerator(): LoadGenerator {
  const version = (JSON.parse(readFileSync(join(ROOT, 'node_modules/autocannon/package.json'), 'utf8')) as { version: string }).version;
  return {
    tool: 'autocannon',
    version,
    async run(url, hostHeader, connections, durationSec, headers = {}, request) {
      const args = [AUTOCANNON, '-c', String(connections), '-d', String(durationSec), '--json'];
      if (request) {
        args.push('-m', request.method);
        if (request.body !== undefined) args.push('-b', request.body);
      }
      if (hostHeader) args.push('-H', `host=${hostHeader}`);
      for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
      args.push(url);
      const { code, out, err } = await runProcess(NODE, args, durationSec + 30);
      if (code !== 0) throw new Error(`autocannon exited with ${code}: ${err.trim() || out.trim()}`);
      const r = JSON.parse(out) as { requests: { mean: number }; latency: Record<string, number>; errors: number; timeouts: number; non2xx: number; '2xx': number };
      // autocannon reports a fixed set of percentiles (p1 ... p99.999): the quantiles are read off that step function.
      const known = Object.entries(r.latency)
        .filter(([k]) => /^p\d/.test(k))
        .map(([k, v]) => ({ p: Number(k.slice(1).replace('_', '.')), v }))
        .sort((a, b) => a.p - b.p);
      const q = Array.from({ length: QUANTILES }, (_, i) => {
        const p = ((i + 0.5) * 100) / QUANTILES;
        return (known.find((k) => k.p >= p) ?? known[known.length - 1]!).v;
      });
      return { reqPerSec: r.requests.mean, latencyQuantilesMs: q, requests: r['2xx'], bad: r.errors + r.timeouts + r.non2xx };
    },
  };
}

export function loadGenerator(): LoadGenerator {
  const wrk = existsSync('/usr/bin/wrk') ? '/usr/bin/wrk' : null;
  return wrk ? wrkGenerator(wrk) : autocannonGenerator();
}

interface Target {
  pid: number;
  runtime: Runtime;
  workload: string;
  url: string;
  hostHeader: string | null;
  headers?: Record<string, string>;
}

/** What the gateway benchmark sends: a bearer token and a client cookie, so that every request is authenticated, rate-limited and a cache hit. */
const GATEWAY_HEADERS = { authorization: 'Bearer dev-token-1', cookie: 'gw_id=00000000-0000-4000-8000-000000000001' };

/** examples/gateway in front of `originUrl`, with a rate limit no benchmark reaches; its GETs are answered from the Cache API once warm. */
export async function deployGateway(host: ChildHost, originUrl: string): Promise<string> {
  const upload = await collectUpload(join(ROOT, 'examples/gateway'));
  const content = upload.manifest.content
    .replace(/^ORIGIN = .*$/m, `ORIGIN = ${JSON.stringify(originUrl)}`)
    .replace(/^RATE_LIMIT_PER_MINUTE = .*$/m, 'RATE_LIMIT_PER_MINUTE = 1000000000');
  await host.deploy({ ...upload, manifest: { ...upload.manifest, content } });
  const hostHeader = `gateway.localhost:${host.dataPort}`;
  let cache = '';
  for (let i = 0; i < 50 && cache !== 'HIT'; i++) {
    const check = await timedGet({ port: host.dataPort, host: hostHeader, headers: GATEWAY_HEADERS, agent: new Agent({ keepAlive: false }) });
    if (check.status !== 200) throw new Error(`gateway answered ${check.status}: ${check.body.slice(0, 300)}`);
    cache = String(check.headers['x-gateway-cache'] ?? '');
    if (cache !== 'HIT') await new Promise((r) => setTimeout(r, 20));
  }
  if (cache !== 'HIT') throw new Error('the gateway never served its GET from the cache');
  return hostHeader;
}

export async function deployHelloJs(host: ChildHost, name = 'hello-js'): Promise<string> {
  const dir = join(ROOT, 'examples/hello-js');
  const manifest = readFileSync(join(dir, 'wrangler.toml'), 'utf8').replace(/^name\s*=.*$/m, `name = ${JSON.stringify(name)}`);
  await host.deploy({ manifest: { fileName: 'wrangler.toml', content: manifest }, modules: [{ path: 'index.js', content: readFileSync(join(dir, 'index.js'), 'utf8') }] });
  const hostHeader = `${name}.localhost:${host.dataPort}`;
  const check = await timedGet({ port: host.dataPort, host: hostHeader, agent: new Agent({ keepAlive: false }) });
  if (check.status !== 200 || !check.body.startsWith('Hello from the edge!')) throw new Error(`${name} answered ${check.status}: ${check.body.slice(0, 300)}`);
  return hostHeader;
}

export async function runThroughput(options: ThroughputOptions): Promise<SuiteResult> {
  const gen = loadGenerator();
  const notes: string[] = [];
  const targets: Target[] = [];
  let host: ChildHost | undefined;
  let workerd: WorkerdServer | undefined;
  let fastify: Awaited<ReturnType<typeof startFastifyHello>> | undefined;
  try {
    fastify = await startFastifyHello();
    // The gateway's origin is the plain Fastify hello, on loopback.
    host = await startChildHost(['--egress-allow', '127.0.0.1']);
    const jsHeader = await deployHelloJs(host);
    targets.push({ pid: host.pid, runtime: 'edge-js', workload: 'hello-js', url: `${host.dataUrl}/`, hostHeader: jsHeader });
    const gwHeader = await deployGateway(host, fastify.url);
    targets.push({ pid: host.pid, runtime: 'edge-js', workload: 'gateway', url: `${host.dataUrl}/`, hostHeader: gwHeader, headers: GATEWAY_HEADERS });
    const { component } = await helloAsComponent();
    await host.deploy(helloAsUpload('hello-as', component));
    const asHeader = `hello-as.localhost:${host.dataPort}`;
    const asCheck = await timedGet({ port: host.dataPort, host: asHeader, agent: new Agent({ keepAlive: false }) });
    if (asCheck.status !== 200 || asCheck.body !== `hello from http://${asHeader}/\n`) throw new Error(`hello-as answered ${asCheck.status}: ${asCheck.body.slice(0, 300)}`);
    targets.push({ pid: host.pid, runtime: 'edge-wasm', workload: 'hello-as', url: `${host.dataUrl}/`, hostHeader: asHeader });
    if (options.workerd) {
      workerd = await options.workerd.start(1);
      const u = workerd.url(workerd.names[0]!);
      targets.push({ pid: workerd.pid, runtime: 'workerd', workload: 'hello', url: u.url, hostHeader: u.host });
    }
    targets.push({ pid: fastify.pid, runtime: 'fastify', workload: 'plain Fastify hello (ceiling)', url: `${fastify.url}/`, hostHeader: null });

    for (const t of targets) {
      const w = await gen.run(t.url, t.hostHeader, 10, options.warmupSec, t.headers);
      if (w.bad > 0) notes.push(`warm: ${t.runtime}: the dropped warm-up saw ${w.bad} errors or non-2xx responses of ${w.requests}.`);
    }
    options.log(`  warm: ${targets.map((t) => t.runtime).join(', ')} with ${gen.tool} at c=${options.concurrencies.join(',')}, ${options.rounds} rounds of ${options.durationSec} s, interleaved`);

    const measurements: Measurement[] = [];
    const total = options.concurrencies.length * options.rounds * targets.length;
    let done = 0;
    const reqs = new Map<string, number[]>();
    for (const c of options.concurrencies) {
      const runs = await interleaveAll(
        options.rounds,
        targets.map((t) => async () => {
          const cpu0 = readCpuSeconds(t.pid);
          const r = await gen.run(t.url, t.hostHeader, c, options.durationSec, t.headers);
          const cpu1 = readCpuSeconds(t.pid);
          options.step?.(++done, total);
          if (r.bad > 0) throw new Error(`${gen.tool} against ${t.runtime} at c=${c}: ${r.bad} errors or non-2xx responses of ${r.requests + r.bad}`);
          return { ...r, cpuUs: ((cpu1.total - cpu0.total) * 1e6) / r.requests };
        }),
      );
      targets.forEach((t, i) => {
        const rs = runs[i]!;
        const params = { concurrency: c, tool: gen.tool, durationSec: options.durationSec };
        const meta = { suite: SUITE, runtime: t.runtime, workload: t.workload };
        measurements.push(measure({ ...meta, metric: 'requests_per_s', unit: 'req/s', note: `one sample per ${options.durationSec} s run (${gen.tool} -t1 -c${c})` }, rs.map((r) => r.reqPerSec), params));
        measurements.push(
          measure(
            { ...meta, metric: 'latency_ms', unit: 'ms', note: `samples are the ${QUANTILES} quantiles ((i-0.5)/${QUANTILES}) of each run's full latency distribution (${gen.tool}), runs concatenated; coordinated omission not corrected` },
            rs.flatMap((r) => r.latencyQuantilesMs),
            params,
          ),
        );
        measurements.push(measure({ ...meta, metric: 'server_cpu_us_per_request', unit: 'µs', note: 'server process user+system CPU (all threads, /proc/<pid>/stat, 10 ms ticks) / requests answered, per run' }, rs.map((r) => r.cpuUs), params));
        reqs.set(`${t.runtime === 'edge-js' && t.workload === 'gateway' ? 'gateway' : t.runtime}@${c}`, rs.map((r) => r.reqPerSec));
      });
    }

    notes.push(
      `warm: load generator ${gen.tool} (${gen.version}) in its own process, one thread; servers each in their own child process, all started before the runs and idle while another is loaded; ${options.rounds} interleaved rounds of ${options.durationSec} s per runtime and concurrency after a ${options.warmupSec} s warm-up (dropped); loopback 127.0.0.1.`,
      "warm: hello-as logs one line per request (console.log → the log capability → the host's log hub), hello-js logs nothing.",
    );
    const p50 = (k: string): number | undefined => {
      const xs = reqs.get(k);
      return xs ? summarize(xs).p50 : undefined;
    };
    const checks: TargetCheck[] = [];
    for (const c of options.concurrencies) {
      const e = p50(`edge-js@${c}`)!;
      const f = p50(`fastify@${c}`)!;
      const w = p50(`workerd@${c}`);
      const a = p50(`edge-wasm@${c}`)!;
      const g = p50(`gateway@${c}`)!;
      notes.push(
        `warm c=${c} (p50 of runs): edge-js ${formatNumber(e)} req/s = ${((100 * e) / f).toFixed(0)}% of plain Fastify (${formatNumber(f)}); edge-wasm ${formatNumber(a)} req/s; ` +
          `gateway example (bearer auth, rate limit, A/B hash, Cache API hit) ${formatNumber(g)} req/s = ${((100 * g) / e).toFixed(0)}% of hello-js` +
          (w !== undefined ? `; workerd ${formatNumber(w)} req/s; edge-js ${ratioText(e, w)}, edge-wasm ${ratioText(a, w)} (higher is better for us).` : '.'),
      );
    }
    const c10 = options.concurrencies.includes(10) ? 10 : options.concurrencies[0]!;
    const e10 = p50(`edge-js@${c10}`)!;
    const w10 = p50(`workerd@${c10}`);
    if (w10 !== undefined) {
      checks.push({ target: `JS warm throughput ≥ 2× workerd (c=${c10})`, measured: `${formatNumber(e10)} vs ${formatNumber(w10)} req/s = ${(e10 / w10).toFixed(2)}x`, pass: e10 >= 2 * w10, note: `same machine, same run, ${gen.tool}, interleaved` });
    } else {
      checks.push({ target: `JS warm throughput ≥ 2× workerd (c=${c10})`, measured: `${formatNumber(e10)} req/s vs lab-notes workerd ~${formatNumber(LAB_WORKERD_REQ_PER_S)}`, pass: e10 >= 2 * LAB_WORKERD_REQ_PER_S, note: 'workerd not run here: compared with the lab notes figure (wrk -c10)' });
    }
    return { measurements, targets: checks, notes };
  } finally {
    await host?.stop();
    await workerd?.stop();
    await fastify?.stop();
  }
}
