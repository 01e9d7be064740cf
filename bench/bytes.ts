// Bytes through a worker, beside workerd in the same run: (a) a 50 MB response the worker builds as a JS
// ReadableStream of 64 KiB TextEncoder chunks, (b) a 30 MB upload read whole with request.arrayBuffer(), (c) a
// 100 MB object passed through unread (`new Response((await env.BUCKET.get(k)).body)`). Each request is sent alone
// and measured as the server process's CPU (user + system, all threads, from /proc/<pid>/stat) and its wall time;
// for our host also the CPU charged to the worker (edge_cpu_seconds_total).
//
// workerd's open-source build has no local R2 of its own (miniflare implements R2 as a worker on top of it), so its
// side of (c) reads the same 100 MB file from a `disk` service binding (`env.FILES.fetch(...)`) and returns that
// body: the same "storage body passed through unread" path, backed by workerd's own file server.
import { request as httpRequest, Agent } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, readCpuSeconds, removeTempDir, startChildHost, type ChildHost } from './child-host.ts';
import { formatNumber } from './markdown.ts';
import { measure, type Measurement, type SuiteResult, type TargetCheck } from './records.ts';
import { summarize } from './stats.ts';
import { ratioText, type WorkerdApi } from './workerd-bridge.ts';
import { startWorkerd, type RunningWorkerd } from './workerd.ts';

export interface BytesOptions {
  /** Requests per workload and runtime (each one alone on its connection). */
  requests: number;
  log(line: string): void;
  step?(done: number, total: number): void;
  workerd?: WorkerdApi;
}

const SUITE = 'bytes';
const MB = 1_000_000;
const STREAM_BYTES = 50 * MB;
const UPLOAD_BYTES = 30 * MB;
const OBJECT_BYTES = 100 * MB;
const CHUNK = 65536;
/** The worker's cpu_ms in the bench, and the default one its charged CPU is checked against. */
const BENCH_CPU_MS = 30_000;
const DEFAULT_CPU_MS = 50;

/** The worker both runtimes run (workerd reaches its object through FILES, ours through BUCKET). */
const WORKER = `
const STREAM_BYTES = ${STREAM_BYTES};
const CHUNK = ${CHUNK};
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    switch (url.pathname) {
      case '/stream': {
        // 64 KiB strings (one built per request, as a template would) encoded chunk by chunk.
        const text = 'edge bytes bench, streamed response built from TextEncoder chunks. '.repeat(Math.ceil(CHUNK / 32)).slice(0, CHUNK);
        const enc = new TextEncoder();
        let sent = 0;
        return new Response(new ReadableStream({
          pull(controller) {
            if (sent >= STREAM_BYTES) { controller.close(); return; }
            const bytes = enc.encode(sent + CHUNK <= STREAM_BYTES ? text : text.slice(0, STREAM_BYTES - sent));
            sent += bytes.byteLength;
            controller.enqueue(bytes);
          },
        }), { headers: { 'content-type': 'text/plain' } });
      }
      case '/upload': {
        const buf = await request.arrayBuffer();
        return new Response(String(buf.byteLength));
      }
      case '/object': {
        const o = env.BUCKET ? await env.BUCKET.get('object') : await env.FILES.fetch('http://files/object');
        return new Response(o.body);
      }
      case '/put': {
        const o = await env.BUCKET.put('object', request.body);
        return new Response(String(o.size));
      }
    }
    return new Response('bytes bench');
  },
};
`;

function workerdBytesConfig(filesDir: string): string {
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "hello-0", worker = .w0),
    (name = "files", disk = (path = ${JSON.stringify(filesDir)}, writable = false)),
  ],
  sockets = [
    (name = "hello-0", address = "127.0.0.1:0", http = (), service = "hello-0"),
  ],
);

const w0 :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2026-11-01",
  bindings = [(name = "FILES", service = "files")],
);
`;
}

/** `size` bytes in 64 KiB chunks of one block (the upload and the seeded object). */
function* payload(size: number, block: Buffer): Generator<Buffer> {
  for (let at = 0; at < size; at += CHUNK) yield block.subarray(0, Math.min(CHUNK, size - at));
}

interface Sent {
  status: number;
  bytes: number;
  body: string;
  ms: number;
}

/** One request on a fresh connection; the response is counted, not kept (its first 200 bytes are). */
function send(port: number, host: string, path: string, agent: Agent, upload?: { size: number; block: Buffer }): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const headers: Record<string, string | number> = { host };
    if (upload) headers['content-length'] = upload.size;
    const req = httpRequest({ host: '127.0.0.1', port, path, method: upload ? 'PUT' : 'GET', agent, headers }, (res) => {
      let bytes = 0;
      let body = '';
      res.on('data', (c: Buffer) => {
        if (body.length < 200) body += c.subarray(0, 200).toString('latin1');
        bytes += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, body, ms: performance.now() - t0 }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error(`${path}: the response was cut off after ${bytes} bytes`)));
    });
    req.setTimeout(120_000, () => req.destroy(new Error(`${path} timed out`)));
    req.on('error', reject);
    if (!upload) {
      req.end();
      return;
    }
    const chunks = payload(upload.size, upload.block);
    const write = (): void => {
      for (;;) {
        const n = chunks.next();
        if (n.done) {
          req.end();
          return;
        }
        if (!req.write(n.value)) {
          req.once('drain', write);
          return;
        }
      }
    };
    write();
  });
}

interface Target {
  runtime: 'edge-js' | 'workerd';
  pid: number;
  port: number;
  host: string;
  /** CPU charged to the worker so far in ms (our host only). */
  chargedMs?: () => Promise<number>;
}

interface Workload {
  name: string;
  path: string;
  bytes: number;
  upload?: boolean;
  check(r: Sent): string | null;
}

interface Sample {
  cpuMs: number;
  wallMs: number;
  chargedMs: number | null;
}

async function chargedCpuMs(host: ChildHost, worker: string): Promise<number> {
  const m = new RegExp(`^edge_cpu_seconds_total\\{worker="${worker}"\\} (\\S+)$`, 'm').exec(await host.metrics());
  return m ? Number(m[1]) * 1000 : 0;
}

/** The CPU charged once the request has been accounted (shortly after its last byte). */
async function chargedAfter(read: () => Promise<number>, before: number): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const now = await read();
    if (now > before) return now - before;
    await new Promise((r) => setTimeout(r, 20));
  }
  return (await read()) - before;
}

async function sample(target: Target, w: Workload, agent: Agent, block: Buffer): Promise<Sample> {
  const charged0 = target.chargedMs ? await target.chargedMs() : 0;
  // Let the previous request's tail (socket close, GC) settle before reading the counters.
  await new Promise((r) => setTimeout(r, 50));
  const cpu0 = readCpuSeconds(target.pid).total;
  const r = await send(target.port, target.host, w.path, agent, w.upload ? { size: w.bytes, block } : undefined);
  const wallMs = r.ms;
  await new Promise((r) => setTimeout(r, 50));
  const cpuMs = (readCpuSeconds(target.pid).total - cpu0) * 1000;
  const bad = r.status !== 200 ? `HTTP ${r.status}: ${r.body.slice(0, 200)}` : w.check(r);
  if (bad) throw new Error(`${target.runtime} ${w.name}: ${bad}`);
  const chargedMs = target.chargedMs ? await chargedAfter(target.chargedMs, charged0) : null;
  return { cpuMs, wallMs, chargedMs };
}

export async function runBytes(options: BytesOptions): Promise<SuiteResult> {
  const block = Buffer.alloc(CHUNK, 'edge bytes bench upload 0123456789abcdef\n');
  const workloads: Workload[] = [
    { name: '50 MB streamed response (TextEncoder chunks)', path: '/stream', bytes: STREAM_BYTES, check: (r) => (r.bytes === STREAM_BYTES ? null : `got ${r.bytes} bytes of ${STREAM_BYTES}`) },
    { name: '30 MB upload read with arrayBuffer()', path: '/upload', bytes: UPLOAD_BYTES, upload: true, check: (r) => (r.body === String(UPLOAD_BYTES) ? null : `answered ${JSON.stringify(r.body)}`) },
    { name: '100 MB object passed through', path: '/object', bytes: OBJECT_BYTES, check: (r) => (r.bytes === OBJECT_BYTES ? null : `got ${r.bytes} bytes of ${OBJECT_BYTES}`) },
  ];
  const notes: string[] = [];
  let host: ChildHost | undefined;
  let workerd: RunningWorkerd | undefined;
  let filesDir: string | undefined;
  const agent = new Agent({ keepAlive: false });
  try {
    host = await startChildHost();
    const h = host;
    // Room to run: the suite measures what the bytes cost, and a request cut off by the default cpu_ms 50 would measure
    // nothing; whether they fit the default is the "charged" figure's check below.
    const limits = `[limits]\ncpu_ms = ${BENCH_CPU_MS}\n`;
    await host.deploy({
      manifest: { fileName: 'wrangler.toml', content: `name = "bytes-bench"\nmain = "index.js"\ncompatibility_date = "2026-11-01"\nr2_buckets = [{ binding = "BUCKET", bucket_name = "bench" }]\n${limits}` },
      modules: [{ path: 'index.js', content: WORKER }],
    });
    const targets: Target[] = [{ runtime: 'edge-js', pid: host.pid, port: host.dataPort, host: `bytes-bench.localhost:${host.dataPort}`, chargedMs: () => chargedCpuMs(h, 'bytes-bench') }];
    const seeded = await send(host.dataPort, targets[0]!.host, '/put', agent, { size: OBJECT_BYTES, block });
    if (seeded.status !== 200 || seeded.body !== String(OBJECT_BYTES)) throw new Error(`seeding the 100 MB R2 object answered ${seeded.status}: ${seeded.body}`);
    if (options.workerd) {
      filesDir = makeTempDir('workerd-files');
      const file = Buffer.alloc(OBJECT_BYTES, block);
      writeFileSync(join(filesDir, 'object'), file);
      workerd = await startWorkerd({ workers: 1, script: WORKER, config: workerdBytesConfig(filesDir) });
      const { url, host: header } = workerd.url('hello-0');
      targets.push({ runtime: 'workerd', pid: workerd.pid, port: Number(new URL(url).port), host: header });
    } else {
      notes.push('bytes: workerd not available, edge figures only.');
    }

    const total = workloads.length * targets.length * (options.requests + 1);
    let done = 0;
    options.log(`  bytes: ${workloads.length} workloads × ${targets.map((t) => t.runtime).join(' + ')}, 1 warm-up + ${options.requests} requests each, one at a time`);
    const results = new Map<string, Sample[]>();
    // Warm-up: each worker's first request (isolate start, JIT) is not measured.
    for (const w of workloads) for (const t of targets) {
      await sample(t, w, agent, block);
      options.step?.(++done, total);
    }
    // Interleaved: request i of every (workload, runtime) before request i + 1 of any, so drift hits all alike.
    for (let i = 0; i < options.requests; i++) {
      for (const w of workloads) for (const t of targets) {
        const key = `${t.runtime}|${w.name}`;
        const list = results.get(key) ?? [];
        list.push(await sample(t, w, agent, block));
        results.set(key, list);
        options.step?.(++done, total);
      }
    }

    const measurements: Measurement[] = [];
    const checks: TargetCheck[] = [];
    const p50 = (t: Target, w: Workload, f: (s: Sample) => number): number => summarize(results.get(`${t.runtime}|${w.name}`)!.map(f)).p50;
    for (const w of workloads) {
      for (const t of targets) {
        const samples = results.get(`${t.runtime}|${w.name}`)!;
        const meta = { suite: SUITE, runtime: t.runtime, workload: w.name };
        const params = { bytes: w.bytes, requests: options.requests };
        measurements.push(measure({ ...meta, metric: 'process_cpu_ms_per_request', unit: 'ms', note: 'user + system CPU of the server process (all threads) per request, /proc/<pid>/stat (10 ms ticks)' }, samples.map((s) => s.cpuMs), params));
        measurements.push(measure({ ...meta, metric: 'throughput_mb_per_s', unit: 'MB/s', note: 'body bytes / wall time of one request alone, client in the bench process' }, samples.map((s) => w.bytes / MB / (s.wallMs / 1000)), params));
        if (t.chargedMs) measurements.push(measure({ ...meta, metric: 'charged_cpu_ms_per_request', unit: 'ms', note: 'CPU charged to the worker (edge_cpu_seconds_total), what counts against cpu_ms' }, samples.map((s) => s.chargedMs ?? 0), params));
      }
      const edge = targets[0]!;
      const ours = p50(edge, w, (s) => s.cpuMs);
      const charged = p50(edge, w, (s) => s.chargedMs ?? 0);
      const theirs = targets[1] ? p50(targets[1], w, (s) => s.cpuMs) : undefined;
      const mbps = p50(edge, w, (s) => w.bytes / MB / (s.wallMs / 1000));
      const theirMbps = targets[1] ? p50(targets[1], w, (s) => w.bytes / MB / (s.wallMs / 1000)) : undefined;
      notes.push(
        `bytes: ${w.name}: ${formatNumber(ours)} ms process CPU per request (${formatNumber(charged)} ms charged to the worker), ${formatNumber(mbps)} MB/s${theirs !== undefined ? `; workerd ${formatNumber(theirs)} ms, ${formatNumber(theirMbps!)} MB/s: ${ratioText(ours, theirs)}` : ''}.`,
      );
      if (w.path !== '/object') {
        checks.push({
          target: `${w.name}: process CPU within 1.3x of workerd`,
          measured: theirs !== undefined ? `${formatNumber(ours)} vs ${formatNumber(theirs)} ms: ${ratioText(ours, theirs)}` : `${formatNumber(ours)} ms (workerd not run)`,
          pass: theirs !== undefined ? ours / theirs <= 1.3 : null,
          note: 'p50 per request, same run (issue 15)',
        });
      }
      checks.push({
        target: `${w.name}: CPU charged to the worker within the default cpu_ms ${DEFAULT_CPU_MS}`,
        measured: `${formatNumber(charged)} ms`,
        pass: charged <= DEFAULT_CPU_MS,
        note: `p50 per request; the bench runs the worker with cpu_ms ${BENCH_CPU_MS}`,
      });
    }
    notes.push(
      'bytes: workerd has no local R2 in its open-source build (miniflare provides it), so its "100 MB object passed through" reads the same file from a disk service binding (env.FILES.fetch) and returns that body; ours returns an R2 object body (the host pipes it, see host-streams.js).',
    );
    return { measurements, targets: checks, notes };
  } finally {
    agent.destroy();
    await workerd?.stop();
    if (filesDir) removeTempDir(filesDir);
    await host?.stop();
  }
}
