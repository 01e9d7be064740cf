// node:assert/strict under nodejs_compat: assert.js's strict mode (equal is strictEqual, deepEqual deepStrictEqual).
import { strict } from './assert.js';

export {
  AssertionError, ok, fail, throws, doesNotThrow, rejects, doesNotReject, match, doesNotMatch, ifError, strictEqual, notStrictEqual,
  deepStrictEqual, notDeepStrictEqual, strictEqual as equal, notStrictEqual as notEqual, deepStrictEqual as deepEqual,
  notDeepStrictEqual as notDeepEqual, strict,
} from './assert.js';
export default strict;
