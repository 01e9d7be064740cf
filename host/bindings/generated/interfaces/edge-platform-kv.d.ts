/** @module Interface edge:platform/kv@0.1.0 **/
export type Error = ErrorNotGranted | ErrorKeyTooLong | ErrorInvalidKey | ErrorValueTooLarge | ErrorMetadataTooLarge | ErrorInvalidExpiration | ErrorInvalidList | ErrorInternal;
/**
 * The manifest grants no KV namespace under this binding name (`kv_namespaces`).
 */
export interface ErrorNotGranted {
  tag: 'not-granted',
  val: string,
}
/**
 * Keys are at most 512 bytes of UTF-8; the length found.
 */
export interface ErrorKeyTooLong {
  tag: 'key-too-long',
  val: number,
}
/**
 * `.`, `..` and the empty string are not keys.
 */
export interface ErrorInvalidKey {
  tag: 'invalid-key',
  val: string,
}
/**
 * Values are at most 25 MiB; the size found.
 */
export interface ErrorValueTooLarge {
  tag: 'value-too-large',
  val: bigint,
}
/**
 * Metadata is at most 1024 bytes of JSON; the size found.
 */
export interface ErrorMetadataTooLarge {
  tag: 'metadata-too-large',
  val: number,
}
/**
 * An expiration in the past or less than 60 seconds away, described.
 */
export interface ErrorInvalidExpiration {
  tag: 'invalid-expiration',
  val: string,
}
/**
 * A list limit outside 1-1000, or a cursor this namespace did not return, described.
 */
export interface ErrorInvalidList {
  tag: 'invalid-list',
  val: string,
}
export interface ErrorInternal {
  tag: 'internal',
  val: string,
}
export interface PutOptions {
  /**
   * Seconds since the Unix epoch.
   */
  expiration?: bigint,
  /**
   * Seconds from now.
   */
  expirationTtl?: bigint,
  /**
   * JSON text stored beside the value.
   */
  metadata?: string,
}
export interface Entry {
  value: Uint8Array,
  metadata?: string,
  /**
   * When the key expires, in seconds since the Unix epoch; none when it does not.
   */
  expiration?: bigint,
}
export interface ListOptions {
  prefix?: string,
  /**
   * At most 1000 (the default).
   */
  limit?: number,
  /**
   * From a previous result that was not complete.
   */
  cursor?: string,
}
export interface KeyInfo {
  name: string,
  expiration?: bigint,
  metadata?: string,
}
export interface ListResult {
  /**
   * Ordered by the UTF-8 bytes of the names.
   */
  keys: Array<KeyInfo>,
  listComplete: boolean,
  cursor?: string,
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
  get(key: string): Entry | undefined;
  put(key: string, value: Uint8Array, options: PutOptions): void;
  'delete'(key: string): void;
  list(options: ListOptions): ListResult;
}
