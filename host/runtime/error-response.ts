// How a failure reaches the client: the response for a request the host ended with an EdgeError, and anything
// thrown on the way turned into one (or into text for a message).
import { EdgeError } from '../core/errors.ts';
import type { WorkerResponse } from './worker-types.ts';

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

export function errorStack(err: unknown): string | undefined {
  return err instanceof Error ? err.stack : undefined;
}

export function asEdgeError(err: unknown): EdgeError {
  return err instanceof EdgeError ? err : new EdgeError('E_INTERNAL', errorText(err), { status: 500 });
}

/**
 * The response for a request the host ended with `err`. Errors made for the admin API carry 4xx statuses
 * (a bad deploy); reaching a client they mean the server failed, so only 5xx statuses and 404 (no such
 * worker) are kept.
 */
export function errorResponse(err: EdgeError): WorkerResponse {
  const body = new TextEncoder().encode(`${err.code}: ${err.message}\n`);
  return {
    status: err.status >= 500 || err.status === 404 ? err.status : 500,
    statusText: '',
    headers: [
      ['content-type', 'text/plain; charset=utf-8'],
      ['x-edge-error', err.code],
    ],
    body,
    stream: null,
  };
}
