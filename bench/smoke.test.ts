// Smoke test of the benchmark runner: the quick suite's cold-start part against a real host on loopback, with a
// handful of deploys, checked for a well-formed run file (bench/schema.ts validateRunFile). No timing is asserted.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runBench } from './run.ts';
import { validateRunFile } from './schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'edge-bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('edge bench --quick, cold start part', () => {
  it('deploys, cold-starts and records every sample in a valid run file', async () => {
    let table = '';
    const out = new Writable({
      write(chunk: Buffer, _enc, done) {
        table += chunk.toString();
        done();
      },
    });
    const json = join(dir, 'run.json');
    const outcome = await runBench({ suites: ['cold'], quick: true, coldSamples: 3, noInstantiate: true, noWorkerd: true, noReport: true, handleSignals: false, json, out });

    const run = validateRunFile(JSON.parse(readFileSync(json, 'utf8')));
    expect(outcome.jsonPath).toBe(json);
    expect(run.settings).toMatchObject({ quick: true, suites: ['cold'] });
    expect(run.machine).toMatchObject({ cores: expect.any(Number), node: process.version });
    const cold = run.measurements.filter((m) => m.metric === 'cold_start_ms');
    // after deploy and after eviction, for hello-js, the large bundle and hello-as
    expect(cold).toHaveLength(6);
    for (const m of cold) {
      expect(['edge-js', 'edge-wasm']).toContain(m.runtime);
      expect(m.samples).toHaveLength(3);
      expect(m.n).toBe(3);
      expect(m.samples.every((s) => s > 0)).toBe(true);
      expect(m.p50).toBeLessThanOrEqual(m.p99);
    }
    expect(cold.map((m) => m.workload)).toEqual(expect.arrayContaining(['hello-js', 'hello-as', expect.stringMatching(/^large-js/)]));
    expect(run.measurements.some((m) => m.metric === 'host_cold_start_ms' && m.params?.phase === 'isolate from pool')).toBe(true);
    expect(run.targets.some((t) => t.target.startsWith('JS cold start'))).toBe(true);
    expect(table).toContain('cold_start_ms');
    expect(table).toContain('Targets');
  });
});
