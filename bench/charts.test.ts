import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COLD_START_METRICS, coldStartChart, logTicks, memoryChart, niceTicks, throughputChart, writeCharts } from './charts.ts';
import { measure, validateRunFile, type RunFile } from './schema.ts';

const fixture = (name: string): RunFile => validateRunFile(JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8')));
const synthetic = fixture('synthetic-run.json');
const recorded = fixture('run-2026-11-27-quick.json');
const coldRun = fixture('run-2026-11-27-cold-quick.json');
const warmRun = fixture('run-2026-11-27-warm-quick.json');
const memoryRun = fixture('run-2026-11-27-memory-quick.json');
const emptyRun: RunFile = { ...synthetic, measurements: [] };

/**
 * A small well-formedness check: one <svg> root, every tag closed in order, attributes quoted, no raw `<` or
 * stray `&` in text. Returns the element names in document order.
 */
function checkXml(svg: string): string[] {
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  const names: string[] = [];
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(svg); m; m = tag.exec(svg)) {
    const between = svg.slice(last, m.index);
    expect(between, `text before <${m[2]}> at ${m.index}`).not.toMatch(/<|&(?!(amp|lt|gt|quot|apos|#\d+);)/);
    last = tag.lastIndex;
    const [, closing, name, , selfClosing] = m;
    if (closing) expect(stack.pop(), `closing </${name}> at ${m.index}`).toBe(name);
    else {
      if (stack.length === 0) expect(names.length, 'a second root element').toBe(0);
      names.push(name!);
      if (!selfClosing) stack.push(name!);
    }
  }
  expect(svg.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
  return names;
}

const count = (svg: string, s: string): number => svg.split(s).length - 1;

describe.each([
  ['cold start', coldStartChart],
  ['throughput', throughputChart],
  ['memory', memoryChart],
])('%s chart', (_, chart) => {
  it('is one well-formed SVG document with a title, a description and a dark-mode stylesheet', () => {
    for (const run of [synthetic, recorded, emptyRun]) {
      const svg = chart(run);
      const names = checkXml(svg);
      expect(names.slice(0, 3)).toEqual(['svg', 'title', 'desc']);
      expect(svg).toContain('@media (prefers-color-scheme: dark)');
      expect(svg).toMatch(/<rect class="bg"/);
    }
  });

  it('is the same for the same run', () => {
    expect(chart(synthetic)).toBe(chart(JSON.parse(JSON.stringify(synthetic)) as RunFile));
  });

  it('says so when the run has nothing for it', () => {
    expect(chart(emptyRun)).toMatch(/<text[^>]*>No [^<]+ in this run\.<\/text>/);
  });
});

describe('cold start chart', () => {
  const svg = coldStartChart(synthetic);
  const cold = synthetic.measurements.filter((m) => COLD_START_METRICS.includes(m.metric));

  it('has a legend entry per runtime, axis label with the unit, and one mark per sample', () => {
    for (const runtime of ['edge-js', 'workerd', 'edge-wasm']) expect(svg).toMatch(new RegExp(`<g class="legend">[^]*>${runtime}</text>[^]*</g>`));
    expect(svg).toContain('time to first response (ms, log scale), lower is better');
    expect(count(svg, 'class="sample"')).toBe(cold.reduce((n, m) => n + m.samples.length, 0));
    expect(count(svg, '<g class="series"')).toBe(cold.length);
  });

  it('marks the noisy series', () => {
    expect(svg).toMatch(/5\.297 noisy/);
  });

  it('draws samples past the axis as edge marks, counted', () => {
    const run: RunFile = { ...synthetic, measurements: [{ ...cold[0]!, p99: 3, samples: [...cold[0]!.samples.slice(0, -1), 1000] }] };
    const out = coldStartChart(run);
    expect(count(out, '<path class="sample"')).toBe(1);
    expect(count(out, 'class="sample"')).toBe(cold[0]!.samples.length);
    expect(out).toContain('+1›');
  });

  it('without kept samples (the recorded run) still draws p50/p90/p99 per row', () => {
    const out = coldStartChart(recorded);
    expect(count(out, 'class="sample"')).toBe(0);
    expect(count(out, '<g class="series"')).toBe(4); // edge-js and edge-wasm, after deploy and after eviction
    expect(out).toContain('first request after eviction');
  });

  it("draws the runner's phases as rows, and only the cold-start suite's cold_start_ms", () => {
    const meta = { suite: 'cold', workload: 'hello-js', metric: 'cold_start_ms', unit: 'ms' };
    const run: RunFile = {
      ...synthetic,
      measurements: [
        measure({ ...meta, runtime: 'edge-js', params: { phase: 'after deploy' } }, [2, 2.1]),
        measure({ ...meta, runtime: 'edge-js', params: { phase: 'after eviction' } }, [3, 3.2]),
        measure({ ...meta, runtime: 'edge-js', metric: 'host_cold_start_ms', params: { phase: 'total' } }, [1, 1]),
        measure({ ...meta, suite: 'limits', runtime: 'edge-js' }, [9]),
        measure({ ...meta, runtime: 'workerd', workload: 'hello', params: { phase: 'first request' } }, [5, 6]),
      ],
    };
    const out = coldStartChart(run);
    expect(count(out, '<g class="series"')).toBe(3);
    expect(count(out, 'class="sample"')).toBe(6);
    for (const label of ['hello-js · after deploy', 'hello-js · after eviction', 'hello · first request']) expect(out).toContain(`>${label}</text>`);
  });

  it('matches the committed rendering', async () => {
    await expect(svg).toMatchFileSnapshot('fixtures/charts/cold-start.svg');
  });
});

describe('throughput chart', () => {
  const svg = throughputChart(synthetic);
  const picked = synthetic.measurements.filter((m) => m.metric === 'requests_per_s');

  it('has a bar per runtime and concurrency, a dot per sample, the runtimes in the legend and the concurrencies on the axis', () => {
    expect(count(svg, 'class="bar"')).toBe(picked.length);
    expect(count(svg, 'class="sample"')).toBe(picked.reduce((n, m) => n + m.samples.length, 0));
    for (const runtime of ['edge-js', 'edge-wasm', 'workerd', 'fastify']) expect(svg).toContain(`>${runtime}</text>`);
    for (const c of ['c=10', 'c=50', 'c=100']) expect(svg).toContain(`>${c}</text>`);
    expect(svg).toContain('requests/s (req/s), higher is better');
  });

  it('tells two load generators apart in the recorded run', () => {
    const out = throughputChart(recorded);
    expect(out).toContain('>edge-js (autocannon)</text>');
    expect(out).toContain('>edge-js (wrk)</text>');
    expect(count(out, 'class="bar"')).toBe(6);
  });

  it('matches the committed rendering', async () => {
    await expect(svg).toMatchFileSnapshot('fixtures/charts/throughput.svg');
  });

  it('gives a runtime measured on two workloads at one concurrency a series each (hello-js and the gateway)', () => {
    const hello = picked.find((m) => m.runtime === 'edge-js')!;
    const gateway = { ...hello, workload: 'gateway', p50: hello.p50 / 2, samples: hello.samples.map((v) => v / 2) };
    const out = throughputChart({ ...synthetic, measurements: [...synthetic.measurements, gateway] });
    expect(count(out, 'class="bar"')).toBe(picked.length + 1);
    expect(out).toContain(`>edge-js · ${hello.workload}</text>`);
    expect(out).toContain('>edge-js · gateway</text>');
    expect(out).toContain('>edge-wasm</text>');
  });
});

describe('memory chart', () => {
  const svg = memoryChart(synthetic);

  it('has a point per runtime and worker count, a line per runtime, a log axis over decades', () => {
    expect(count(svg, 'class="point"')).toBe(6);
    expect(count(svg, '<polyline')).toBe(2);
    for (const w of ['100', '1,000', '5,000']) expect(svg).toContain(`>${w}</text>`);
    expect(svg).toContain('workers deployed (log scale)');
    expect(svg).toContain('RSS per worker (MiB), lower is better');
    expect(svg).toMatch(/<g class="legend">[^]*>edge-js<\/text>[^]*>workerd<\/text>[^]*<\/g>/);
  });

  it('a single worker count (the recorded run) is one point, no line', () => {
    const out = memoryChart(recorded);
    expect(count(out, 'class="point"')).toBe(1);
    expect(count(out, '<polyline')).toBe(0);
  });

  it('matches the committed rendering', async () => {
    await expect(svg).toMatchFileSnapshot('fixtures/charts/memory.svg');
  });
});

describe('niceTicks', () => {
  it('steps of 1, 2 or 5 × 10^k from 0 to at least the maximum', () => {
    expect(niceTicks(9.2, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(41323, 5)).toEqual([0, 10000, 20000, 30000, 40000, 50000]);
    expect(niceTicks(0.3, 6)).toEqual([0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });
});

describe('writeCharts', () => {
  it('writes the three SVG files and returns name → file name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-charts-'));
    try {
      const written = await writeCharts(synthetic, join(dir, 'nested'));
      expect(written).toEqual({ 'cold-start': 'cold-start.svg', throughput: 'throughput.svg', memory: 'memory.svg' });
      expect(await readFile(join(dir, 'nested', 'memory.svg'), 'utf8')).toBe(memoryChart(synthetic));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('logTicks', () => {
  it('1, 2, 5 × 10^k from the step at or below min to the one at or above max', () => {
    expect(logTicks(1.2, 45)).toEqual([1, 2, 5, 10, 20, 50]);
    expect(logTicks(0.03, 0.9)).toEqual([0.02, 0.05, 0.1, 0.2, 0.5, 1]);
    expect(logTicks(2, 20)).toEqual([2, 5, 10, 20]);
  });
});

describe('charts of the runner’s quick runs of 2026-11-27', () => {
  it('cold start: the six edge rows and workerd, every sample, on a log axis', () => {
    const svg = coldStartChart(coldRun);
    checkXml(svg);
    expect(count(svg, '<g class="series"')).toBe(7);
    expect(count(svg, 'class="sample"')).toBe(7 * 30);
    expect(svg).toContain('log scale');
    expect(svg).toContain('>large-js (369 KB bundle) · after eviction</text>');
  });

  it('throughput: one bar per runtime at c=10 from the warm suite, the limits suite left out', () => {
    const svg = throughputChart(warmRun);
    checkXml(svg);
    expect(count(svg, 'class="bar"')).toBe(4);
    expect(count(svg, 'class="sample"')).toBe(8);
    expect(svg).not.toContain('neighbour');
  });

  it('memory: edge-js and workerd at 100 and 1,000 workers, the pooled-isolate diagnostic left out', () => {
    const svg = memoryChart(memoryRun);
    checkXml(svg);
    expect(count(svg, 'class="point"')).toBe(4);
    expect(count(svg, '<polyline')).toBe(2);
    expect(svg).toContain('RSS per worker (MB), lower is better');
  });
});
