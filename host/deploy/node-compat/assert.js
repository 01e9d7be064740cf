// node:assert (and assert/strict) under nodejs_compat. Written here rather than taken from unenv: unenv's compares
// deep values by their JSON (so `{a:1,b:2}` and `{b:2,a:1}` differ, Maps and Sets are all equal) and its
// AssertionError has neither Node's name nor the message; no maintained browser port of Node's assert is installed.
// The comparison follows Node's rules for the common cases (primitives, arrays, plain objects, Dates, RegExps, boxed
// values, typed arrays, Maps, Sets, errors, cycles); messages are shorter than Node's diffs.
import { inspect } from 'edge:node-compat';

export class AssertionError extends Error {
  constructor(options = {}) {
    const { message, actual, expected, operator } = options;
    super(message === undefined ? `${inspect(actual)} ${operator ?? '=='} ${inspect(expected)}` : String(message));
    this.name = 'AssertionError';
    this.code = 'ERR_ASSERTION';
    this.actual = actual;
    this.expected = expected;
    this.operator = operator;
    this.generatedMessage = message === undefined;
  }
}

function fail(actual, expected, message, operator, generated) {
  if (message instanceof Error) throw message;
  throw new AssertionError({ message: message ?? generated, actual, expected, operator });
}

const isObject = (v) => v !== null && typeof v === 'object';
const tag = (v) => Object.prototype.toString.call(v);

function deepEqual(a, b, strict, memo) {
  if (strict ? Object.is(a, b) : a == b || (a !== a && b !== b)) return true; // eslint-disable-line eqeqeq
  if (!isObject(a) || !isObject(b)) return false;
  if (strict && Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (tag(a) !== tag(b)) return false;
  if (a instanceof Date) return a.getTime() === b.getTime() && keysEqual(a, b, strict, memo);
  if (a instanceof RegExp) return String(a) === String(b) && a.lastIndex === b.lastIndex && keysEqual(a, b, strict, memo);
  if (a instanceof Error && (a.message !== b.message || a.name !== b.name)) return false;
  if (ArrayBuffer.isView(a)) {
    if (a.byteLength !== b.byteLength) return false;
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return keysEqual(a, b, strict, memo, true);
  }
  for (const Box of [Number, String, Boolean, BigInt, Symbol]) {
    if (a instanceof Box) return Object.is(a.valueOf(), b.valueOf());
  }
  // Cycles: a pair already being compared is taken as equal (as Node does).
  let seen = memo.get(a);
  if (seen?.has(b)) return true;
  if (!seen) memo.set(a, (seen = new Set()));
  seen.add(b);
  if (a instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) {
      if (b.has(k)) {
        if (!deepEqual(v, b.get(k), strict, memo)) return false;
      } else if (![...b].some(([k2, v2]) => deepEqual(k, k2, strict, memo) && deepEqual(v, v2, strict, memo))) return false;
    }
    return true;
  }
  if (a instanceof Set) {
    if (a.size !== b.size) return false;
    for (const v of a) if (!b.has(v) && ![...b].some((w) => deepEqual(v, w, strict, memo))) return false;
    return true;
  }
  if (Array.isArray(a) && a.length !== b.length) return false;
  return keysEqual(a, b, strict, memo);
}

function keysEqual(a, b, strict, memo, skipIndices = false) {
  const own = (o) => Object.keys(o).filter((k) => !(skipIndices && /^\d+$/.test(k)));
  const ka = own(a);
  const kb = own(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!deepEqual(a[k], b[k], strict, memo)) return false;
  }
  return true;
}

export const isDeepEqual = (a, b) => deepEqual(a, b, false, new Map());
export const isDeepStrictEqual = (a, b) => deepEqual(a, b, true, new Map());

export function ok(value, message) {
  if (!value) fail(value, true, message, '==', arguments.length === 0 ? 'No value argument passed to `assert.ok()`' : 'The expression evaluated to a falsy value');
}
export function equal(actual, expected, message) {
  // eslint-disable-next-line eqeqeq
  if (!(actual == expected || (actual !== actual && expected !== expected))) fail(actual, expected, message, '==', `${inspect(actual)} == ${inspect(expected)}`);
}
export function notEqual(actual, expected, message) {
  // eslint-disable-next-line eqeqeq
  if (actual == expected || (actual !== actual && expected !== expected)) fail(actual, expected, message, '!=', `${inspect(actual)} != ${inspect(expected)}`);
}
export function strictEqual(actual, expected, message) {
  if (!Object.is(actual, expected)) fail(actual, expected, message, 'strictEqual', `Expected values to be strictly equal:\n\n${inspect(actual)} !== ${inspect(expected)}\n`);
}
export function notStrictEqual(actual, expected, message) {
  if (Object.is(actual, expected)) fail(actual, expected, message, 'notStrictEqual', `Expected "actual" to be strictly unequal to: ${inspect(expected)}`);
}
export function deepEqual_(actual, expected, message) {
  if (!isDeepEqual(actual, expected)) fail(actual, expected, message, 'deepEqual', `Expected values to be loosely deep-equal:\n\n${inspect(actual)}\n\nshould loosely deep-equal\n\n${inspect(expected)}`);
}
export function notDeepEqual(actual, expected, message) {
  if (isDeepEqual(actual, expected)) fail(actual, expected, message, 'notDeepEqual', `Expected "actual" not to be loosely deep-equal to: ${inspect(expected)}`);
}
export function deepStrictEqual(actual, expected, message) {
  if (!isDeepStrictEqual(actual, expected)) fail(actual, expected, message, 'deepStrictEqual', `Expected values to be strictly deep-equal:\n${inspect(actual)}\n\nshould equal\n\n${inspect(expected)}`);
}
export function notDeepStrictEqual(actual, expected, message) {
  if (isDeepStrictEqual(actual, expected)) fail(actual, expected, message, 'notDeepStrictEqual', `Expected "actual" not to be strictly deep-equal to: ${inspect(expected)}`);
}

/** Whether thrown `err` matches `expected` (a class, a RegExp, a validation function or an object of properties). */
function matches(err, expected) {
  if (expected === undefined) return true;
  if (typeof expected === 'function') {
    if (expected.prototype !== undefined && err instanceof expected) return true;
    if (Error.isPrototypeOf(expected) || expected === Error) return false;
    return expected.call({}, err) === true;
  }
  if (expected instanceof RegExp) return expected.test(String(err));
  if (isObject(expected)) {
    return Object.keys(expected).every((k) => (expected[k] instanceof RegExp && typeof err?.[k] === 'string' ? expected[k].test(err[k]) : isDeepStrictEqual(err?.[k], expected[k])));
  }
  return false;
}

function splitArgs(expected, message) {
  return typeof expected === 'string' ? [undefined, expected] : [expected, message];
}

export function throws(fn, expectedArg, messageArg) {
  const [expected, message] = splitArgs(expectedArg, messageArg);
  try {
    fn();
  } catch (err) {
    if (!matches(err, expected)) {
      if (typeof expected === 'function' && expected.prototype !== undefined && !(err instanceof expected) && (Error.isPrototypeOf(expected) || expected === Error)) throw err;
      fail(err, expected, message, 'throws', `The error thrown does not match ${inspect(expected)}: ${inspect(err)}`);
    }
    return;
  }
  fail(undefined, expected, message, 'throws', 'Missing expected exception.');
}

export function doesNotThrow(fn, expectedArg, messageArg) {
  const [, message] = splitArgs(expectedArg, messageArg);
  try {
    fn();
  } catch (err) {
    fail(err, undefined, message, 'doesNotThrow', `Got unwanted exception.\nActual message: "${err?.message ?? String(err)}"`);
  }
}

export async function rejects(promiseOrFn, expectedArg, messageArg) {
  const [expected, message] = splitArgs(expectedArg, messageArg);
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
  } catch (err) {
    if (!matches(err, expected)) fail(err, expected, message, 'rejects', `The rejection does not match ${inspect(expected)}: ${inspect(err)}`);
    return;
  }
  fail(undefined, expected, message, 'rejects', 'Missing expected rejection.');
}

export async function doesNotReject(promiseOrFn, expectedArg, messageArg) {
  const [, message] = splitArgs(expectedArg, messageArg);
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
  } catch (err) {
    fail(err, undefined, message, 'doesNotReject', `Got unwanted rejection.\nActual message: "${err?.message ?? String(err)}"`);
  }
}

export function match(string, regexp, message) {
  if (!regexp.test(string)) fail(string, regexp, message, 'match', `The input did not match the regular expression ${regexp}. Input:\n\n${inspect(string)}\n`);
}
export function doesNotMatch(string, regexp, message) {
  if (regexp.test(string)) fail(string, regexp, message, 'doesNotMatch', `The input was expected to not match the regular expression ${regexp}. Input:\n\n${inspect(string)}\n`);
}

export function ifError(value) {
  if (value !== null && value !== undefined) {
    if (value instanceof Error) throw value;
    fail(value, null, undefined, 'ifError', `ifError got unwanted exception: ${inspect(value)}`);
  }
}

function failCall(message = 'Failed') {
  if (message instanceof Error) throw message;
  throw new AssertionError({ message, operator: 'fail' });
}

const common = {
  AssertionError,
  ok,
  fail: failCall,
  throws,
  doesNotThrow,
  rejects,
  doesNotReject,
  match,
  doesNotMatch,
  ifError,
  notDeepStrictEqual,
  deepStrictEqual,
  strictEqual,
  notStrictEqual,
};

/** assert.strict: the equal family is the strict one. */
export const strict = Object.assign((value, message) => ok(value, message), common, {
  equal: strictEqual,
  notEqual: notStrictEqual,
  deepEqual: deepStrictEqual,
  notDeepEqual: notDeepStrictEqual,
});
strict.strict = strict;

const assert = Object.assign((value, message) => ok(value, message), common, {
  equal,
  notEqual,
  deepEqual: deepEqual_,
  notDeepEqual,
  strict,
});

export { failCall as fail, deepEqual_ as deepEqual };
export default assert;
