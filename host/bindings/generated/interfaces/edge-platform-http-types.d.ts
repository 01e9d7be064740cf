/** @module Interface edge:platform/http-types@0.1.0 **/
/**
 * Sends the status and headers now and returns the body to write into, for responses that are
 * produced piece by piece. The handler then returns a response whose body is `streamed`.
 */
export function beginResponse(status: number, headers: Headers): OutgoingBody;
/**
 * Header names are lower-case. A name may appear more than once (`set-cookie`), in order.
 */
export type Headers = Array<[string, string]>;
/**
 * Why reading or writing a body failed.
 */
export type BodyError = BodyErrorClosed | BodyErrorTooLarge | BodyErrorIo;
/**
 * The other side went away (the client disconnected, the body was cancelled).
 */
export interface BodyErrorClosed {
  tag: 'closed',
}
/**
 * More bytes than the limit given, in bytes.
 */
export interface BodyErrorTooLarge {
  tag: 'too-large',
  val: bigint,
}
/**
 * Anything else, described for a human.
 */
export interface BodyErrorIo {
  tag: 'io',
  val: string,
}
export interface Request {
  /**
   * `GET`, `POST`, ... as the client sent it (standard methods upper-cased).
   */
  method: string,
  /**
   * The absolute URL, e.g. `http://hello.localhost:8787/path?query`.
   */
  url: string,
  headers: Headers,
  /**
   * `none` for requests without a body (GET, HEAD, or no content).
   */
  body?: IncomingBody,
}
/**
 * How the response body is given.
 */
export type ResponseBody = ResponseBodyEmpty | ResponseBodyBytes | ResponseBodyStreamed;
export interface ResponseBodyEmpty {
  tag: 'empty',
}
/**
 * The whole body at once: the simplest choice for small bodies.
 */
export interface ResponseBodyBytes {
  tag: 'bytes',
  val: Uint8Array,
}
/**
 * The body was already written through the `outgoing-body` that `begin-response` returned;
 * the status and headers given to `begin-response` were sent, those in this response are ignored.
 */
export interface ResponseBodyStreamed {
  tag: 'streamed',
}
export interface Response {
  /**
   * 200-599.
   */
  status: number,
  headers: Headers,
  body: ResponseBody,
}

export class IncomingBody {
  /**
   * This type does not have a public constructor.
   */
  private constructor();
  /**
  * Reads at most `max` bytes, waiting until some arrive. `none` once the body has ended.
  */
  read(max: number): Uint8Array | undefined;
}

export class OutgoingBody {
  /**
   * This type does not have a public constructor.
   */
  private constructor();
  /**
  * Sends `chunk`, waiting while the client is slower than the worker.
  */
  write(chunk: Uint8Array): void;
}
