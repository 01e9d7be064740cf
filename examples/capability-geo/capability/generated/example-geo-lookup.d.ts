/** @module Interface example:geo/lookup@0.1.0 **/
/**
 * Why a call failed. JavaScript workers see it as an Error named `CapabilityError` whose `payload` is this
 * value (`{ tag: 'invalid-address', val: '1.2.3' }`); components get it as the `result`'s error.
 */
export type Error = ErrorNotGranted | ErrorInvalidAddress;
/**
 * The worker's manifest has no `[[bindings]]` entry of type "geo" with this binding name.
 */
export interface ErrorNotGranted {
  tag: 'not-granted',
  val: string,
}
/**
 * The address given (the payload) is not an IPv4 address in dotted-decimal form, e.g. "1.2.3" or "::1".
 */
export interface ErrorInvalidAddress {
  tag: 'invalid-address',
  val: string,
}

export class Table {
  /**
   * This type does not have a public constructor.
   */
  private constructor();
  /**
  * Opens the table granted under `binding` (e.g. "GEO"). JavaScript workers never call this themselves:
  * `env.GEO.region(ip)` opens the table on first use.
  */
  static open(binding: string): Table;
  /**
  * The region of `ip` (e.g. "eu-west"); the binding's `default_region` setting when the table has no range
  * for it, or `none` when the binding has no default either.
  */
  region(ip: string): string | undefined;
}
