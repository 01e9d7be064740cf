// node:util under nodejs_compat: unenv's (format, promisify, inherits, types, ...), with inspect as console.log
// formats values here (Node's layout, `{ a: [ 1, 2 ] }`, where unenv prints JSON) and callbackify, which unenv lacks.
import { inspect as runtimeInspect } from 'edge:node-compat';
import unenvUtil from 'unenv/node/util';

export * from 'unenv/node/util';

/** Node's util.inspect; options (depth, colors, ...) are not applied: the layout is console.log's. */
export function inspect(value, _options) {
  return runtimeInspect(value);
}
inspect.custom = Symbol.for('nodejs.util.inspect.custom');
inspect.defaultOptions = {};

export function callbackify(fn) {
  if (typeof fn !== 'function') throw new TypeError('The "original" argument must be of type function');
  return function callbackified(...args) {
    const callback = args.pop();
    if (typeof callback !== 'function') throw new TypeError('The last argument must be of type function');
    Promise.resolve()
      .then(() => fn.apply(this, args))
      .then(
        (value) => queueMicrotask(() => callback(null, value)),
        (reason) => {
          const err = reason || Object.assign(new Error('Promise was rejected with a falsy value'), { reason });
          queueMicrotask(() => callback(err));
        },
      );
  };
}

export default { ...unenvUtil, inspect, callbackify };
