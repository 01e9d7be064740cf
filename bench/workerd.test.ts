// bench/workerd.ts: finding the binary (and saying how to install it when absent), serving hello workers on
// loopback, and one cold-start sample. The workerd parts are skipped, visibly, when the optional package is absent.
import { Agent } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killAllChildren, removeAllTempDirs } from './child-host.ts';
import { timedGet } from './http-get.ts';
import { HELLO_BODY, WORKERD_INSTALL_HINT, findWorkerd, startWorkerd, workerdColdStartSample, workerdConfig } from './workerd.ts';

const found = findWorkerd();
const installed = 'info' in found;

afterAll(() => {
  killAllChildren();
  removeAllTempDirs();
});

describe('findWorkerd', () => {
  it('gives the install hint when the workerd package cannot be resolved', () => {
    const empty = mkdtempSync(join(tmpdir(), 'edge-workerd-missing-'));
    try {
      const result = findWorkerd({ from: empty });
      expect(result).toEqual({ missing: `not installed: ${WORKERD_INSTALL_HINT}` });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('says when the package is there but its platform binary package is not', () => {
    const fake = mkdtempSync(join(tmpdir(), 'edge-workerd-nobinary-'));
    try {
      mkdirSync(join(fake, 'node_modules/workerd'), { recursive: true });
      writeFileSync(join(fake, 'node_modules/workerd/package.json'), JSON.stringify({ name: 'workerd', version: '1.20261117.1' }));
      const result = findWorkerd({ from: fake, platformKey: 'linux x64 LE' });
      expect('missing' in result && result.missing).toMatch(/binary package @cloudflare\/workerd-linux-64 is not .*npm install --save-optional workerd$/);
    } finally {
      rmSync(fake, { recursive: true, force: true });
    }
  });

  it.skipIf(!installed)('says when the package has no build for this platform', () => {
    const result = findWorkerd({ platformKey: 'plan9 mips BE' });
    expect('missing' in result && result.missing).toMatch(/^no build for this platform \(plan9 mips BE\)/);
  });

  it.skipIf(!installed)('finds the binary and the package version', () => {
    if (!('info' in found)) throw new Error('unreachable');
    expect(found.info.binary).toMatch(/workerd(\.exe)?$/);
    expect(found.info.version).toMatch(/^\d+\.\d{8}\.\d+$/);
  });
});

describe('workerdConfig', () => {
  it('gives each worker its own service and loopback socket', () => {
    const config = workerdConfig(['hello-0', 'hello-1'], 'worker.js');
    expect(config).toContain('using Workerd = import "/workerd/workerd.capnp";');
    expect(config).toContain('(name = "hello-1", address = "127.0.0.1:0", http = (), service = "hello-1")');
    expect(config).toContain('const w1 :Workerd.Worker');
    expect(config).not.toContain('0.0.0.0');
  });
});

describe.skipIf(!installed)('workerd on loopback', () => {
  it('serves three hello workers, each on its own port', async () => {
    const workerd = await startWorkerd({ workers: 3 });
    const agent = new Agent({ keepAlive: false });
    try {
      expect(workerd.names).toHaveLength(3);
      const ports = new Set<number>();
      for (const name of workerd.names) {
        const { url, host } = workerd.url(name);
        const port = Number(new URL(url).port);
        ports.add(port);
        expect(new URL(url).hostname).toBe('127.0.0.1');
        const res = await timedGet({ port, host, agent });
        expect(res.status).toBe(200);
        expect(res.body).toBe(HELLO_BODY);
      }
      expect(ports.size).toBe(3);
      expect(workerd.port).toBe(Number(new URL(workerd.url(workerd.names[0]!).url).port));
      expect(workerd.rssBytes()).toBeGreaterThan(0);
      expect(() => workerd.url('nope')).toThrow(/no worker named "nope"/);
    } finally {
      agent.destroy();
      await workerd.stop();
    }
    expect(() => process.kill(workerd.pid, 0)).toThrow();
  });

  it('takes a cold-start sample: spawn to first 200', async () => {
    const sample = await workerdColdStartSample();
    expect(sample.totalMs).toBeGreaterThan(0);
    expect(sample.startupMs).toBeGreaterThan(0);
    expect(sample.startupMs).toBeLessThanOrEqual(sample.totalMs);
  });
});

if ('missing' in found) process.stderr.write(`bench/workerd.test.ts: workerd tests skipped: ${found.missing}\n`);
