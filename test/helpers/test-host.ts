// A real host on loopback ports in a temporary data directory, with helpers to deploy workers from
// in-memory files and to call them by host name.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHost, type HostOptions, type RunningHost } from '../../host/server/host.ts';
import { request, type TestResponse } from './http.ts';

export interface WorkerFiles {
  /** wrangler.toml content; `name`/`main` default from the arguments. */
  toml?: string;
  modules: Record<string, string>;
}

export interface TestHost {
  host: RunningHost;
  dataDir: string;
  port: number;
  deploy(name: string, files: WorkerFiles): Promise<{ status: number; body: any }>;
  admin(method: string, path: string, body?: unknown, token?: string | null): Promise<{ status: number; body: any }>;
  get(name: string, path?: string, init?: { method?: string; headers?: Record<string, string>; body?: any }): Promise<TestResponse>;
  restart(extra?: Partial<HostOptions>): Promise<void>;
  close(): Promise<void>;
}

export function manifestFor(name: string, main: string, extra = ''): string {
  return `name = "${name}"\nmain = "${main}"\ncompatibility_date = "2026-11-01"\n${extra}\n`;
}

export async function startTestHost(options: Partial<HostOptions> = {}): Promise<TestHost> {
  const dataDir = await mkdtemp(join(tmpdir(), 'edge-test-'));
  const opts: HostOptions = { dataDir, port: 0, adminPort: 0, adminToken: 'test-token', poolSize: 2, ...options };
  let host = await startHost(opts);
  const t: TestHost = {
    get host() {
      return host;
    },
    dataDir,
    get port() {
      return Number(new URL(host.dataUrl).port);
    },
    async admin(method, path, body, token = host.adminToken) {
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(host.adminUrl + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // plain text (metrics)
      }
      return { status: res.status, body: parsed };
    },
    async deploy(name, files) {
      const mainPath = Object.keys(files.modules)[0]!;
      return t.admin('POST', '/v1/workers', {
        manifest: { fileName: 'wrangler.toml', content: files.toml ?? manifestFor(name, mainPath) },
        modules: Object.entries(files.modules).map(([path, content]) => ({ path, content })),
      });
    },
    get(name, path = '/', init = {}) {
      return request(`${host.dataUrl}${path}`, { host: `${name}.localhost:${t.port}`, ...init });
    },
    async restart(extra = {}) {
      await host.close();
      host = await startHost({ ...opts, ...extra });
    },
    async close() {
      await host.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}
