/** @module Interface edge:platform/vars@0.1.0 **/
/**
 * The value of `name` as JSON text (a string var is a JSON string, e.g. `"production"`), or `none`.
 */
export function get(name: string): string | undefined;
/**
 * Every var name, sorted.
 */
export function names(): Array<string>;
