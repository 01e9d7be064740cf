// AWS Signature Version 4, verified as S3 does: from the Authorization header or from a presigned URL's X-Amz-*
// query parameters. The canonical request is rebuilt from what arrived on the wire (method, path, query, the
// signed headers, the declared payload hash) and the signature compared in constant time. The payload itself is
// checked later, while the body streams (see s3-body.ts). Written by hand: the published verifiers are either
// signers only (@smithy/signature-v4) or tied to a web framework.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { S3Error } from './s3-errors.ts';
import type { S3AccessKey } from '../../core/host-config.ts';

export type { S3AccessKey } from '../../core/host-config.ts';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** S3 refuses a request whose time is further than this from its own clock. */
export const MAX_SKEW_MS = 15 * 60 * 1000;
/** Longest validity of a presigned URL (7 days), as S3. */
export const MAX_PRESIGN_EXPIRES_S = 7 * 24 * 3600;

export interface SignedRequest {
  method: string;
  /** The request target as received: encoded path and query. */
  url: string;
  /** Node's `rawHeaders`: name, value, name, value... */
  rawHeaders: string[];
}

/** What a verified request's signature established, needed to check aws-chunked chunk signatures. */
export interface VerifiedSignature {
  accessKeyId: string;
  /** The declared payload: UNSIGNED-PAYLOAD, a hex SHA-256, or a STREAMING-* mode. */
  payloadHash: string;
  amzDate: string;
  /** `<date>/<region>/s3/aws4_request` */
  scope: string;
  signingKey: Buffer;
  /** The request's signature: the seed of the chunk signature chain. */
  signature: string;
  presigned: boolean;
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();
export const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** RFC 3986 percent-encoding of the UTF-8 bytes, as SigV4 wants it (unreserved characters kept; '/' kept in paths). */
export function uriEncode(s: string, encodeSlash: boolean): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if ((byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || c === '-' || c === '.' || c === '_' || c === '~' || (c === '/' && !encodeSlash)) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function percentDecode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidArgument', `${what} is not valid percent-encoded UTF-8: ${JSON.stringify(s)}`);
  }
}

/** The query parameters in the order received, decoded (a parameter without `=` has the value ""). */
export function parseQuery(query: string): Array<[string, string]> {
  if (query === '') return [];
  return query
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const name = eq < 0 ? p : p.slice(0, eq);
      const value = eq < 0 ? '' : p.slice(eq + 1);
      return [percentDecode(name, 'a query parameter name'), percentDecode(value, `query parameter ${name}`)];
    });
}

export function canonicalQuery(params: Array<[string, string]>): string {
  return params
    .map(([k, v]) => [uriEncode(k, true), uriEncode(v, true)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** Header values by lowercased name: trimmed, inner runs of spaces collapsed, repeated headers joined with ','. */
export function headerValues(rawHeaders: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!.trim().replace(/\s+/g, ' ');
    const had = out.get(name);
    out.set(name, had === undefined ? value : `${had},${value}`);
  }
  return out;
}

export function canonicalRequest(method: string, canonicalUri: string, query: string, headers: Map<string, string>, signedHeaders: string[], payloadHash: string): string {
  const lines = signedHeaders.map((h) => `${h}:${headers.get(h) ?? ''}\n`).join('');
  return `${method}\n${canonicalUri}\n${query}\n${lines}\n${signedHeaders.join(';')}\n${payloadHash}`;
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
}

const keyCache = new Map<string, Buffer>();

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${date}\0${region}\0${service}\0${secret}`;
  let key = keyCache.get(id);
  if (!key) {
    key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
    if (keyCache.size > 256) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

export function sign(key: Buffer, toSign: string): string {
  return createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex signatures. */
export function signaturesEqual(expected: string, given: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(given)) return false;
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(given, 'hex'));
}

/** The string a chunk of an aws-chunked body is signed with (STREAMING-AWS4-HMAC-SHA256-PAYLOAD). */
export function chunkStringToSign(amzDate: string, scope: string, previousSignature: string, chunkSha256: string): string {
  return `AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n${previousSignature}\n${EMPTY_SHA256}\n${chunkSha256}`;
}

/** The string the trailing headers of an aws-chunked body are signed with (…-PAYLOAD-TRAILER). */
export function trailerStringToSign(amzDate: string, scope: string, previousSignature: string, trailerSha256: string): string {
  return `AWS4-HMAC-SHA256-TRAILER\n${amzDate}\n${scope}\n${previousSignature}\n${trailerSha256}`;
}

function parseAmzDate(s: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return null;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(t) ? null : t;
}

interface Parsed {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  payloadHash: string;
  presigned: boolean;
}

function parseCredential(credential: string, malformed: (msg: string) => S3Error): Omit<Parsed, 'signedHeaders' | 'signature' | 'amzDate' | 'payloadHash' | 'presigned'> {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts.some((p) => p === '')) throw malformed(`the Credential must be <access key id>/<yyyymmdd>/<region>/s3/aws4_request, got ${JSON.stringify(credential)}`);
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  if (!/^\d{8}$/.test(date)) throw malformed(`the Credential's date must be yyyymmdd, got ${JSON.stringify(date)}`);
  if (service !== 's3') throw malformed(`the Credential's service must be "s3", got ${JSON.stringify(service)}`);
  if (terminator !== 'aws4_request') throw malformed(`the Credential must end with "aws4_request", got ${JSON.stringify(terminator)}`);
  return { accessKeyId, date, region, service };
}

function parseSignedHeaders(s: string, malformed: (msg: string) => S3Error): string[] {
  const list = s.split(';');
  if (list.some((h) => h === '' || h !== h.toLowerCase())) throw malformed(`SignedHeaders must be lowercase header names separated by ';', got ${JSON.stringify(s)}`);
  if (!list.includes('host')) throw malformed('SignedHeaders must include host');
  return list;
}

function fromHeader(auth: string, headers: Map<string, string>): Parsed {
  const malformed = (msg: string): S3Error => new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; ${msg}`);
  if (!auth.startsWith(`${ALGORITHM} `)) {
    throw new S3Error('InvalidRequest', `The authorization mechanism you have provided is not supported. Please use ${ALGORITHM}.`);
  }
  const fields = new Map<string, string>();
  for (const part of auth.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw malformed(`expected Credential=..., SignedHeaders=..., Signature=..., got ${JSON.stringify(part.trim())}`);
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signed = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signed || !signature) throw malformed('Credential, SignedHeaders and Signature are all required');
  const amzDate = headers.get('x-amz-date');
  if (amzDate === undefined) throw new S3Error('AccessDenied', 'AWS authentication requires a valid x-amz-date header');
  const payloadHash = headers.get('x-amz-content-sha256');
  if (payloadHash === undefined) throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  return { ...parseCredential(credential, malformed), signedHeaders: parseSignedHeaders(signed, malformed), signature, amzDate, payloadHash, presigned: false };
}

function fromQuery(params: Map<string, string>): Parsed & { expires: number } {
  const malformed = (msg: string): S3Error => new S3Error('AuthorizationQueryParametersError', `Error parsing the X-Amz-Credential parameter; ${msg}`);
  const need = (name: string): string => {
    const v = params.get(name);
    if (v === undefined || v === '') throw new S3Error('AuthorizationQueryParametersError', `Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters; ${name} is missing.`);
    return v;
  };
  if (need('X-Amz-Algorithm') !== ALGORITHM) throw new S3Error('AuthorizationQueryParametersError', `X-Amz-Algorithm only supports "${ALGORITHM}"`);
  const expiresText = need('X-Amz-Expires');
  const expires = Number(expiresText);
  if (!/^\d+$/.test(expiresText) || expires < 1 || expires > MAX_PRESIGN_EXPIRES_S) {
    throw new S3Error('AuthorizationQueryParametersError', `X-Amz-Expires must be a whole number of seconds from 1 to ${MAX_PRESIGN_EXPIRES_S} (7 days), got ${JSON.stringify(expiresText)}`);
  }
  return {
    ...parseCredential(need('X-Amz-Credential'), malformed),
    signedHeaders: parseSignedHeaders(need('X-Amz-SignedHeaders'), malformed),
    signature: need('X-Amz-Signature'),
    amzDate: need('X-Amz-Date'),
    payloadHash: params.get('X-Amz-Content-Sha256') ?? UNSIGNED_PAYLOAD,
    presigned: true,
    expires,
  };
}

/**
 * Verifies a request's SigV4 signature; throws the S3Error S3 would answer with. `secretFor` gives the secret of an
 * access key id, or undefined when the key is unknown.
 */
export function verifySignature(req: SignedRequest, secretFor: (accessKeyId: string) => string | undefined, now: number = Date.now()): VerifiedSignature {
  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const params = parseQuery(q < 0 ? '' : req.url.slice(q + 1));
  const headers = headerValues(req.rawHeaders);
  const auth = headers.get('authorization');
  const queryParams = new Map(params);
  const presigned = queryParams.has('X-Amz-Signature') || queryParams.has('X-Amz-Credential');
  if (auth !== undefined && presigned) throw new S3Error('InvalidArgument', 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified');
  if (auth === undefined && !presigned) throw new S3Error('AccessDenied', 'Access Denied: the request is not signed (use AWS Signature Version 4 with an access key of this host)');
  const p = auth !== undefined ? fromHeader(auth, headers) : fromQuery(queryParams);

  const time = parseAmzDate(p.amzDate);
  if (time === null) throw new S3Error('AccessDenied', `X-Amz-Date must be yyyymmddThhmmssZ, got ${JSON.stringify(p.amzDate)}`);
  if (p.amzDate.slice(0, 8) !== p.date) {
    throw new S3Error(p.presigned ? 'AuthorizationQueryParametersError' : 'AuthorizationHeaderMalformed', `Invalid credential date "${p.date}": it is not the date of X-Amz-Date (${p.amzDate})`);
  }
  if ('expires' in p) {
    if (time - now > MAX_SKEW_MS) throw new S3Error('AccessDenied', 'Request is not valid yet');
    if (now > time + (p.expires as number) * 1000) {
      throw new S3Error('AccessDenied', 'Request has expired', { extra: { 'X-Amz-Expires': String(p.expires), Expires: new Date(time + (p.expires as number) * 1000).toISOString(), ServerTime: new Date(now).toISOString() } });
    }
  } else if (Math.abs(time - now) > MAX_SKEW_MS) {
    throw new S3Error('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
      extra: { RequestTime: p.amzDate, ServerTime: new Date(now).toISOString(), MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS) },
    });
  }
  if (!p.presigned) {
    // As S3: every x-amz-* header sent must be covered by the signature, else it could be changed in transit.
    const unsigned = [...headers.keys()].filter((h) => h.startsWith('x-amz-') && !p.signedHeaders.includes(h));
    if (unsigned.length > 0) throw new S3Error('AccessDenied', `There were headers present in the request which were not signed: ${unsigned.join(', ')}`);
  }

  const secret = secretFor(p.accessKeyId);
  if (secret === undefined) {
    throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { extra: { AWSAccessKeyId: p.accessKeyId } });
  }
  const key = signingKey(secret, p.date, p.region, p.service);
  const scope = `${p.date}/${p.region}/${p.service}/aws4_request`;
  const query = canonicalQuery(params.filter(([k]) => !(p.presigned && k === 'X-Amz-Signature')));
  // S3 signs the path URI-encoded once. Clients encode keys alike except for a few characters ('!', '*', ...), so the
  // path is taken both re-encoded strictly and exactly as sent: either fixes the same decoded key.
  const decodedPath = percentDecode(rawPath, 'the request path');
  const uris = [...new Set([uriEncode(decodedPath, false), rawPath])];
  let first: { canonical: string; toSign: string } | null = null;
  for (const uri of uris) {
    const canonical = canonicalRequest(req.method, uri, query, headers, p.signedHeaders, p.payloadHash);
    const toSign = stringToSign(p.amzDate, scope, canonical);
    first ??= { canonical, toSign };
    if (signaturesEqual(sign(key, toSign), p.signature)) {
      return { accessKeyId: p.accessKeyId, payloadHash: p.payloadHash, amzDate: p.amzDate, scope, signingKey: key, signature: p.signature, presigned: p.presigned };
    }
  }
  throw new S3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
    extra: { AWSAccessKeyId: p.accessKeyId, StringToSign: first!.toSign, SignatureProvided: p.signature, CanonicalRequest: first!.canonical },
  });
}
