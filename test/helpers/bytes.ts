// Measuring what bytes cost: a request sent from another process (so that the client's buffers are not counted), the
// most the host's live ArrayBuffer memory rose while something ran, and what a worker's requests were charged.
import { execFile } from 'node:child_process';
import type { TestHost } from './test-host.ts';

/**
 * A request to a worker sent from another process (whose reads and writes are not this one's memory): `putBytes`
 * bytes of zeros as a PUT's body, else a GET. Resolves to the response's length.
 */
export function fetchElsewhere(t: TestHost, name: string, path: string, putBytes = 0): Promise<number> {
  const script = `const http = require('node:http');
    const put = Number(process.argv[3]);
    const req = http.request(process.argv[1], { method: put ? 'PUT' : 'GET', headers: { host: process.argv[2] } }, (res) => {
      let n = 0;
      res.on('data', (c) => { n += c.length; });
      res.on('end', () => { process.stdout.write(String(n)); });
      res.on('error', () => process.exit(2));
    }).on('error', () => process.exit(3));
    const block = Buffer.alloc(1 << 20);
    let left = put;
    (function more() {
      while (left > 0) {
        const n = Math.min(left, block.length);
        left -= n;
        if (!req.write(block.subarray(0, n))) return req.once('drain', more);
      }
      req.end();
    })();`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script, `${t.host.dataUrl}${path}`, `${name}.localhost:${t.port}`, String(putBytes)], (err, stdout) => (err ? reject(err) : resolve(Number(stdout))));
  });
}

/**
 * The most this process's live ArrayBuffer memory rose above its lowest point so far while `run` ran (sampled every
 * 2 ms): what piled up, whatever garbage of earlier work a collection freed meanwhile.
 */
export async function arrayBufferPeak(run: () => Promise<void>): Promise<number> {
  let low = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const sampler = setInterval(() => {
    const now = process.memoryUsage().arrayBuffers;
    low = Math.min(low, now);
    peak = Math.max(peak, now - low);
  }, 2);
  try {
    await run();
  } finally {
    clearInterval(sampler);
  }
  return peak;
}

/** What `worker`'s requests were charged so far: CPU (edge_cpu_seconds_total, in ms) and entries into the isolate. */
export async function charged(t: TestHost, worker: string): Promise<{ ms: number; entries: number }> {
  const { body } = await t.admin('GET', '/metrics');
  const read = (metric: string): number => {
    const m = new RegExp(`^${metric}\\{worker="${worker}"\\} (\\S+)$`, 'm').exec(String(body));
    return m ? Number(m[1]) : 0;
  };
  return { ms: read('edge_cpu_seconds_total') * 1000, entries: read('edge_isolate_entries_total') };
}

/** The request's charge, once its end was accounted (after the last byte left, the request is finished). */
export async function chargedAfter(t: TestHost, worker: string, before: { ms: number; entries: number }): Promise<{ ms: number; entries: number }> {
  for (let i = 0; i < 100; i++) {
    const now = await charged(t, worker);
    if (now.entries > before.entries) return { ms: now.ms - before.ms, entries: now.entries - before.entries };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no request of ${worker} was accounted`);
}
