// Storage through a worker over HTTP: warm KV reads against a hello-world request, durable KV writes at 50
// concurrent clients (each acknowledged only once fdatasync'd), R2 puts and gets of 64 KiB objects, and the group
// commit seen from the host's metrics: fdatasync calls per acknowledged write.
import { Agent, request } from 'node:http';
import { startChildHost, type ChildHost } from './child-host.ts';
import { timedGet } from './http-get.ts';
import { interleaveAll, measure, type Measurement, type SuiteResult, type TargetCheck } from './records.ts';
import { formatNumber } from './markdown.ts';
import { summarize } from './stats.ts';
import { deployHelloJs, loadGenerator, type LoadGenerator, type LoadRequest } from './throughput.ts';

export interface StorageOptions {
  durationSec: number;
  rounds: number;
  warmupSec: number;
  log(line: string): void;
  step?(done: number, total: number): void;
}

const SUITE = 'storage';
const OBJECT_BYTES = 64 * 1024;

const WORKER = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    switch (url.pathname) {
      case '/kv-get': return new Response(await env.KV.get('khot'));
      case '/kv-put': { await env.KV.put('k' + (url.searchParams.get('k') ?? ''), await request.text()); return new Response('stored'); }
      case '/r2-put': { const o = await env.R2.put('object', request.body); return new Response(o.etag); }
      case '/r2-get': { const o = await env.R2.get('object'); return new Response(o.body, { headers: { etag: o.httpEtag } }); }
    }
    return new Response('no route', { status: 404 });
  },
};
`;

async function storageMetrics(host: ChildHost): Promise<Record<string, { appends: number; fsyncs: number }>> {
  const text = await host.metrics();
  const out: Record<string, { appends: number; fsyncs: number }> = {};
  for (const m of text.matchAll(/^edge_storage_(appends|fsyncs)\{store="(\w+)"\} (\d+)/gm)) {
    const entry = (out[m[2]!] ??= { appends: 0, fsyncs: 0 });
    entry[m[1] as 'appends' | 'fsyncs'] = Number(m[3]);
  }
  return out;
}

interface Workload {
  name: string;
  path: string;
  concurrency: number;
  request?: LoadRequest;
  note: string;
}

export async function runStorage(options: StorageOptions): Promise<SuiteResult> {
  const gen: LoadGenerator = loadGenerator();
  const notes: string[] = [];
  let host: ChildHost | undefined;
  try {
    host = await startChildHost();
    const helloHeader = await deployHelloJs(host);
    await host.deploy({
      manifest: {
        fileName: 'wrangler.toml',
        content: 'name = "storage-bench"\nmain = "index.js"\ncompatibility_date = "2026-11-01"\nkv_namespaces = [{ binding = "KV", id = "bench" }]\nr2_buckets = [{ binding = "R2", bucket_name = "bench" }]\n',
      },
      modules: [{ path: 'index.js', content: WORKER }],
    });
    const header = `storage-bench.localhost:${host.dataPort}`;
    const agent = new Agent({ keepAlive: false });
    // The hot key and the object the reads fetch.
    await seedWithHost(host.dataPort, header, '/kv-put?k=hot', 'hot value of a warm read, 100 bytes'.padEnd(100, '.'));
    const hot = await timedGet({ port: host.dataPort, host: header, path: '/kv-get', agent });
    if (hot.status !== 200) throw new Error(`kv-get answered ${hot.status}: ${hot.body}`);
    const object = 'o'.repeat(OBJECT_BYTES);
    await seedWithHost(host.dataPort, header, '/r2-put', object);
    if (!hot.body.startsWith('hot value')) throw new Error(`kv-get answered ${JSON.stringify(hot.body.slice(0, 100))}`);

    const workloads: Workload[] = [
      { name: 'hello-js (reference)', path: '/', concurrency: 10, note: 'hello world on the same host, for the KV read ratio' },
      { name: 'kv get (warm, 100 B)', path: '/kv-get', concurrency: 10, note: 'env.KV.get of a 100-byte value' },
      { name: 'kv put (durable, 100 B)', path: '/kv-put', concurrency: 50, request: { method: 'PUT', body: 'v'.repeat(100) }, note: 'env.KV.put, answered once fdatasync\'d (group commit)' },
      { name: 'r2 put (64 KiB)', path: '/r2-put', concurrency: 10, request: { method: 'PUT', body: object }, note: 'env.R2.put of the request body (streamed), durable' },
      { name: 'r2 get (64 KiB)', path: '/r2-get', concurrency: 10, note: 'env.R2.get streamed to the client' },
    ];
    const hostFor = (w: Workload): string => (w.path === '/' ? helloHeader : header);
    for (const w of workloads) await gen.run(`${host.dataUrl}${w.path}`, hostFor(w), w.concurrency, options.warmupSec, {}, w.request);
    options.log(`  storage: ${workloads.length} workloads with ${gen.tool}, ${options.rounds} interleaved rounds of ${options.durationSec} s`);

    const total = workloads.length * options.rounds;
    let done = 0;
    const fsyncRuns: Array<{ appends: number; fsyncs: number; acked: number }> = [];
    const h = host;
    const runs = await interleaveAll(
      options.rounds,
      workloads.map((w) => async () => {
        const before = w.request?.method === 'PUT' && w.path === '/kv-put' ? await storageMetrics(h) : null;
        const r = await gen.run(`${h.dataUrl}${w.path}`, hostFor(w), w.concurrency, options.durationSec, {}, w.request);
        if (before) {
          const after = await storageMetrics(h);
          fsyncRuns.push({ appends: after.kv!.appends - before.kv!.appends, fsyncs: after.kv!.fsyncs - before.kv!.fsyncs, acked: r.requests });
        }
        options.step?.(++done, total);
        if (r.bad > 0) throw new Error(`${gen.tool} against ${w.name}: ${r.bad} errors or non-2xx responses of ${r.requests + r.bad}`);
        return r;
      }),
    );
    const measurements: Measurement[] = [];
    const p50 = new Map<string, number>();
    workloads.forEach((w, i) => {
      const rs = runs[i]!;
      const meta = { suite: SUITE, runtime: 'edge-js' as const, workload: w.name };
      const params = { concurrency: w.concurrency, tool: gen.tool, durationSec: options.durationSec };
      measurements.push(measure({ ...meta, metric: 'requests_per_s', unit: 'req/s', note: w.note }, rs.map((r) => r.reqPerSec), params));
      measurements.push(measure({ ...meta, metric: 'latency_ms', unit: 'ms', note: 'quantiles of each run\'s latency distribution, runs concatenated' }, rs.flatMap((r) => r.latencyQuantilesMs), params));
      p50.set(w.name, summarize(rs.map((r) => r.reqPerSec)).p50);
    });
    const perWrite = fsyncRuns.map((f) => f.fsyncs / Math.max(1, f.appends));
    measurements.push(
      measure({ suite: SUITE, runtime: 'edge-js', workload: 'kv put (durable, 100 B)', metric: 'fsyncs_per_write', unit: 'fsync/write', note: 'KV log fdatasync calls / writes acknowledged during each put run, from the host\'s edge_storage_* metrics' }, perWrite, { concurrency: 50 }),
    );
    const hello = p50.get('hello-js (reference)')!;
    const kvGet = p50.get('kv get (warm, 100 B)')!;
    const kvPut = p50.get('kv put (durable, 100 B)')!;
    const fsyncP50 = summarize(perWrite).p50;
    const checks: TargetCheck[] = [
      { target: 'warm KV get through a worker within 1.3x of a hello-world request (c=10)', measured: `${formatNumber(kvGet)} vs ${formatNumber(hello)} req/s: hello-world is ${(hello / kvGet).toFixed(2)}x`, pass: hello / kvGet <= 1.3, note: 'requests/s ratio, same host, interleaved runs' },
      { target: 'durable KV puts at 50 concurrent clients ≥ 5,000/s', measured: `${formatNumber(kvPut)} puts/s, ${fsyncP50.toFixed(3)} fdatasync per acknowledged put`, pass: kvPut >= 5000, note: 'each put acknowledged after fdatasync; group commit' },
    ];
    notes.push(
      `storage: ${gen.tool} in its own process against one host; every KV put and R2 put is durable (fdatasync) before its response. Group commit: ${fsyncP50.toFixed(3)} fdatasync per acknowledged KV put at c=50 (p50 over runs; ${fsyncRuns.map((f) => `${f.fsyncs}/${f.appends}`).join(', ')}).`,
      `storage: R2 64 KiB objects: put ${formatNumber(p50.get('r2 put (64 KiB)')!)} req/s (${((p50.get('r2 put (64 KiB)')! * OBJECT_BYTES) / 1048576).toFixed(1)} MiB/s), get ${formatNumber(p50.get('r2 get (64 KiB)')!)} req/s (${((p50.get('r2 get (64 KiB)')! * OBJECT_BYTES) / 1048576).toFixed(1)} MiB/s).`,
    );
    return { measurements, targets: checks, notes };
  } finally {
    await host?.stop();
  }
}

/** A PUT through the data plane with the Host header a worker is routed by. */
async function seedWithHost(port: number, host: string, path: string, body: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'PUT', headers: { host, 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PUT ${path} answered ${res.statusCode}: ${text}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}
