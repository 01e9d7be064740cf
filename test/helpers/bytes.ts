// Measuring what bytes cost the host's own memory: a request sent from another process (so that the client's
// buffers are not counted), and the most the live ArrayBuffer memory rose while something ran.
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
