// Type-checking shim for fetcher.js, which is being rewritten and is not type-checked yet (tsconfig.prelude.json
// excludes it): the exports the checked prelude modules import. Delete it once fetcher.js is checked itself.
import type { Response } from './response.js';

/** How a fetch leaves the isolate: `binding` names a service binding, or is null for the global fetch(). */
export type ServiceTransport = (binding: string | null, input: unknown, init?: unknown) => Promise<Response>;

/** Set by the runtime: `(binding, input, init) => Promise<Response>`. */
export function setServiceTransport(fn: ServiceTransport): void;

/** fetch() through service binding `binding`. */
export function serviceFetch(binding: string, input: unknown, init?: unknown): Promise<Response>;
