import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { betterWhen, comparable, comparisons, formatNumber, markdownReport } from './markdown.ts';
import { measure, validateRunFile, type RunFile } from './schema.ts';

const fixture = (name: string): RunFile => validateRunFile(JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8')));
const recorded = fixture('run-2026-11-27-quick.json');
const synthetic = fixture('synthetic-run.json');

describe('markdownReport on the recorded run of 2026-11-27', () => {
  const md = markdownReport(recorded);

  it('shows the machine and the settings', () => {
    expect(md).toContain('## Machine');
    expect(md).toContain('| cpuModel | AMD EPYC |');
    expect(md).toContain('| loadAverageAtStart | 0.99, 1.83, 2.49 |');
    expect(md).toContain('| suites | cold, instantiate, warm, memory, fuel |');
  });

  it('has one table per suite with the percentiles, n and the noisy column', () => {
    for (const suite of ['cold-start', 'fuel']) expect(md).toContain(`### ${suite}\n\n| runtime | workload | metric | unit | p50 | p90 | p99 | n | spread | noisy |`);
    for (const suite of ['warm-throughput', 'memory']) expect(md).toContain(`### ${suite}\n\n| runtime | workload | params | metric | unit | p50 | p90 | p99 | n | spread | noisy |`);
    expect(md).toContain('| fastify | plain Fastify hello (ceiling), wrk -t1 -c10 -d5s | tool=wrk concurrency=10 durationSec=5 | requests_per_second | req/s | 37,861 |');
    expect(md).toContain('| edge-js | hello world, new version per sample | first_request_after_eviction | ms | 2.894 | 3.624 | 6.969 | 50 | – |  |');
    expect(md).toContain('the run kept no samples for that measurement');
  });

  it('states ratios against fastify, says behind when behind, and that workerd was not measured', () => {
    expect(md).toContain(
      "- edge-js `requests_per_second` (examples/hello-js, autocannon c=10 d=5s, tool=autocannon concurrency=10 durationSec=5; fastify: plain Fastify hello (ceiling), autocannon c=10 d=5s): p50 is **0.37x fastify's** (12,303 vs 33,503 req/s) — behind (higher is better).",
    );
    expect(md).toContain("- edge-wasm `latency` (examples/hello-as (component), wrk -t1 -c10 -d5s, tool=wrk concurrency=10 durationSec=5; fastify: plain Fastify hello (ceiling), wrk -t1 -c10 -d5s): p50 is **3.71x fastify's** (0.930 vs 0.251 ms) — behind (lower is better).");
    expect(md).toMatch(/Against workerd: not measured in this run/);
    // autocannon's latency rounds to 0 ms: no ratio is made of it
    expect(md).not.toMatch(/`latency` \([^)]*autocannon/);
  });

  it('lists the targets with PASS and MISS and counts the misses', () => {
    expect(md).toContain('| **MISS** | JS cold start p50 < 2 ms (true cold: after eviction) | 2.894 ms (host side 0.749 ms) |  |');
    expect(md).toContain('| PASS | fuel overhead < 1.25x: fib (recursive) fib(27) | 1.11x (1.021 → 1.149 ms) |  |');
    expect(md).toContain('| — | component warm throughput beside JS');
    expect(md).toContain('**7 of 11 judged targets missed** (1 more shown but not judged: —): JS cold start p50 < 2 ms (true cold: after eviction);');
  });

  it('ends with the notes, and embeds charts only when given', () => {
    expect(md).toMatch(/## Notes\n\n- Converted from bench\/results\/latest\.json/);
    expect(md).not.toContain('## Charts');
    const withCharts = markdownReport(recorded, { charts: { 'cold-start': 'cold-start.svg', throughput: 'charts/throughput.svg' } });
    expect(withCharts).toContain('## Charts\n\n![Cold start latency](cold-start.svg)\n\n![Requests/s per runtime and concurrency](charts/throughput.svg)');
  });
});

describe('markdownReport on synthetic data', () => {
  const md = markdownReport(synthetic);

  it('says the data is synthetic', () => {
    expect(md).toContain('> **Synthetic test data**');
  });

  it('compares with workerd where both sides were measured at the same params', () => {
    expect(md).toContain("- edge-js `cold_start_ms` (hello world, first request after deploy): p50 is **0.39x workerd's** (2.523 vs 6.519 ms) — ahead (lower is better).");
    expect(md).toContain("- edge-js `rss_per_worker_mb` (1000 idle hello-world workers, workers=1000): p50 is **1.77x workerd's** (1.839 vs 1.038 MiB) — behind (lower is better).");
    // edge-wasm's cold start ran a different workload than workerd's: not compared
    expect(md).not.toMatch(/edge-wasm `cold_start_ms`/);
  });

  it('flags the noisy measurement in its table and counts it', () => {
    expect(md).toMatch(/\| edge-wasm \| hello-as component, first request after deploy \| cold_start_ms \| ms \| 5\.297 \|[^\n]*\| 1\.70 \| \*\*noisy\*\* \|/);
    expect(md).toContain('1 of 21 measurements are noisy.');
  });

  it('warns on a ratio with a noisy side', () => {
    const noisyWorkerd = measure({ suite: 'cold-start', runtime: 'workerd', workload: 'hello', metric: 'cold_start_ms', unit: 'ms' }, [1, 5, 9, 2, 8]);
    const js = measure({ ...noisyWorkerd, runtime: 'edge-js' }, [2, 2, 2]);
    const out = markdownReport({ ...synthetic, measurements: [js, noisyWorkerd], targets: [] });
    expect(out).toContain("p50 is **0.40x workerd's** (2.000 vs 5.000 ms) — ahead (lower is better). ⚠ noisy (spread over 0.5 on workerd): take with care");
    expect(out).toContain('_No targets were judged in this run._');
    expect(out).toMatch(/Against fastify: not measured/);
  });

  it('says when every judged target is met', () => {
    const out = markdownReport({ ...synthetic, targets: [{ target: 't', measured: '1', pass: true }, { target: 'u', measured: '2', pass: null }] });
    expect(out).toContain('All 1 judged targets met (1 more shown but not judged: —).');
  });

  it('escapes pipes in cells', () => {
    const out = markdownReport({ ...synthetic, targets: [{ target: 'a | b', measured: '1', pass: false }] });
    expect(out).toContain('| **MISS** | a \\| b | 1 |  |');
  });
});

describe('helpers', () => {
  const base = measure({ suite: 'warm', runtime: 'edge-js', workload: 'hello-js c=10', metric: 'requests_per_s', unit: 'req/s', params: { concurrency: 10 } }, [1]);

  it('comparable: same suite, metric, unit and params (or the same workload without params)', () => {
    expect(comparable(base, { ...base, runtime: 'workerd', workload: 'workerd hello c=10' })).toBe(true);
    expect(comparable(base, { ...base, params: { concurrency: 50 } })).toBe(false);
    expect(comparable(base, { ...base, params: undefined })).toBe(false);
    const { params: _, ...noParams } = base;
    expect(comparable(noParams, { ...noParams, runtime: 'workerd' })).toBe(true);
    expect(comparable(noParams, { ...noParams, workload: 'other' })).toBe(false);
  });

  it('comparisons never compare a baseline with itself or with the other baseline', () => {
    const pairs = comparisons(synthetic).map((c) => `${c.ours.runtime}/${c.theirs.runtime}`);
    expect(new Set(pairs)).toEqual(new Set(['edge-js/workerd', 'edge-wasm/workerd', 'edge-js/fastify', 'edge-wasm/fastify']));
  });

  it('betterWhen reads the direction from metric and unit', () => {
    expect(betterWhen({ metric: 'requests_per_s', unit: 'req/s' })).toBe('higher');
    expect(betterWhen({ metric: 'cold_start_ms', unit: 'ms' })).toBe('lower');
    expect(betterWhen({ metric: 'rss_per_worker_mb', unit: 'MiB' })).toBe('lower');
    expect(betterWhen({ metric: 'workers_before_eviction', unit: 'workers' })).toBeUndefined();
  });

  it('formatNumber keeps about three significant figures', () => {
    expect([formatNumber(2.5683), formatNumber(12.3), formatNumber(136.689), formatNumber(33503.4)]).toEqual(['2.568', '12.30', '136.7', '33,503']);
  });
});

describe('cold start against workerd, as the runner records it (params.phase)', () => {
  const meta = { suite: 'cold', workload: 'hello-js', metric: 'cold_start_ms', unit: 'ms' };
  const run: RunFile = {
    ...synthetic,
    measurements: [
      measure({ ...meta, runtime: 'edge-js', params: { phase: 'after deploy' } }, [2, 2, 2]),
      measure({ ...meta, runtime: 'edge-js', params: { phase: 'after eviction' } }, [3, 3, 3]),
      measure({ ...meta, runtime: 'edge-js', metric: 'host_cold_start_ms', params: { phase: 'total' } }, [1, 1, 1]),
      measure({ ...meta, runtime: 'workerd', workload: 'hello', params: { phase: 'first request' } }, [5, 5, 5]),
    ],
    targets: [],
  };

  it("states each of ours against workerd's first request, naming both phases", () => {
    const md = markdownReport(run);
    expect(md).toContain("- edge-js `cold_start_ms` (hello-js, phase=after deploy; workerd: hello, phase=first request): p50 is **0.40x workerd's** (2.000 vs 5.000 ms) — ahead (lower is better).");
    expect(md).toContain("- edge-js `cold_start_ms` (hello-js, phase=after eviction; workerd: hello, phase=first request): p50 is **0.60x workerd's** (3.000 vs 5.000 ms) — ahead (lower is better).");
    expect(md).not.toContain('host_cold_start_ms` (');
  });

  it('pairs only the two cold starts with workerd (no workerd host_cold_start_ms to pair with)', () => {
    expect(comparisons(run).map((c) => c.ours.params?.phase)).toEqual(['after deploy', 'after eviction']);
  });
});

describe('markdownReport on the runner’s quick runs of 2026-11-27 (kept samples, workerd)', () => {
  const cold = markdownReport(fixture('run-2026-11-27-cold-quick.json'));
  const warm = markdownReport(fixture('run-2026-11-27-warm-quick.json'));

  it('tells rows apart by their params and flags the noisy ones', () => {
    expect(cold).toContain('| edge-js | hello-js | phase=after eviction | cold_start_ms | ms | 2.174 | 2.562 | 3.220 | 30 | 0.36 |  |');
    expect(cold).toContain('| edge-js | hello-js | phase=total | host_cold_start_ms | ms | 0.535 | 0.783 | 1.010 | 30 | 0.68 | **noisy** |');
    expect(cold).toContain('6 of 36 measurements are noisy.');
  });

  it('states every cold start against workerd’s first request, both workloads named', () => {
    expect(cold).toContain("- edge-js `cold_start_ms` (hello-js, phase=after eviction; workerd: hello, phase=first request): p50 is **0.06x workerd's** (2.174 vs 34.73 ms) — ahead (lower is better).");
    expect(cold).toContain("- edge-js `cold_start_ms` (large-js (369 KB bundle), phase=after eviction; workerd: hello, phase=first request): p50 is **0.43x workerd's**");
    expect(cold.match(/x workerd's/g)).toHaveLength(6);
  });

  it('states throughput behind workerd as behind, with the noisy warning', () => {
    expect(warm).toContain("- edge-js `requests_per_s` (hello-js, concurrency=10 tool=wrk durationSec=3; workerd: hello): p50 is **0.83x workerd's** (10,294 vs 12,434 req/s) — behind (higher is better). ⚠ noisy (spread over 0.5 on edge-js): take with care");
    expect(warm).toContain("p50 is **0.19x fastify's** (10,294 vs 53,869 req/s) — behind (higher is better).");
    // the limits suite has no baseline: nothing of it is compared
    expect(warm).not.toMatch(/neighbour=[^\n]*x (workerd|fastify)'s/);
  });

  it('states memory per worker against workerd at the same worker count', () => {
    const md = markdownReport(fixture('run-2026-11-27-memory-quick.json'));
    expect(md).toContain("- edge-js `rss_per_worker_mb` (hello workers, warm after one request, idle, workers=100; workerd: hello workers, hit once, idle): p50 is **0.86x workerd's** (1.810 vs 2.104 MB) — ahead (lower is better).");
    expect(md.match(/x workerd's/g)).toHaveLength(2);
  });
});
