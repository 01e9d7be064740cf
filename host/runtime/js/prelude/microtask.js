// queueMicrotask: runs the callback from a resolved promise's reaction. An exception thrown by the callback is
// reported to the log as an uncaught error instead of becoming a silently rejected promise.
import { reportError } from './console.js';

const resolved = Promise.resolve();
const then = Promise.prototype.then;

export function queueMicrotask(callback) {
  if (typeof callback !== 'function') throw new TypeError("Failed to execute 'queueMicrotask': parameter 1 is not of type 'Function'.");
  then.call(resolved, () => {
    try {
      callback();
    } catch (e) {
      reportError(e);
    }
  });
}
