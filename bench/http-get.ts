// One timed GET over node:http, with the Host header a worker is routed by (fetch() cannot set Host).
import { request, type Agent } from 'node:http';

export interface TimedResponse {
  status: number;
  body: string;
  headers: import('node:http').IncomingHttpHeaders;
  /** From just before the request is written to the last byte of the response body. */
  ms: number;
}

export function timedGet(options: { port: number; host: string; path?: string; agent: Agent; timeoutMs?: number; headers?: Record<string, string> }): Promise<TimedResponse> {
  return new Promise<TimedResponse>((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      { host: '127.0.0.1', port: options.port, path: options.path ?? '/', method: 'GET', agent: options.agent, headers: { ...options.headers, host: options.host } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers, ms: performance.now() - t0 }));
        res.on('error', reject);
      },
    );
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error(`GET http://${options.host}${options.path ?? '/'} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
