// Errors a user can act on: every failure the host reports carries a stable code that tests and clients match on.

export type EdgeErrorCode =
  | 'E_MANIFEST_INVALID'
  | 'E_MANIFEST_NOT_FOUND'
  | 'E_BINDING_UNSUPPORTED'
  | 'E_MODULE_INVALID'
  | 'E_MODULE_NOT_FOUND'
  | 'E_NO_FETCH_HANDLER'
  | 'E_NO_SCHEDULED_HANDLER'
  | 'E_NO_ORIGIN'
  | 'E_ORIGIN_UNREACHABLE'
  | 'E_PASS_THROUGH_BODY_USED'
  | 'E_CRON_INVALID'
  | 'E_DEPLOY_INVALID'
  | 'E_WORKER_NOT_FOUND'
  | 'E_VERSION_NOT_FOUND'
  | 'E_NO_ROUTE'
  | 'E_WEBSOCKET'
  | 'E_CPU_LIMIT'
  | 'E_WALL_LIMIT'
  | 'E_MEMORY_LIMIT'
  | 'E_SUBREQUEST_LIMIT'
  | 'E_FUEL_LIMIT'
  | 'E_WORKER_EXCEPTION'
  | 'E_ISOLATE_RESET'
  | 'E_UNAUTHORIZED'
  | 'E_CONFIG_INVALID'
  | 'E_CAPABILITY_INVALID'
  | 'E_BINDING_UNKNOWN'
  | 'E_BINDING_INVALID'
  | 'E_IMPORT_NOT_GRANTED'
  | 'E_COMPONENT_INVALID'
  | 'E_WASM_INVALID'
  | 'E_BUILD_FAILED'
  | 'E_BUNDLE_FAILED'
  | 'E_ASSETS_INVALID'
  | 'E_ASSET_MISSING'
  | 'E_SECRET_INVALID'
  | 'E_SECRET_NOT_FOUND'
  | 'E_INTERNAL';

export class EdgeError extends Error {
  readonly code: EdgeErrorCode;
  /** HTTP status the host answers with when this error ends a request. */
  readonly status: number;
  readonly details?: Record<string, unknown>;

  /**
   * `stack: false` for an answer that is no fault of the host's (an unknown route): no stack trace is captured, which
   * was ~10% of the host's CPU for a 404 (V8 walks and translates the optimized frames of the request path).
   */
  constructor(code: EdgeErrorCode, message: string, options: { status?: number; details?: Record<string, unknown>; cause?: unknown; stack?: false } = {}) {
    const limit = Error.stackTraceLimit;
    if (options.stack === false) Error.stackTraceLimit = 0;
    try {
      super(message, options.cause === undefined ? undefined : { cause: options.cause });
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = 'EdgeError';
    this.code = code;
    this.status = options.status ?? 400;
    if (options.details) this.details = options.details;
  }

  toJSON(): { code: EdgeErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export function isEdgeError(e: unknown): e is EdgeError {
  return e instanceof EdgeError;
}
