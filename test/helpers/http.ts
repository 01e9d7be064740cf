// A plain HTTP client for tests: unlike fetch(), it may set the Host header, which routing depends on.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

export interface TestResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export function request(
  url: string,
  options: { host?: string; method?: string; headers?: Record<string, string>; body?: string | Uint8Array | Readable } = {},
): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.host) headers.host = options.host;
    const req = httpRequest(url, { method: options.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    const b = options.body;
    if (b === undefined) req.end();
    else if (typeof b === 'string' || b instanceof Uint8Array) req.end(b);
    else b.pipe(req);
  });
}
