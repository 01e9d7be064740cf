/** @module Interface edge:platform/durable@0.1.0 **/
export type Headers = import('./edge-platform-http-types.js').Headers;
export type Response = import('./edge-platform-http-types.js').Response;
export type Error = ErrorNotGranted | ErrorInvalidId | ErrorObjectFailed | ErrorInternal;
/**
 * The manifest grants no Durable Object namespace under this binding name (`durable_objects`).
 */
export interface ErrorNotGranted {
  tag: 'not-granted',
  val: string,
}
/**
 * Not an id of this namespace.
 */
export interface ErrorInvalidId {
  tag: 'invalid-id',
  val: string,
}
/**
 * The object's handler failed (trapped, or broke a limit): described.
 */
export interface ErrorObjectFailed {
  tag: 'object-failed',
  val: string,
}
export interface ErrorInternal {
  tag: 'internal',
  val: string,
}
/**
 * A request to an object: the body is passed whole.
 */
export interface ObjectRequest {
  method: string,
  url: string,
  headers: Headers,
  body: Uint8Array,
}

export class Namespace {
  /**
   * This type does not have a public constructor.
   */
  private constructor();
  /**
  * The namespace bound as `binding` in the manifest.
  */
  static open(binding: string): Namespace;
  /**
  * The id of the object named `name` (the same name always gives the same id).
  */
  idFromName(name: string): string;
  /**
  * A new, unique id.
  */
  newUniqueId(): string;
  /**
  * `id` checked to be an id of this namespace (made by id-from-name or new-unique-id of this class).
  */
  idFromString(id: string): string;
  /**
  * Sends a request to the object `id`, starting it where it lives if needed, and waits for its response.
  */
  fetch(id: string, request: ObjectRequest): Response;
}
