// crypto.getRandomValues / crypto.randomUUID, backed by the host's CSPRNG; crypto.subtle lives in subtle.js.
import { hostRandomBytes } from './internal/bridge.js';
import { getSubtle, getDigestStream } from './subtle.js';
import { DOMException } from './dom-exception.js';

const MAX_BYTES = 65536;
const INTEGER_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array];
const HEX = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

// randomUUID draws from a small pool so that a burst of UUIDs costs one host call, not one each.
const POOL_SIZE = 512;
let pool = null;
let poolPos = POOL_SIZE;

function isIntegerTypedArray(v) {
  for (let i = 0; i < INTEGER_ARRAYS.length; i++) if (v instanceof INTEGER_ARRAYS[i]) return true;
  return false;
}

class Crypto {
  get subtle() {
    return getSubtle();
  }

  /** Workers' DigestStream class (made on first use: it extends the lazily loaded WritableStream). */
  get DigestStream() {
    return getDigestStream();
  }

  /**
   * @template {ArrayBufferView} T
   * @param {T} array
   * @returns {T}
   */
  getRandomValues(array) {
    if (!ArrayBuffer.isView(array)) {
      throw new TypeError("Failed to execute 'getRandomValues' on 'Crypto': parameter 1 is not of type 'ArrayBufferView'.");
    }
    if (!isIntegerTypedArray(array)) {
      throw new DOMException(
        "Failed to execute 'getRandomValues' on 'Crypto': The provided ArrayBufferView is of type '" +
          Object.prototype.toString.call(array).slice(8, -1) + "', which is not an integer array type.",
        'TypeMismatchError',
      );
    }
    const n = array.byteLength;
    if (n > MAX_BYTES) {
      throw new DOMException(
        `Failed to execute 'getRandomValues' on 'Crypto': The ArrayBufferView's byte length (${n}) exceeds the number of bytes of entropy available via this API (${MAX_BYTES}).`,
        'QuotaExceededError',
      );
    }
    if (n > 0) new Uint8Array(array.buffer, array.byteOffset, n).set(hostRandomBytes(n));
    return array;
  }

  randomUUID() {
    if (poolPos + 16 > POOL_SIZE) {
      pool = hostRandomBytes(POOL_SIZE);
      poolPos = 0;
    }
    const b = pool;
    const o = poolPos;
    poolPos += 16;
    const b6 = (b[o + 6] & 0x0f) | 0x40;
    const b8 = (b[o + 8] & 0x3f) | 0x80;
    return (
      HEX[b[o]] + HEX[b[o + 1]] + HEX[b[o + 2]] + HEX[b[o + 3]] + '-' +
      HEX[b[o + 4]] + HEX[b[o + 5]] + '-' + HEX[b6] + HEX[b[o + 7]] + '-' +
      HEX[b8] + HEX[b[o + 9]] + '-' +
      HEX[b[o + 10]] + HEX[b[o + 11]] + HEX[b[o + 12]] + HEX[b[o + 13]] + HEX[b[o + 14]] + HEX[b[o + 15]]
    );
  }
}
Object.defineProperty(Crypto.prototype, Symbol.toStringTag, { value: 'Crypto', configurable: true });

export { Crypto };
export const crypto = new Crypto();
