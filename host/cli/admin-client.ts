// A typed client for the host's admin API, used by the `edge` CLI (deploy, list, versions, rollback, delete, tail).

import type { DeployUpload } from '../deploy/upload.ts';

export interface DeployedVersion { id: string; createdAt: string | number; main: string }
export interface DeployResult { name: string; version: DeployedVersion; url: string; routes: string[] }
export interface WorkerSummary { name: string; activeVersion: string | null; routes: string[]; url: string; updatedAt: string | number | null }
export interface WorkerList { workers: WorkerSummary[] }
export interface VersionSummary { id: string; createdAt: string | number; main: string; active: boolean }
export interface VersionList { name: string; activeVersion: string | null; versions: VersionSummary[] }
export interface RollbackResult { name: string; activeVersion: string; previousVersion: string | null }
export interface DeleteResult { name: string; deleted: true }
/** How a scheduled run ended (the host's ScheduledOutcome). */
export interface ScheduledRun {
  worker: string;
  version: string;
  cron: string;
  scheduledTime: number;
  outcome: string;
  noRetry: boolean;
  code?: string;
  message?: string;
  cpuMs: number;
  wallMs: number;
}
export interface TailEvent {
  ts: number;
  worker: string;
  version: string;
  level: 'log' | 'info' | 'warn' | 'error' | 'debug';
  kind: 'console' | 'exception' | 'limit' | 'request';
  message: string;
  code?: string;
  stack?: string;
}

/**
 * An error answered by the admin API (its `{ error: { code, message, details } }` body), or a failure to reach it.
 * The code is a string rather than EdgeErrorCode: a newer host may answer codes this client does not know.
 */
export class AdminApiError extends Error {
  readonly code: string;
  readonly status: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: { status?: number; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AdminApiError';
    this.code = code;
    this.status = options.status;
    this.details = options.details;
  }
}

export interface AdminClientOptions { adminUrl: string; token: string }

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class AdminClient {
  readonly adminUrl: string;
  readonly #token: string;

  constructor(options: AdminClientOptions) {
    this.adminUrl = options.adminUrl.replace(/\/+$/, '');
    this.#token = options.token;
  }

  deploy(upload: DeployUpload): Promise<DeployResult> {
    return this.#json('POST', '/v1/workers', upload);
  }

  list(): Promise<WorkerList> {
    return this.#json('GET', '/v1/workers');
  }

  versions(name: string): Promise<VersionList> {
    return this.#json('GET', `/v1/workers/${encodeURIComponent(name)}/versions`);
  }

  rollback(name: string, version?: string): Promise<RollbackResult> {
    return this.#json('POST', `/v1/workers/${encodeURIComponent(name)}/rollback`, version === undefined ? {} : { version });
  }

  delete(name: string): Promise<DeleteResult> {
    return this.#json('DELETE', `/v1/workers/${encodeURIComponent(name)}`);
  }

  /** Runs a worker's scheduled handler now, as its cron trigger would (`cron` defaults to its first trigger). */
  scheduled(name: string, event: { cron?: string; scheduledTime?: number } = {}): Promise<ScheduledRun> {
    return this.#json('POST', `/v1/workers/${encodeURIComponent(name)}/scheduled`, event);
  }

  /**
   * Opens a worker's log stream. Resolves once the host has accepted it (so a caller can say "connected"), to events
   * that end when `signal` aborts (quietly) or the host closes the stream.
   */
  async tail(name: string, signal?: AbortSignal): Promise<AsyncIterable<TailEvent>> {
    const res = await this.#request('GET', `/v1/workers/${encodeURIComponent(name)}/tail`, undefined, signal);
    return readNdjson(res, name, this.adminUrl, signal);
  }

  async #json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.#request(method, path, body);
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new AdminApiError('E_INTERNAL', `the admin API answered ${method} ${path} with ${res.status} but a body that is not JSON: ${text.slice(0, 200)}`, {
        status: res.status,
        cause: e,
      });
    }
  }

  async #request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const url = `${this.adminUrl}${path}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? null : JSON.stringify(body), ...(signal ? { signal } : {}) });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new AdminApiError(
        'E_ADMIN_UNREACHABLE',
        `cannot reach the admin API at ${this.adminUrl} (${errorText(e)}); is \`edge serve\` running there? Use --admin-url to point elsewhere`,
        { details: { adminUrl: this.adminUrl }, cause: e },
      );
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => '');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const error = isRecord(parsed) && isRecord(parsed['error']) ? parsed['error'] : undefined;
    if (error && typeof error['code'] === 'string' && typeof error['message'] === 'string') {
      throw new AdminApiError(error['code'], error['message'], { status: res.status, ...(isRecord(error['details']) ? { details: error['details'] } : {}) });
    }
    throw new AdminApiError(res.status === 401 ? 'E_UNAUTHORIZED' : 'E_INTERNAL', `${method} ${url} answered ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`, {
      status: res.status,
    });
  }
}

async function* readNdjson(res: Response, worker: string, adminUrl: string, signal?: AbortSignal): AsyncGenerator<TailEvent, void, undefined> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for await (const chunk of res.body) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) yield parseTailLine(line, worker);
      }
    }
    const rest = (buffered + decoder.decode()).trim();
    if (rest) yield parseTailLine(rest, worker);
  } catch (e) {
    if (signal?.aborted) return;
    throw new AdminApiError('E_ADMIN_UNREACHABLE', `the tail stream from ${adminUrl} broke: ${errorText(e)}`, { cause: e });
  }
}

function parseTailLine(line: string, worker: string): TailEvent {
  try {
    const v: unknown = JSON.parse(line);
    if (isRecord(v) && typeof v['message'] === 'string') return v as unknown as TailEvent;
  } catch {
    // fall through: show the line as it came rather than dropping it
  }
  return { ts: Date.now(), worker, version: '?', level: 'warn', kind: 'console', message: `(unparsable tail line) ${line}` };
}

/** The useful part of a fetch failure: undici hides the errno (ECONNREFUSED...) in `cause`. */
function errorText(e: unknown): string {
  if (e instanceof Error) {
    const cause = e.cause;
    if (cause instanceof Error) return (cause as NodeJS.ErrnoException).code ?? cause.message;
    return e.message;
  }
  return String(e);
}
