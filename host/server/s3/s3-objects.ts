// What S3 puts in headers about an object, both ways: the HTTP and custom metadata a PutObject or
// CreateMultipartUpload carries, the headers GetObject/HeadObject answer with, S3's precondition rules
// (If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since) and its single-range Range header.
import type { IncomingHttpHeaders } from 'node:http';
import type { HttpMetadata, ObjectMeta } from '../../../storage/blob/blob-types.ts';
import { S3Error } from './s3-errors.ts';

const one = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
};

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** RFC 2047 (`=?UTF-8?B?...?=`) for a value that is not printable ASCII, as S3 does for metadata it returns. */
export function headerSafe(value: string): string {
  return /^[\t\x20-\x7e]*$/.test(value) ? value : `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

function decode2047(value: string): string {
  const m = /^=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=$/i.exec(value.trim());
  return m ? Buffer.from(m[1]!, 'base64').toString('utf8') : value;
}

/** httpMetadata and customMetadata from a PutObject / CreateMultipartUpload request's headers. */
export function metadataFromHeaders(h: IncomingHttpHeaders): { httpMetadata: HttpMetadata; customMetadata: Record<string, string> } {
  const httpMetadata: HttpMetadata = {};
  const set = (field: keyof Omit<HttpMetadata, 'cacheExpiry'>, header: string): void => {
    const v = one(h, header);
    if (v !== undefined && v !== '') httpMetadata[field] = v;
  };
  set('contentType', 'content-type');
  set('cacheControl', 'cache-control');
  set('contentDisposition', 'content-disposition');
  set('contentLanguage', 'content-language');
  // aws-chunked is the framing of this request's body, not a coding of the object.
  const encoding = one(h, 'content-encoding')
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s.toLowerCase() !== 'aws-chunked')
    .join(', ');
  if (encoding) httpMetadata.contentEncoding = encoding;
  const expires = one(h, 'expires');
  if (expires !== undefined && expires !== '') {
    const t = Date.parse(expires);
    if (Number.isNaN(t)) throw new S3Error('InvalidArgument', `Expires must be an HTTP date, e.g. "Wed, 21 Oct 2026 07:28:00 GMT"; got ${JSON.stringify(expires)}`);
    httpMetadata.cacheExpiry = t;
  }
  const customMetadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(h)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    Object.defineProperty(customMetadata, name.slice('x-amz-meta-'.length), { value: decode2047(Array.isArray(value) ? value.join(',') : value), enumerable: true, writable: true, configurable: true });
  }
  return { httpMetadata, customMetadata };
}

/** The response headers describing an object (GetObject, HeadObject), with GetObject's response-* overrides. */
export function objectHeaders(meta: ObjectMeta, overrides: Map<string, string>): Record<string, string> {
  const m = meta.httpMetadata;
  const out: Record<string, string> = {
    etag: `"${meta.etag}"`,
    'last-modified': new Date(meta.uploaded).toUTCString(),
    'accept-ranges': 'bytes',
    'content-type': m.contentType ?? 'application/octet-stream',
  };
  if (m.cacheControl !== undefined) out['cache-control'] = m.cacheControl;
  if (m.contentDisposition !== undefined) out['content-disposition'] = m.contentDisposition;
  if (m.contentEncoding !== undefined) out['content-encoding'] = m.contentEncoding;
  if (m.contentLanguage !== undefined) out['content-language'] = m.contentLanguage;
  if (m.cacheExpiry !== undefined) out.expires = new Date(m.cacheExpiry).toUTCString();
  // Keys set through the R2 binding may not be valid header names; S3 cannot carry those, so they are left out.
  for (const [k, v] of Object.entries(meta.customMetadata)) if (HEADER_NAME.test(k)) out[`x-amz-meta-${k.toLowerCase()}`] = v;
  const etagParts = /-(\d+)$/.exec(meta.etag);
  if (etagParts) out['x-amz-mp-parts-count'] = etagParts[1]!;
  for (const [param, header] of [
    ['response-content-type', 'content-type'],
    ['response-content-language', 'content-language'],
    ['response-expires', 'expires'],
    ['response-cache-control', 'cache-control'],
    ['response-content-disposition', 'content-disposition'],
    ['response-content-encoding', 'content-encoding'],
  ] as const) {
    const v = overrides.get(param);
    if (v !== undefined) out[header] = v;
  }
  for (const k of Object.keys(out)) out[k] = headerSafe(out[k]!);
  return out;
}

/**
 * S3's preconditions on a read (RFC 9110 order): a failed If-Match, else a failed If-Unmodified-Since, is 412; a
 * matching If-None-Match, else a passing If-Modified-Since check, is 304. Dates compare to the second.
 */
export function readPrecondition(meta: ObjectMeta, h: IncomingHttpHeaders): 'ok' | 'not-modified' {
  const etagIn = (list: string): boolean =>
    list.split(',').some((e) => {
      const t = e.trim();
      return t === '*' || t.replace(/^W\//, '').replace(/^"|"$/g, '') === meta.etag;
    });
  const seconds = Math.floor(meta.uploaded / 1000);
  const date = (name: string): number | null => {
    const v = one(h, name);
    if (v === undefined) return null;
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : Math.floor(t / 1000);
  };
  const ifMatch = one(h, 'if-match');
  if (ifMatch !== undefined) {
    if (!etagIn(ifMatch)) throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { extra: { Condition: 'If-Match' } });
  } else {
    const since = date('if-unmodified-since');
    if (since !== null && seconds > since) throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { extra: { Condition: 'If-Unmodified-Since' } });
  }
  const ifNoneMatch = one(h, 'if-none-match');
  if (ifNoneMatch !== undefined) return etagIn(ifNoneMatch) ? 'not-modified' : 'ok';
  const modifiedSince = date('if-modified-since');
  if (modifiedSince !== null && seconds <= modifiedSince) return 'not-modified';
  return 'ok';
}

/**
 * The one byte range of a `Range: bytes=...` header, or null for the whole object (no header, or one S3 ignores: not
 * `bytes=`, malformed, several ranges). An unsatisfiable range is InvalidRange (416).
 */
export function parseRange(header: string | undefined, size: number): { offset: number; length: number } | null {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  const unsatisfiable = (): S3Error =>
    new S3Error('InvalidRange', 'The requested range is not satisfiable', { extra: { RangeRequested: header, ActualObjectSize: String(size) }, headers: { 'content-range': `bytes */${size}` } });
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) throw unsatisfiable();
    const length = Math.min(n, size);
    return { offset: size - length, length };
  }
  const first = Number(m[1]);
  const last = m[2] === '' ? Number.MAX_SAFE_INTEGER : Number(m[2]);
  if (last < first) return null;
  if (first >= size) throw unsatisfiable();
  return { offset: first, length: Math.min(last, size - 1) - first + 1 };
}

/** S3's bucket naming rules (general purpose buckets). */
export function validateBucketName(name: string): void {
  const bad = (why: string): S3Error => new S3Error('InvalidBucketName', `The specified bucket is not valid: ${JSON.stringify(name)} ${why}`);
  if (name.length < 3 || name.length > 63) throw bad('must be 3 to 63 characters long');
  if (!/^[a-z0-9.-]+$/.test(name)) throw bad('may contain only lowercase letters, digits, dots and hyphens');
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) throw bad('must begin and end with a letter or digit');
  if (name.includes('..')) throw bad('must not contain two adjacent dots');
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) throw bad('must not be formatted as an IP address');
  if (name.startsWith('xn--') || name.startsWith('sthree-') || name.endsWith('-s3alias') || name.endsWith('--ol-s3')) throw bad('uses a prefix or suffix S3 reserves (xn--, sthree-, -s3alias, --ol-s3)');
}
