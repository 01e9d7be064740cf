// The D1 part of the storage suite (bench/d1.ts): the 2x target judged from the figures, the side-by-side pairs the
// report makes of its measurements, the in-process runs (sql.js, SqlEngine with its log stats) in a few milliseconds,
// and the worker and the Fastify + sql.js baseline answering the same rows. No timing is asserted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChild, startChildHost, type ChildHost, type StartedChild } from './child-host.ts';
import { D1_WORKER, MAX_READ_RATIO, d1Targets, opsPerSecondAsync, opsPerSecondSync, readRatio, runDirect } from './d1.ts';
import { expectedRow, ROWS } from './d1-data.ts';
import { comparisons } from './markdown.ts';
import { measure, validateRunFile, type RunFile } from './schema.ts';

describe('d1Targets', () => {
  it('judges the read ratio as Fastify + sql.js req/s ÷ worker req/s against 2x, with hello-js beside it', () => {
    expect(readRatio({ worker: 4000, fastifySqljs: 8000 })).toBe(2);
    const [met, missed] = d1Targets(
      [
        { concurrency: 10, worker: 4000, fastifySqljs: 8000, helloJs: 7000, fastifyHello: 30000 },
        { concurrency: 50, worker: 3000, fastifySqljs: 9000 },
      ],
      [],
    );
    expect(met).toMatchObject({ pass: true, target: `D1 point read through a worker vs the same read on sql.js behind plain Fastify: at most ${MAX_READ_RATIO}x (c=10)` });
    expect(met!.measured).toBe('8,000 ÷ 4,000 req/s = 2.00x per-request time; beside it hello-js 7,000 req/s, plain Fastify hello 30,000 req/s');
    expect(missed).toMatchObject({ pass: false, measured: '9,000 ÷ 3,000 req/s = 3.00x per-request time' });
    expect(missed!.target).toContain('(c=50)');
  });

  it('shows the inserts without judging them, with fdatasync per insert when known', () => {
    const [known, unknown] = d1Targets([], [
      { concurrency: 50, worker: 2500, fsyncsPerInsert: 0.0812, cpuUsPerInsert: 420 },
      { concurrency: 10, worker: 900, fsyncsPerInsert: null },
    ]);
    expect(known).toMatchObject({ pass: null, measured: '2,500 inserts/s, 0.081 fdatasync per insert, 420.0 µs server CPU per insert' });
    expect(unknown).toMatchObject({ pass: null, measured: '900.0 inserts/s' });
  });
});

describe('the report pairs D1 measurements by operation', () => {
  it('compares the worker read with the Fastify read and hello-js with the Fastify hello, never across operations', () => {
    const params = (op: string) => ({ concurrency: 10, tool: 'autocannon', durationSec: 3, op });
    const m = (runtime: string, workload: string, op: string, v: number) => measure({ suite: 'storage', runtime, workload, metric: 'requests_per_s', unit: 'req/s', params: params(op) }, [v, v]);
    const run: RunFile = {
      version: 1,
      startedAt: '2026-12-01T00:00:00.000Z',
      finishedAt: '2026-12-01T00:01:00.000Z',
      machine: {},
      settings: { synthetic: true },
      measurements: [
        m('edge-js', 'hello-js (reference for D1)', 'hello', 8000),
        m('fastify', 'plain Fastify hello', 'hello', 32000),
        m('edge-js', 'd1 point read (worker, env.DB)', 'point read', 4000),
        m('fastify', 'd1 point read (sql.js behind plain Fastify)', 'point read', 12000),
        // KV's reference has no op: not comparable with either.
        measure({ suite: 'storage', runtime: 'edge-js', workload: 'hello-js (reference)', metric: 'requests_per_s', unit: 'req/s', params: { concurrency: 10, tool: 'autocannon', durationSec: 3 } }, [7000]),
      ],
      targets: [],
      notes: [],
    };
    validateRunFile(run);
    const pairs = comparisons(run).map((c) => [c.ours.workload, c.theirs.workload, Number(c.value.toFixed(3))]);
    expect(pairs).toEqual([
      ['hello-js (reference for D1)', 'plain Fastify hello', 0.25],
      ['d1 point read (worker, env.DB)', 'd1 point read (sql.js behind plain Fastify)', 0.333],
    ]);
  });
});

describe('the in-process runs', () => {
  it('counts operations per second', async () => {
    let n = 0;
    expect(opsPerSecondSync(0.01, () => void n++)).toBeGreaterThan(0);
    expect(n % 64).toBe(0);
    let calls = 0;
    const rate = await opsPerSecondAsync(0.02, 3, async () => {
      calls++;
      await new Promise((r) => setImmediate(r));
    });
    expect(rate).toBeGreaterThan(0);
    expect(calls).toBeGreaterThanOrEqual(3);
  });

  it('measures sql.js and SqlEngine reads and inserts, and fdatasync per insert from the log stats', async () => {
    const steps: number[] = [];
    const r = await runDirect({ directSec: 0.05, rounds: 1, callers: 3, log: () => {}, step: (done) => steps.push(done) });
    expect(steps).toEqual([1, 2, 3, 4, 5]);
    const ops = r.measurements.filter((m) => m.metric === 'ops_per_s');
    expect(ops.map((m) => `${m.runtime}: ${m.workload}`)).toEqual([
      'sql.js: d1 point read, statement prepared once',
      'sql.js: d1 point read, prepare per call',
      'sql.js: d1 insert (in memory, not durable)',
      'sql-engine: d1 point read, SqlEngine direct',
      'sql-engine: d1 insert (durable), SqlEngine direct',
    ]);
    for (const m of ops) expect(m.p50).toBeGreaterThan(0);
    const fsync = r.measurements.find((m) => m.metric === 'fsyncs_per_write')!;
    // Every insert is durable: at least one fdatasync per group of them, never more than one per insert.
    expect(fsync.p50).toBeGreaterThan(0);
    expect(fsync.p50).toBeLessThanOrEqual(1);
    expect(r.engineFsyncsPerInsert).toBe(fsync.p50);
  });
});

describe('the HTTP sides answer the same rows', () => {
  let host: ChildHost | undefined;
  let fastify: StartedChild | undefined;
  beforeAll(async () => {
    [host, fastify] = await Promise.all([startChildHost(), startChild('fastify + sql.js', ['bench/fastify-sqljs.ts'], { ready: /^listening (http:\/\/\S+)$/m })]);
  }, 60_000);
  afterAll(async () => {
    await fastify?.stop();
    await host?.stop();
  });

  const send = async (path: string, method = 'GET'): Promise<{ status: number; body: string }> => {
    // fetch() cannot set Host: the data plane routes d1-bench.localhost by it, so the worker is reached by that name.
    const { request } = await import('node:http');
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: host!.dataPort, path, method, headers: { host: `d1-bench.localhost:${host!.dataPort}` } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  };

  it('seeds, reads and inserts through the worker, and the host counts the D1 log fdatasyncs', async () => {
    await host!.deploy({
      manifest: { fileName: 'wrangler.toml', content: 'name = "d1-bench"\nmain = "index.js"\ncompatibility_date = "2026-11-01"\nd1_databases = [{ binding = "DB", database_name = "bench", database_id = "bench" }]\n' },
      modules: [{ path: 'index.js', content: D1_WORKER }],
    });
    expect(await send('/d1-seed', 'POST')).toEqual({ status: 200, body: String(ROWS) });
    expect(await send('/d1-read-id?id=77')).toEqual({ status: 200, body: JSON.stringify(expectedRow(77)) });
    const read = await send('/d1-read');
    expect(read.status).toBe(200);
    expect(read.body).toBe(JSON.stringify(expectedRow((JSON.parse(read.body) as { id: number }).id)));
    const inserted = await send('/d1-insert', 'POST');
    expect(inserted.status).toBe(200);
    expect(Number(inserted.body)).toBe(ROWS + 1);
    const metrics = await host!.metrics();
    const appends = Number(/^edge_storage_appends\{store="d1"\} (\d+)/m.exec(metrics)?.[1]);
    const fsyncs = Number(/^edge_storage_fsyncs\{store="d1"\} (\d+)/m.exec(metrics)?.[1]);
    // The seed (one exec) and the insert.
    expect(appends).toBe(2);
    expect(fsyncs).toBeGreaterThanOrEqual(1);
    expect(fsyncs).toBeLessThanOrEqual(2);
  }, 60_000);

  it('Fastify + sql.js answers the same row as the worker for an id, and its hello', async () => {
    const url = fastify!.match[1]!;
    const res = await fetch(`${url}/read`);
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(body).toBe(JSON.stringify(expectedRow((JSON.parse(body) as { id: number }).id)));
    expect(await (await fetch(`${url}/`)).text()).toBe('Hello from the edge!\n');
  });
});
