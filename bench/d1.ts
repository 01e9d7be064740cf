// D1 in the storage suite: point reads and single-row inserts per second through a worker over HTTP (env.DB, the
// whole path: load generator → data plane → isolate → sql capability → the database's SQL thread → segment log), and
// the same operations without that path, so that its overhead is visible:
//   - over HTTP with the same load generator and concurrencies: the same point read on sql.js behind a plain Fastify
//     route (bench/fastify-sqljs.ts), with hello-js and the plain Fastify hello beside (the worker overhead alone);
//   - in this process: sql.js with a statement prepared once and prepared per call, and storage/sql's SqlEngine called
//     directly (no HTTP, no isolate) by 10 concurrent callers, reads and durable inserts.
// Target (the D1 issue): the read through a worker costs at most 2x the per-request time of the read behind Fastify.
import { request } from 'node:http';
import { cpus } from 'node:os';
import { makeTempDir, readCpuSeconds, removeTempDir, startChild, startChildHost, type ChildHost, type StartedChild } from './child-host.ts';
import { expectedRow, INSERT_SQL, openSeededSqlJs, randomId, READ_SQL, ROWS, SEED_SQL } from './d1-data.ts';
import { formatNumber } from './markdown.ts';
import { interleaveAll, measure, type Measurement, type Runtime, type SuiteResult, type TargetCheck } from './records.ts';
import { summarize } from './stats.ts';
import { deployHelloJs, loadGenerator, type LoadGenerator, type LoadRequest, type LoadRun } from './throughput.ts';
import { SqlEngine } from '../storage/sql/sql-store.ts';

export interface D1Options {
  durationSec: number;
  rounds: number;
  warmupSec: number;
  /** Concurrencies of the point reads (KV gets run at 10). */
  readConcurrencies: number[];
  /** Concurrencies of the inserts (KV puts run at 50). */
  insertConcurrencies: number[];
  /** Seconds per sample of the in-process measurements (sql.js, SqlEngine). */
  directSec: number;
  /** Concurrent callers of SqlEngine. */
  callers: number;
  log(line: string): void;
  step?(done: number, total: number): void;
}

const SUITE = 'storage';
/** The issue's target: per-request time through a worker ≤ this × the same read behind plain Fastify. */
export const MAX_READ_RATIO = 2;

const MANIFEST = 'name = "d1-bench"\nmain = "index.js"\ncompatibility_date = "2026-11-01"\nd1_databases = [{ binding = "DB", database_name = "bench", database_id = "bench" }]\n';

export const D1_WORKER = `
const ROWS = ${ROWS};
const READ = ${JSON.stringify(READ_SQL)};
const INSERT = ${JSON.stringify(INSERT_SQL)};
const SEED = ${JSON.stringify(SEED_SQL)};
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    switch (url.pathname) {
      case '/d1-read': {
        const id = 1 + Math.floor(Math.random() * ROWS);
        const row = await env.DB.prepare(READ).bind(id).first();
        if (row === null) return new Response('no row ' + id, { status: 500 });
        return Response.json(row);
      }
      case '/d1-insert': {
        const r = await env.DB.prepare(INSERT).bind('new-' + Math.random().toString(36).slice(2, 10), Math.floor(Math.random() * 1e6)).run();
        return new Response(String(r.meta.last_row_id));
      }
      case '/d1-seed': {
        await env.DB.exec(SEED);
        return new Response(String(await env.DB.prepare('SELECT count(*) AS n FROM items').first('n')));
      }
      case '/d1-read-id': {
        const id = Number(url.searchParams.get('id'));
        return Response.json(await env.DB.prepare(READ).bind(id).first());
      }
    }
    return new Response('no route', { status: 404 });
  },
};
`;

// ---- targets (pure: what the runner judges) -----------------------------------------------------------------

/** p50 requests/s of one concurrency's read workloads. */
export interface ReadFigures {
  concurrency: number;
  /** Point reads through a worker (env.DB). */
  worker: number;
  /** The same read on sql.js behind a plain Fastify route. */
  fastifySqljs: number;
  helloJs?: number;
  fastifyHello?: number;
}

export interface InsertFigures {
  concurrency: number;
  /** Inserts/s through a worker, each acknowledged once durable. */
  worker: number;
  /** fdatasync calls per insert, when the host exposes them. */
  fsyncsPerInsert: number | null;
  cpuUsPerInsert?: number;
}

/** Per-request time through the worker ÷ behind Fastify, i.e. Fastify's requests/s ÷ the worker's. */
export function readRatio(f: Pick<ReadFigures, 'worker' | 'fastifySqljs'>): number {
  return f.fastifySqljs / f.worker;
}

export function d1Targets(reads: readonly ReadFigures[], inserts: readonly InsertFigures[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const f of reads) {
    const r = readRatio(f);
    const beside = [f.helloJs !== undefined ? `hello-js ${formatNumber(f.helloJs)} req/s` : '', f.fastifyHello !== undefined ? `plain Fastify hello ${formatNumber(f.fastifyHello)} req/s` : ''].filter((s) => s !== '');
    checks.push({
      target: `D1 point read through a worker vs the same read on sql.js behind plain Fastify: at most ${MAX_READ_RATIO}x (c=${f.concurrency})`,
      measured: `${formatNumber(f.fastifySqljs)} ÷ ${formatNumber(f.worker)} req/s = ${r.toFixed(2)}x per-request time${beside.length > 0 ? `; beside it ${beside.join(', ')}` : ''}`,
      pass: r <= MAX_READ_RATIO,
      note: 'Fastify + sql.js req/s ÷ worker req/s (p50 of interleaved runs, same load generator); hello-js vs Fastify hello is the worker overhead without D1',
    });
  }
  for (const f of inserts) {
    checks.push({
      target: `D1 single-row durable inserts through a worker (c=${f.concurrency})`,
      measured: `${formatNumber(f.worker)} inserts/s${f.fsyncsPerInsert !== null ? `, ${f.fsyncsPerInsert.toFixed(3)} fdatasync per insert` : ''}${f.cpuUsPerInsert !== undefined ? `, ${formatNumber(f.cpuUsPerInsert)} µs server CPU per insert` : ''}`,
      pass: null,
      note: 'no target in the issue: shown, not judged; each insert answered once its log record is fdatasync\'d',
    });
  }
  return checks;
}

// ---- in process: sql.js and SqlEngine -----------------------------------------------------------------------

/** Calls `op` for `sec` seconds (the clock read every 64 calls); operations per second. */
export function opsPerSecondSync(sec: number, op: () => void): number {
  const t0 = performance.now();
  const end = t0 + sec * 1000;
  let n = 0;
  let now = t0;
  do {
    for (let i = 0; i < 64; i++) op();
    n += 64;
    now = performance.now();
  } while (now < end);
  return (n * 1000) / (now - t0);
}

/** `callers` loops calling `op` one at a time until `sec` seconds are over; operations per second, all callers together. */
export async function opsPerSecondAsync(sec: number, callers: number, op: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  const end = t0 + sec * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        await op();
        n++;
      }
    }),
  );
  return (n * 1000) / (performance.now() - t0);
}

interface DirectResult {
  measurements: Measurement[];
  notes: string[];
  p50: Record<'prepared' | 'perCall' | 'sqljsInsert' | 'engineRead' | 'engineInsert', number>;
  engineFsyncsPerInsert: number;
}

export async function runDirect(options: Pick<D1Options, 'directSec' | 'rounds' | 'callers' | 'log' | 'step'>): Promise<DirectResult> {
  const sqljs = await openSeededSqlJs();
  const dir = makeTempDir('d1-engine');
  const engine = await SqlEngine.open(dir);
  try {
    const prepared = sqljs.prepare(READ_SQL);
    const insert = sqljs.prepare(INSERT_SQL);
    const check = (row: Record<string, unknown> | null, id: number): void => {
      if (row === null || row.id !== id) throw new Error(`sql.js point read of ${id} answered ${JSON.stringify(row)}`);
    };
    const readPrepared = (): void => {
      const id = randomId();
      prepared.bind([id]);
      const row = prepared.step() ? prepared.getAsObject() : null;
      prepared.reset();
      check(row, id);
    };
    const readPerCall = (): void => {
      const id = randomId();
      const s = sqljs.prepare(READ_SQL);
      try {
        s.bind([id]);
        check(s.step() ? s.getAsObject() : null, id);
      } finally {
        s.free();
      }
    };
    const insertSqljs = (): void => {
      insert.run([`new-${Math.random().toString(36).slice(2, 10)}`, Math.floor(Math.random() * 1e6)]);
    };

    const db = engine.database('bench');
    await db.exec(SEED_SQL);
    const engineRead = async (): Promise<void> => {
      const id = randomId();
      const r = await db.query({ sql: READ_SQL, params: [BigInt(id)] });
      if (r.rows.length !== 1 || r.rows[0]![0] !== BigInt(id)) throw new Error(`SqlEngine point read of ${id} answered ${r.rows.length} rows`);
    };
    const engineInsert = async (): Promise<void> => {
      await db.query({ sql: INSERT_SQL, params: [`new-${Math.random().toString(36).slice(2, 10)}`, BigInt(Math.floor(Math.random() * 1e6))] });
    };

    const warm = Math.min(0.3, options.directSec);
    opsPerSecondSync(warm, readPrepared);
    opsPerSecondSync(warm, readPerCall);
    opsPerSecondSync(warm, insertSqljs);
    await opsPerSecondAsync(warm, options.callers, engineRead);
    await opsPerSecondAsync(warm, options.callers, engineInsert);

    const fsyncRuns: Array<{ appends: number; fsyncs: number }> = [];
    const total = options.rounds * 5;
    let done = 0;
    const stepped = <T>(v: T): T => (options.step?.(++done, total), v);
    const runs = await interleaveAll(options.rounds, [
      async () => stepped(opsPerSecondSync(options.directSec, readPrepared)),
      async () => stepped(opsPerSecondSync(options.directSec, readPerCall)),
      async () => stepped(opsPerSecondSync(options.directSec, insertSqljs)),
      async () => stepped(await opsPerSecondAsync(options.directSec, options.callers, engineRead)),
      async () => {
        const before = db.logStats;
        const r = await opsPerSecondAsync(options.directSec, options.callers, engineInsert);
        const after = db.logStats;
        fsyncRuns.push({ appends: after.appends - before.appends, fsyncs: after.fsyncs - before.fsyncs });
        return stepped(r);
      },
    ]);
    prepared.free();
    insert.free();

    const sec = options.directSec;
    const sqljsNote = 'sql.js in the bench process, in memory, one caller; one sample per run';
    const engineNote = `storage/sql SqlEngine in the bench process (its SQL thread, its segment log in a temporary directory), ${options.callers} concurrent callers; one sample per run`;
    const rows: Array<{ runtime: Runtime; workload: string; op: string; params: Record<string, number | string>; note: string }> = [
      { runtime: 'sql.js', workload: 'd1 point read, statement prepared once', op: 'point read', params: { statement: 'prepared once' }, note: sqljsNote },
      { runtime: 'sql.js', workload: 'd1 point read, prepare per call', op: 'point read', params: { statement: 'prepare per call' }, note: sqljsNote },
      { runtime: 'sql.js', workload: 'd1 insert (in memory, not durable)', op: 'insert', params: { statement: 'prepared once' }, note: sqljsNote },
      { runtime: 'sql-engine', workload: 'd1 point read, SqlEngine direct', op: 'point read', params: { callers: options.callers }, note: engineNote },
      { runtime: 'sql-engine', workload: 'd1 insert (durable), SqlEngine direct', op: 'insert', params: { callers: options.callers }, note: `${engineNote}; each insert answered once fdatasync'd` },
    ];
    const measurements = rows.map((r, i) => measure({ suite: SUITE, runtime: r.runtime, workload: r.workload, metric: 'ops_per_s', unit: 'op/s', note: r.note }, runs[i]!, { op: r.op, durationSec: sec, ...r.params }));
    const perInsert = fsyncRuns.map((f) => f.fsyncs / Math.max(1, f.appends));
    measurements.push(
      measure({ suite: SUITE, runtime: 'sql-engine', workload: 'd1 insert (durable), SqlEngine direct', metric: 'fsyncs_per_write', unit: 'fsync/write', note: "log fdatasync calls / records appended during each insert run (SqlDatabase.logStats; a snapshot's own fdatasync not counted)" }, perInsert, { op: 'insert', callers: options.callers }),
    );
    const p = runs.map((r) => summarize(r).p50);
    const p50 = { prepared: p[0]!, perCall: p[1]!, sqljsInsert: p[2]!, engineRead: p[3]!, engineInsert: p[4]! };
    const us = (opsPerSec: number): string => `${formatNumber(1e6 / opsPerSec)} µs`;
    const fsyncP50 = summarize(perInsert).p50;
    return {
      measurements,
      notes: [
        `storage/d1 in process (p50 of ${options.rounds} interleaved runs of ${sec} s): sql.js point read ${formatNumber(p50.prepared)}/s (${us(p50.prepared)}) with a statement prepared once, ${formatNumber(p50.perCall)}/s (${us(p50.perCall)}) prepared per call; ` +
          `SqlEngine direct at ${options.callers} callers ${formatNumber(p50.engineRead)} reads/s (${us(p50.engineRead)} each), ${formatNumber(p50.engineInsert)} durable inserts/s at ${fsyncP50.toFixed(3)} fdatasync per insert (${fsyncRuns.map((f) => `${f.fsyncs}/${f.appends}`).join(', ')}); sql.js in-memory inserts ${formatNumber(p50.sqljsInsert)}/s.`,
      ],
      p50,
      engineFsyncsPerInsert: fsyncP50,
    };
  } finally {
    sqljs.close();
    await engine.close();
    removeTempDir(dir);
  }
}

// ---- over HTTP ------------------------------------------------------------------------------------------------

async function d1Metrics(host: ChildHost): Promise<{ appends: number; fsyncs: number } | null> {
  const text = await host.metrics();
  const appends = /^edge_storage_appends\{store="d1"\} (\d+)/m.exec(text);
  const fsyncs = /^edge_storage_fsyncs\{store="d1"\} (\d+)/m.exec(text);
  return appends && fsyncs ? { appends: Number(appends[1]), fsyncs: Number(fsyncs[1]) } : null;
}

/** What the host says of failed requests: its edge_errors_total counters and the end of its stderr. */
async function hostErrors(host: ChildHost): Promise<string> {
  const counters = await host.metrics().then(
    (text) => [...text.matchAll(/^edge_errors_total\{([^}]*)\} (\d+)/gm)].map((m) => `${m[1]} ${m[2]}`).join(', '),
    (err: unknown) => `metrics unavailable: ${(err as Error).message}`,
  );
  const stderr = host.stderrTail().trim().slice(-600);
  return ` (host errors: ${counters || 'none counted'}${stderr ? `; host stderr: ${stderr}` : ''})`;
}

/** One request through node:http with the Host header a worker is routed by. */
function call(port: number, host: string, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} http://${host}${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function expectRow(port: number, host: string, path: string, id: number, who: string): Promise<void> {
  const r = await call(port, host, path);
  const want = JSON.stringify(expectedRow(id));
  if (r.status !== 200 || r.body !== want) throw new Error(`${who} answered ${r.status} ${r.body.slice(0, 200)} (expected ${want})`);
}

interface HttpWorkload {
  runtime: 'edge-js' | 'fastify';
  workload: string;
  op: 'hello' | 'point read' | 'insert';
  url: string;
  hostHeader: string | null;
  pid: number;
  concurrency: number;
  request?: LoadRequest;
  note: string;
}

interface HttpRun extends LoadRun {
  cpuUs: number;
  d1?: { appends: number; fsyncs: number } | null;
}

export async function runD1(options: D1Options): Promise<SuiteResult> {
  const t0 = performance.now();
  // Progress: the in-process runs (5 per round), then the HTTP runs.
  const directSteps = options.rounds * 5;
  const total = directSteps + options.rounds * (4 * options.readConcurrencies.length + options.insertConcurrencies.length);
  const direct = await runDirect({ ...options, step: (d) => options.step?.(d, total) });
  const gen: LoadGenerator = loadGenerator();
  let host: ChildHost | undefined;
  let fastify: StartedChild | undefined;
  try {
    host = await startChildHost();
    fastify = await startChild('fastify + sql.js', ['bench/fastify-sqljs.ts'], { ready: /^listening (http:\/\/\S+)$/m });
    const fastifyUrl = fastify.match[1]!;
    const helloHeader = await deployHelloJs(host, 'hello-js-d1');
    await host.deploy({ manifest: { fileName: 'wrangler.toml', content: MANIFEST }, modules: [{ path: 'index.js', content: D1_WORKER }] });
    const header = `d1-bench.localhost:${host.dataPort}`;
    const seeded = await call(host.dataPort, header, '/d1-seed', 'POST');
    if (seeded.status !== 200 || seeded.body !== String(ROWS)) throw new Error(`d1-seed answered ${seeded.status}: ${seeded.body.slice(0, 300)}`);
    await expectRow(host.dataPort, header, '/d1-read-id?id=4242', 4242, 'the D1 worker');
    const fastifyPort = Number(new URL(fastifyUrl).port);
    const probe = await call(fastifyPort, `127.0.0.1:${fastifyPort}`, '/read');
    const probeRow = JSON.parse(probe.body) as { id: number };
    if (probe.status !== 200 || probe.body !== JSON.stringify(expectedRow(probeRow.id))) throw new Error(`Fastify + sql.js answered ${probe.status}: ${probe.body.slice(0, 200)}`);
    const read = await call(host.dataPort, header, '/d1-read');
    const readRow = JSON.parse(read.body) as { id: number };
    if (read.status !== 200 || read.body !== JSON.stringify(expectedRow(readRow.id))) throw new Error(`d1-read answered ${read.status}: ${read.body.slice(0, 200)}`);
    const ins = await call(host.dataPort, header, '/d1-insert', 'POST');
    if (ins.status !== 200 || !(Number(ins.body) > ROWS)) throw new Error(`d1-insert answered ${ins.status}: ${ins.body.slice(0, 200)}`);

    const h = host;
    const workloads: HttpWorkload[] = [];
    for (const c of options.readConcurrencies) {
      workloads.push(
        { runtime: 'edge-js', workload: 'hello-js (reference for D1)', op: 'hello', url: `${h.dataUrl}/`, hostHeader: helloHeader, pid: h.pid, concurrency: c, note: 'hello world on the host serving the D1 worker' },
        { runtime: 'fastify', workload: 'plain Fastify hello', op: 'hello', url: `${fastifyUrl}/`, hostHeader: null, pid: fastify.pid, concurrency: c, note: 'hello world of the Fastify + sql.js process' },
        { runtime: 'edge-js', workload: 'd1 point read (worker, env.DB)', op: 'point read', url: `${h.dataUrl}/d1-read`, hostHeader: header, pid: h.pid, concurrency: c, note: `env.DB.prepare("${READ_SQL}").bind(random id of ${ROWS}).first(), answered as JSON` },
        { runtime: 'fastify', workload: 'd1 point read (sql.js behind plain Fastify)', op: 'point read', url: `${fastifyUrl}/read`, hostHeader: null, pid: fastify.pid, concurrency: c, note: 'the same read on sql.js in the Fastify process, statement prepared once, answered as JSON' },
      );
    }
    for (const c of options.insertConcurrencies) {
      workloads.push({ runtime: 'edge-js', workload: 'd1 insert (worker, durable, 1 row)', op: 'insert', url: `${h.dataUrl}/d1-insert`, hostHeader: header, pid: h.pid, concurrency: c, request: { method: 'POST' }, note: `env.DB.prepare("${INSERT_SQL}").bind(...).run(), answered once fdatasync'd` });
    }
    for (const w of workloads) await gen.run(w.url, w.hostHeader, w.concurrency, options.warmupSec, {}, w.request);
    options.log(`  storage/d1: ${workloads.length} HTTP workloads with ${gen.tool}, ${options.rounds} interleaved rounds of ${options.durationSec} s (after the in-process runs)`);

    let done = directSteps;
    const runs = await interleaveAll(
      options.rounds,
      workloads.map((w) => async (): Promise<HttpRun> => {
        const before = w.op === 'insert' ? await d1Metrics(h) : null;
        const cpu0 = readCpuSeconds(w.pid);
        const r = await gen.run(w.url, w.hostHeader, w.concurrency, options.durationSec, {}, w.request);
        const cpu1 = readCpuSeconds(w.pid);
        const after = before ? await d1Metrics(h) : null;
        options.step?.(++done, total);
        if (r.bad > 0) throw new Error(`${gen.tool} against ${w.workload} at c=${w.concurrency}: ${r.bad} errors or non-2xx responses of ${r.requests + r.bad}${w.runtime === 'edge-js' ? await hostErrors(h) : ''}`);
        const d1 = before && after ? { appends: after.appends - before.appends, fsyncs: after.fsyncs - before.fsyncs } : w.op === 'insert' ? null : undefined;
        return { ...r, cpuUs: ((cpu1.total - cpu0.total) * 1e6) / Math.max(1, r.requests), ...(d1 !== undefined ? { d1 } : {}) };
      }),
    );

    const measurements: Measurement[] = [...direct.measurements];
    const p50 = new Map<string, { reqs: number; cpuUs: number }>();
    const key = (w: Pick<HttpWorkload, 'runtime' | 'op' | 'concurrency'>): string => `${w.runtime}/${w.op}@${w.concurrency}`;
    let fsyncsMissing = false;
    const fsyncNotes: string[] = [];
    const insertFigures: InsertFigures[] = [];
    workloads.forEach((w, i) => {
      const rs = runs[i]!;
      const meta = { suite: SUITE, runtime: w.runtime, workload: w.workload };
      const params = { concurrency: w.concurrency, tool: gen.tool, durationSec: options.durationSec, op: w.op };
      measurements.push(measure({ ...meta, metric: 'requests_per_s', unit: 'req/s', note: w.note }, rs.map((r) => r.reqPerSec), params));
      measurements.push(measure({ ...meta, metric: 'latency_ms', unit: 'ms', note: "quantiles of each run's latency distribution, runs concatenated" }, rs.flatMap((r) => r.latencyQuantilesMs), params));
      measurements.push(measure({ ...meta, metric: 'server_cpu_us_per_request', unit: 'µs', note: 'server process user+system CPU (all threads, the SQL thread included; /proc/<pid>/stat, 10 ms ticks) / requests answered, per run' }, rs.map((r) => r.cpuUs), params));
      const entry = { reqs: summarize(rs.map((r) => r.reqPerSec)).p50, cpuUs: summarize(rs.map((r) => r.cpuUs)).p50 };
      p50.set(key(w), entry);
      if (w.op === 'insert') {
        const stats = rs.map((r) => r.d1).filter((d): d is { appends: number; fsyncs: number } => d !== null && d !== undefined && d.appends > 0);
        let fsyncsPerInsert: number | null = null;
        if (stats.length === rs.length) {
          const per = stats.map((d) => d.fsyncs / d.appends);
          measurements.push(measure({ ...meta, metric: 'fsyncs_per_write', unit: 'fsync/write', note: "D1 log fdatasync calls / records appended during each insert run, from the host's edge_storage_*{store=\"d1\"} metrics (a snapshot's own fdatasync and directory syncs not counted)" }, per, { concurrency: w.concurrency, op: w.op }));
          fsyncsPerInsert = summarize(per).p50;
          fsyncNotes.push(`c=${w.concurrency}: ${stats.map((d) => `${d.fsyncs}/${d.appends}`).join(', ')}`);
        } else fsyncsMissing = true;
        insertFigures.push({ concurrency: w.concurrency, worker: entry.reqs, fsyncsPerInsert, cpuUsPerInsert: entry.cpuUs });
      }
    });

    const readFigures: ReadFigures[] = options.readConcurrencies.map((c) => ({
      concurrency: c,
      worker: p50.get(`edge-js/point read@${c}`)!.reqs,
      fastifySqljs: p50.get(`fastify/point read@${c}`)!.reqs,
      helloJs: p50.get(`edge-js/hello@${c}`)!.reqs,
      fastifyHello: p50.get(`fastify/hello@${c}`)!.reqs,
    }));
    const notes = [...direct.notes];
    for (const c of options.readConcurrencies) {
      const g = (runtime: string, op: string) => p50.get(`${runtime}/${op}@${c}`)!;
      const [hj, fh, wr, fr] = [g('edge-js', 'hello'), g('fastify', 'hello'), g('edge-js', 'point read'), g('fastify', 'point read')];
      const perReq = (x: { reqs: number }): string => `${formatNumber(1e6 / x.reqs)} µs`;
      notes.push(
        `storage/d1 over HTTP c=${c} (p50 of runs, ${gen.tool}): worker point read ${formatNumber(wr.reqs)} req/s (${perReq(wr)} per request as 1/throughput, ${formatNumber(wr.cpuUs)} µs server CPU) vs hello-js ${formatNumber(hj.reqs)} req/s (${perReq(hj)}, ${formatNumber(hj.cpuUs)} µs CPU): D1 adds ${formatNumber(wr.cpuUs - hj.cpuUs)} µs CPU per request; ` +
          `Fastify + sql.js read ${formatNumber(fr.reqs)} req/s (${perReq(fr)}, ${formatNumber(fr.cpuUs)} µs CPU) vs Fastify hello ${formatNumber(fh.reqs)} req/s (${perReq(fh)}, ${formatNumber(fh.cpuUs)} µs CPU). ` +
          `Ratios: Fastify+sql.js / worker read ${readRatio({ worker: wr.reqs, fastifySqljs: fr.reqs }).toFixed(2)}x; Fastify hello / hello-js ${(fh.reqs / hj.reqs).toFixed(2)}x (the worker overhead without D1).`,
      );
    }
    notes.push(
      fsyncsMissing
        ? 'storage/d1: fdatasync per insert through the worker not measured: the host exposes no edge_storage_fsyncs{store="d1"} metric.'
        : `storage/d1: every insert through the worker is acknowledged once its log record is fdatasync'd; fdatasync/appends per run ${fsyncNotes.join('; ')} (SqlEngine direct: ${direct.engineFsyncsPerInsert.toFixed(3)} per insert at ${options.callers} callers).`,
      `storage/d1: ${formatNumber(ROWS)} rows seeded through the worker (env.DB.exec); reads pick a random id among them (inserted rows get new ids); the load generator, the host and the Fastify + sql.js process each run in their own process on this ${cpus().length}-core machine, so the figures include their contention.`,
    );
    options.log(`  storage/d1: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return { measurements, targets: d1Targets(readFigures, insertFigures), notes };
  } finally {
    await fastify?.stop();
    await host?.stop();
  }
}
