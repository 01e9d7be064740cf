/** @module Interface edge:platform/incoming-handler@0.1.0 **/
/**
 * Handles one request. A trap ends the request with a 500 and the error goes to `edge tail`.
 */
export function handle(request: Request): Response;
export type Request = import('./edge-platform-http-types.js').Request;
export type Response = import('./edge-platform-http-types.js').Response;
