// The architecture rules of .dependency-cruiser.cjs (no cycles, storage independent of the host, no capability
// named by the runtime core, host layers importing only downward) hold on the tree: the same check as
// `npm run lint:deps`, run as a test so that a failing run names each offending import.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ICruiseResult } from 'dependency-cruiser';

const root = fileURLToPath(new URL('..', import.meta.url));
const depcruise = fileURLToPath(new URL('../node_modules/dependency-cruiser/bin/dependency-cruiser.mjs', import.meta.url));

function cruise(): ICruiseResult {
  // Exits non-zero when there are violations; the JSON report is on stdout either way.
  const run = spawnSync(process.execPath, [depcruise, 'host', 'storage', 'guest-sdk', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (!run.stdout) throw new Error(`dependency-cruiser produced no report (exit ${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as ICruiseResult;
}

describe('architecture', () => {
  it('has no dependency violations in host/, storage/ and guest-sdk/', () => {
    const result = cruise();
    // A configuration that matched nothing would pass vacuously: the graph must hold the host's entry points.
    const modules = new Set(result.modules.map((m) => m.source));
    expect(modules).toContain('host/server/host.ts');
    expect(modules).toContain('storage/kv/kv-engine.ts');
    expect(modules).toContain('guest-sdk/bindgen/world.ts');
    const violations = result.summary.violations.map((v) =>
      v.cycle?.length ? `${v.rule.name}: ${v.from} → ${v.cycle.map((c) => c.name).join(' → ')}` : `${v.rule.name}: ${v.from} → ${v.to}`,
    );
    expect(violations).toEqual([]);
  });
});
