// atob / btoa per the HTML spec ("forgiving-base64"), on binary strings (one char per byte).
import { DOMException } from './dom-exception.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) DECODE[ALPHABET.charCodeAt(i)] = i;
const ASCII_WHITESPACE = /[\t\n\f\r ]+/g;

function invalid(message) {
  return new DOMException(message, 'InvalidCharacterError');
}

export function btoa(data) {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'btoa': 1 argument required, but only 0 present.");
  const s = String(data);
  const len = s.length;
  let out = '';
  let i = 0;
  for (; i + 2 < len; i += 3) {
    const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
    if ((a | b | c) > 0xff) throw invalid('Invalid character: btoa() only accepts characters in the Latin1 range (U+0000 to U+00FF)');
    out += ALPHABET[a >> 2] + ALPHABET[((a & 3) << 4) | (b >> 4)] + ALPHABET[((b & 15) << 2) | (c >> 6)] + ALPHABET[c & 63];
  }
  if (i < len) {
    const a = s.charCodeAt(i), b = i + 1 < len ? s.charCodeAt(i + 1) : 0;
    if ((a | b) > 0xff) throw invalid('Invalid character: btoa() only accepts characters in the Latin1 range (U+0000 to U+00FF)');
    out += ALPHABET[a >> 2] + ALPHABET[((a & 3) << 4) | (b >> 4)];
    out += i + 1 < len ? ALPHABET[(b & 15) << 2] + '=' : '==';
  }
  return out;
}

export function atob(data) {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'atob': 1 argument required, but only 0 present.");
  let s = String(data).replace(ASCII_WHITESPACE, '');
  if (s.length % 4 === 0) {
    if (s.endsWith('==')) s = s.slice(0, -2);
    else if (s.endsWith('=')) s = s.slice(0, -1);
  }
  const len = s.length;
  if (len % 4 === 1) throw invalid('The string to be decoded is not correctly encoded.');
  let out = '';
  let buf = 0;
  let bits = 0;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? DECODE[c] : -1;
    if (v < 0) throw invalid('The string to be decoded is not correctly encoded.');
    buf = (buf << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((buf >> bits) & 0xff);
    }
  }
  return out;
}
