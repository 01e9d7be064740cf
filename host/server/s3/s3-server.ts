// The S3-compatible endpoint: every R2 bucket of the host's object store over S3's REST API, path-style
// (`/<bucket>/<key>`), each request signed with AWS Signature Version 4. Buckets exist implicitly, as in Miniflare.
// Plain node:http rather than Fastify: S3 routes by query subresource (?uploads, ?delete, ?uploadId...) rather than
// by path, its bodies must reach the verifier byte for byte (aws-chunked, signed payloads), and its answers are
// fixed XML shapes; a framework's body parsing and schemas would only be in the way.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { BlobStore, ObjectMeta } from '../../../storage/blob/blob-types.ts';
import { S3Error, toS3Error } from './s3-errors.ts';
import { checkedBody, readSmallBody } from './s3-body.ts';
import { metadataFromHeaders, objectHeaders, parseRange, readPrecondition, validateBucketName } from './s3-objects.ts';
import { parseQuery, percentDecode, verifySignature, type S3AccessKey, type VerifiedSignature } from './sigv4.ts';
import { el, errorXml, parseRequestXml, text, xmlDocument } from './s3-xml.ts';

/** S3's limit on one PutObject or UploadPart body. */
export const MAX_PUT_BYTES = 5 * 1024 ** 3;
/** Request documents (DeleteObjects: 1,000 keys; CompleteMultipartUpload: 10,000 parts) fit well within this. */
const MAX_XML_BYTES = 4 * 1024 * 1024;
/** An error answered before the request body was read drains a body this small, else closes the connection. */
const DRAIN_LIMIT = 1024 * 1024;

/** Subresources of S3's API this endpoint does not implement, with the operations they select. */
const UNSUPPORTED_SUBRESOURCES: Record<string, string> = {
  acl: 'Get/PutObjectAcl, Get/PutBucketAcl',
  tagging: 'Get/Put/DeleteObjectTagging, Get/Put/DeleteBucketTagging',
  versioning: 'Get/PutBucketVersioning',
  versions: 'ListObjectVersions',
  cors: 'Get/Put/DeleteBucketCors',
  lifecycle: 'Get/Put/DeleteBucketLifecycle',
  policy: 'Get/Put/DeleteBucketPolicy',
  policyStatus: 'GetBucketPolicyStatus',
  website: 'Get/Put/DeleteBucketWebsite',
  logging: 'Get/PutBucketLogging',
  notification: 'Get/PutBucketNotification',
  replication: 'Get/Put/DeleteBucketReplication',
  encryption: 'Get/Put/DeleteBucketEncryption',
  'object-lock': 'Get/PutObjectLockConfiguration',
  'legal-hold': 'Get/PutObjectLegalHold',
  retention: 'Get/PutObjectRetention',
  torrent: 'GetObjectTorrent',
  restore: 'RestoreObject',
  select: 'SelectObjectContent',
  attributes: 'GetObjectAttributes',
  accelerate: 'Get/PutBucketAccelerateConfiguration',
  analytics: 'bucket analytics configurations',
  inventory: 'bucket inventory configurations',
  metrics: 'bucket metrics configurations',
  ownershipControls: 'bucket ownership controls',
  publicAccessBlock: 'public access blocks',
  requestPayment: 'Get/PutBucketRequestPayment',
  'intelligent-tiering': 'intelligent-tiering configurations',
  renameObject: 'RenameObject',
};

export interface S3ServerOptions {
  store: BlobStore;
  /** The access keys requests may be signed with. */
  keys: S3AccessKey[];
  /** The clock signatures are checked against (ms since the epoch). */
  now?: () => number;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  sig: VerifiedSignature;
  bucket: string;
  key: string;
  query: Map<string, string>;
  requestId: string;
}

export function createS3Server(options: S3ServerOptions): Server {
  const secrets = new Map(options.keys.map((k) => [k.accessKeyId, k.secretAccessKey]));
  const now = options.now ?? Date.now;
  const store = options.store;
  // No overall request timeout: a multi-GiB upload may take long; headersTimeout still bounds an idle client.
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
    handle(req, res, false).catch(() => res.destroy());
  });
  // A client that sends `Expect: 100-continue` (the AWS SDKs do for bodies of 2 MB and more) is told to send its body
  // only once the signature holds: a refused upload costs no transfer.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res, true).catch(() => res.destroy());
  });

  async function handle(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<void> {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    let resource = rawPath;
    try {
      resource = percentDecode(rawPath, 'the request path');
      const sig = verifySignature({ method: req.method ?? 'GET', url, rawHeaders: req.rawHeaders }, (id) => secrets.get(id), now());
      if (expectsContinue) {
        res.writeContinue();
        expectsContinue = false;
      }
      if (!rawPath.startsWith('/')) throw new S3Error('InvalidRequest', 'the request target must be a path');
      const slash = resource.indexOf('/', 1);
      const bucket = slash < 0 ? resource.slice(1) : resource.slice(1, slash);
      const key = slash < 0 ? '' : resource.slice(slash + 1);
      const query = new Map(parseQuery(q < 0 ? '' : url.slice(q + 1)));
      if (bucket === '') {
        if (req.method === 'GET') throw new S3Error('NotImplemented', 'ListBuckets is not implemented: buckets exist implicitly here (any valid name); address one as /<bucket>/');
        throw new S3Error('MethodNotAllowed', `The specified method is not allowed against this resource: ${req.method} /`);
      }
      validateBucketName(bucket);
      for (const name of query.keys()) {
        const ops = Object.hasOwn(UNSUPPORTED_SUBRESOURCES, name) ? UNSUPPORTED_SUBRESOURCES[name] : undefined;
        if (ops) throw new S3Error('NotImplemented', `The ?${name} subresource (${ops}) is not implemented by this endpoint`);
      }
      const ctx: Ctx = { req, res, sig, bucket, key, query, requestId };
      await (key === '' ? bucketOperation(ctx) : objectOperation(ctx));
    } catch (err) {
      const e = toS3Error(err);
      if (e.s3Code === 'InternalError') process.emitWarning(`S3 endpoint: ${req.method} ${url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      await sendError(req, res, e, resource, requestId, expectsContinue);
    }
  }

  async function bucketOperation(c: Ctx): Promise<void> {
    const { req, res, bucket, query } = c;
    switch (req.method) {
      case 'HEAD':
        // HeadBucket: every valid bucket name exists.
        res.writeHead(200).end();
        return;
      case 'PUT':
        // CreateBucket: buckets exist implicitly, so creating one always succeeds.
        await drain(req);
        res.writeHead(200, { location: `/${bucket}` }).end();
        return;
      case 'DELETE': {
        // DeleteBucket: refused while the bucket holds objects, as S3 does; an empty bucket simply stops being listed.
        const listed = await store.list(bucket, { limit: 1 });
        if (listed.objects.length > 0 || listed.delimitedPrefixes.length > 0) throw new S3Error('BucketNotEmpty', `The bucket you tried to delete is not empty: ${bucket}`);
        res.writeHead(204).end();
        return;
      }
      case 'GET':
        if (query.has('uploads')) throw new S3Error('NotImplemented', 'ListMultipartUploads (GET /<bucket>?uploads) is not implemented by this endpoint');
        if (query.has('location')) return sendXml(res, 200, xmlDocument('LocationConstraint', ''));
        if (query.has('list-type')) {
          if (query.get('list-type') !== '2') throw new S3Error('InvalidArgument', `list-type must be 2 (ListObjectsV2), got ${JSON.stringify(query.get('list-type'))}`);
          return listObjects(c, 2);
        }
        return listObjects(c, 1);
      case 'POST':
        if (query.has('delete')) return deleteObjects(c);
        throw new S3Error('NotImplemented', `POST /${bucket} is only implemented as DeleteObjects (?delete)`);
      default:
        throw new S3Error('MethodNotAllowed', `The specified method is not allowed against this resource: ${req.method} /${bucket}`);
    }
  }

  async function objectOperation(c: Ctx): Promise<void> {
    const { req, query } = c;
    const uploadId = query.get('uploadId');
    switch (req.method) {
      case 'GET':
        if (uploadId !== undefined) throw new S3Error('NotImplemented', 'ListParts (GET ?uploadId) is not implemented by this endpoint; keep the ETags UploadPart returned');
        if (query.has('partNumber')) throw new S3Error('NotImplemented', 'GetObject by partNumber is not implemented by this endpoint; use a Range');
        return getObject(c, false);
      case 'HEAD':
        if (query.has('partNumber')) throw new S3Error('NotImplemented', 'HeadObject by partNumber is not implemented by this endpoint');
        return getObject(c, true);
      case 'PUT':
        if (uploadId !== undefined || query.has('partNumber')) return uploadPart(c);
        if (req.headers['x-amz-copy-source'] !== undefined) return copyObject(c);
        return putObject(c);
      case 'DELETE':
        if (uploadId !== undefined) {
          await store.abortMultipartUpload(c.bucket, c.key, uploadId);
          c.res.writeHead(204).end();
          return;
        }
        await store.delete(c.bucket, [c.key]);
        c.res.writeHead(204).end();
        return;
      case 'POST':
        if (query.has('uploads')) return createMultipartUpload(c);
        if (uploadId !== undefined) return completeMultipartUpload(c, uploadId);
        throw new S3Error('NotImplemented', 'POST on an object is only implemented as CreateMultipartUpload (?uploads) and CompleteMultipartUpload (?uploadId)');
      default:
        throw new S3Error('MethodNotAllowed', `The specified method is not allowed against this resource: ${req.method}`);
    }
  }

  async function getObject(c: Ctx, head: boolean): Promise<void> {
    const { req, res, bucket, key } = c;
    // The headers are computed from the object read; onlyIf ties the bytes to that same object should it be replaced
    // between the head and the read (then the read starts over).
    for (let attempt = 0; ; attempt++) {
      const meta = await store.head(bucket, key);
      if (!meta) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { extra: { Key: key } });
      const headers = objectHeaders(meta, c.query);
      if (readPrecondition(meta, req.headers) === 'not-modified') {
        res.writeHead(304, { etag: headers.etag!, 'last-modified': headers['last-modified']! }).end();
        return;
      }
      const range = parseRange(req.headers.range, meta.size);
      const length = range ? range.length : meta.size;
      if (range) headers['content-range'] = `bytes ${range.offset}-${range.offset + range.length - 1}/${meta.size}`;
      headers['content-length'] = String(length);
      const status = range ? 206 : 200;
      if (head) {
        res.writeHead(status, headers).end();
        return;
      }
      const got = await store.get(bucket, key, { ...(range ? { range } : {}), onlyIf: { etagMatches: meta.etag, uploadedBefore: meta.uploaded + 1, uploadedAfter: meta.uploaded - 1 } });
      if (!got || !got.body) {
        got?.body?.destroy();
        if (attempt < 3) continue;
        throw new S3Error('InternalError', 'the object kept changing while it was being read; retry');
      }
      res.writeHead(status, headers);
      await pipeline(got.body, res).catch(() => {
        // The client went away; pipeline destroyed both streams, which releases the object's files.
      });
      return;
    }
  }

  async function putObject(c: Ctx): Promise<void> {
    const { req, res, bucket, key, sig } = c;
    const { httpMetadata, customMetadata } = metadataFromHeaders(req.headers);
    const onlyIf = writePrecondition(req);
    const checked = checkedBody(req, req.headers, sig, { maxBytes: MAX_PUT_BYTES });
    const meta = await store.put(bucket, key, checked.body, { httpMetadata, customMetadata, ...(onlyIf ? { onlyIf } : {}) });
    if (!meta) throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { extra: { Condition: req.headers['if-match'] !== undefined ? 'If-Match' : 'If-None-Match' } });
    res.writeHead(200, { etag: `"${meta.etag}"`, ...checked.checksumHeaders() }).end();
  }

  async function copyObject(c: Ctx): Promise<void> {
    const { req, res, bucket, key } = c;
    await drain(req);
    const raw = String(req.headers['x-amz-copy-source']);
    const source = percentDecode(raw.split('?')[0]!, 'x-amz-copy-source').replace(/^\//, '');
    const slash = source.indexOf('/');
    if (slash <= 0 || slash === source.length - 1) throw new S3Error('InvalidArgument', `x-amz-copy-source must be <bucket>/<key>, got ${JSON.stringify(raw)}`);
    const fromBucket = source.slice(0, slash);
    const fromKey = source.slice(slash + 1);
    validateBucketName(fromBucket);
    const directive = String(req.headers['x-amz-metadata-directive'] ?? 'COPY').toUpperCase();
    if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error('InvalidArgument', `x-amz-metadata-directive must be COPY or REPLACE, got ${JSON.stringify(directive)}`);
    const got = await store.get(fromBucket, fromKey);
    if (!got || !got.body) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { extra: { Key: fromKey } });
    const metadata: { httpMetadata: ObjectMeta['httpMetadata']; customMetadata: Record<string, string> } =
      directive === 'REPLACE' ? metadataFromHeaders(req.headers) : { httpMetadata: got.meta.httpMetadata, customMetadata: got.meta.customMetadata };
    if (directive === 'COPY' && fromBucket === bucket && fromKey === key) {
      got.body.destroy();
      throw new S3Error('InvalidRequest', 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata (use x-amz-metadata-directive: REPLACE).');
    }
    const meta = await store.put(bucket, key, got.body, metadata);
    sendXml(res, 200, xmlDocument('CopyObjectResult', el('ETag', `"${meta!.etag}"`) + el('LastModified', new Date(meta!.uploaded).toISOString())));
  }

  async function deleteObjects(c: Ctx): Promise<void> {
    const { req, res, bucket, sig } = c;
    const doc = parseRequestXml(await readSmallBody(checkedBody(req, req.headers, sig), MAX_XML_BYTES), 'Delete');
    const quiet = text(doc, 'Quiet') === 'true';
    const objects = (doc.Object ?? []) as unknown[];
    if (objects.length === 0) throw new S3Error('MalformedXML', 'The XML you provided did not validate: <Delete> must name at least one <Object>');
    if (objects.length > 1000) throw new S3Error('MalformedXML', `The XML you provided did not validate: at most 1000 objects per DeleteObjects request, got ${objects.length}`);
    const keys = objects.map((o) => {
      const k = text(o, 'Key');
      if (k === undefined) throw new S3Error('MalformedXML', 'The XML you provided did not validate: every <Object> needs a <Key>');
      return k;
    });
    const results = await Promise.all(
      keys.map(async (k) => {
        try {
          await store.delete(bucket, [k]);
          return { key: k, error: null };
        } catch (err) {
          return { key: k, error: toS3Error(err) };
        }
      }),
    );
    const body = results
      .map((r) =>
        r.error
          ? `<Error>${el('Key', r.key)}${el('Code', r.error.s3Code)}${el('Message', r.error.message)}</Error>`
          : quiet
            ? ''
            : `<Deleted>${el('Key', r.key)}</Deleted>`,
      )
      .join('');
    sendXml(res, 200, xmlDocument('DeleteResult', body));
  }

  async function listObjects(c: Ctx, version: 1 | 2): Promise<void> {
    const { res, bucket, query } = c;
    await drain(c.req);
    const encoding = query.get('encoding-type');
    if (encoding !== undefined && encoding !== 'url') throw new S3Error('InvalidArgument', `Invalid Encoding Method specified in Request: encoding-type must be url, got ${JSON.stringify(encoding)}`);
    const enc = (s: string): string => (encoding === 'url' ? encodeURIComponent(s).replace(/%2F/g, '/').replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`) : s);
    const maxKeysText = query.get('max-keys');
    const maxKeys = maxKeysText === undefined ? 1000 : Number(maxKeysText);
    if (!/^\d+$/.test(maxKeysText ?? '0') || !Number.isSafeInteger(maxKeys)) throw new S3Error('InvalidArgument', `max-keys must be a whole number, got ${JSON.stringify(maxKeysText)}`);
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter');
    const token = version === 2 ? query.get('continuation-token') : undefined;
    const after = version === 2 ? query.get('start-after') : query.get('marker');
    if (token === '') throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect');
    const limit = Math.min(maxKeys, 1000);
    const listed =
      limit === 0
        ? { objects: [], delimitedPrefixes: [], truncated: false }
        : await store
            .list(bucket, { prefix, ...(delimiter ? { delimiter } : {}), ...(token ? { cursor: token } : {}), ...(after ? { startAfter: after } : {}), limit })
            .catch((err: unknown) => {
              if (token && toS3Error(err).s3Code === 'InvalidArgument') throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect');
              throw err;
            });
    const contents = listed.objects
      .map((o) => `<Contents>${el('Key', enc(o.key))}${el('LastModified', new Date(o.uploaded).toISOString())}${el('ETag', `"${o.etag}"`)}${el('Size', o.size)}${el('StorageClass', 'STANDARD')}</Contents>`)
      .join('');
    const prefixes = listed.delimitedPrefixes.map((p) => `<CommonPrefixes>${el('Prefix', enc(p))}</CommonPrefixes>`).join('');
    let head = `${el('Name', bucket)}${el('Prefix', enc(prefix))}`;
    if (version === 2) {
      head += (after ? el('StartAfter', enc(after)) : '') + (token ? el('ContinuationToken', token) : '');
      head += el('KeyCount', listed.objects.length + listed.delimitedPrefixes.length);
    } else {
      head += el('Marker', after ? enc(after) : '');
    }
    head += el('MaxKeys', maxKeys) + (delimiter ? el('Delimiter', enc(delimiter)) : '') + (encoding ? el('EncodingType', encoding) : '') + el('IsTruncated', listed.truncated);
    if (listed.truncated && version === 2 && 'cursor' in listed && listed.cursor) head += el('NextContinuationToken', listed.cursor);
    if (listed.truncated && version === 1 && delimiter) {
      const lastKey = listed.objects.at(-1)?.key;
      const lastPrefix = listed.delimitedPrefixes.at(-1);
      const next = lastKey === undefined ? lastPrefix : lastPrefix === undefined ? lastKey : Buffer.compare(Buffer.from(lastKey), Buffer.from(lastPrefix)) > 0 ? lastKey : lastPrefix;
      if (next !== undefined) head += el('NextMarker', enc(next));
    }
    sendXml(res, 200, xmlDocument('ListBucketResult', head + contents + prefixes));
  }

  async function createMultipartUpload(c: Ctx): Promise<void> {
    const { req, res, bucket, key } = c;
    await drain(req);
    const uploadId = await store.createMultipartUpload(bucket, key, metadataFromHeaders(req.headers));
    sendXml(res, 200, xmlDocument('InitiateMultipartUploadResult', el('Bucket', bucket) + el('Key', key) + el('UploadId', uploadId)));
  }

  async function uploadPart(c: Ctx): Promise<void> {
    const { req, res, bucket, key, sig, query } = c;
    const uploadId = query.get('uploadId');
    const partText = query.get('partNumber');
    if (uploadId === undefined || partText === undefined) throw new S3Error('InvalidRequest', 'UploadPart needs both partNumber and uploadId');
    if (req.headers['x-amz-copy-source'] !== undefined) throw new S3Error('NotImplemented', 'UploadPartCopy is not implemented by this endpoint');
    const partNumber = Number(partText);
    if (!/^\d+$/.test(partText) || partNumber < 1 || partNumber > 10_000) throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and 10000, inclusive; got ${JSON.stringify(partText)}`);
    const checked = checkedBody(req, req.headers, sig, { maxBytes: MAX_PUT_BYTES });
    const part = await store.uploadPart(bucket, key, uploadId, partNumber, checked.body);
    res.writeHead(200, { etag: `"${part.etag}"`, ...checked.checksumHeaders() }).end();
  }

  async function completeMultipartUpload(c: Ctx, uploadId: string): Promise<void> {
    const { req, res, bucket, key, sig } = c;
    const doc = parseRequestXml(await readSmallBody(checkedBody(req, req.headers, sig), MAX_XML_BYTES), 'CompleteMultipartUpload');
    const list = (doc.Part ?? []) as unknown[];
    if (list.length === 0) throw new S3Error('MalformedXML', 'The XML you provided did not validate: <CompleteMultipartUpload> must list at least one <Part>');
    const parts = list.map((p) => {
      const n = text(p, 'PartNumber');
      const etag = text(p, 'ETag');
      if (n === undefined || !/^\d+$/.test(n.trim()) || etag === undefined) throw new S3Error('MalformedXML', 'The XML you provided did not validate: every <Part> needs a numeric <PartNumber> and an <ETag>');
      return { partNumber: Number(n.trim()), etag: etag.trim() };
    });
    for (let i = 1; i < parts.length; i++) {
      if (parts[i]!.partNumber <= parts[i - 1]!.partNumber) throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.');
    }
    const meta = await store.completeMultipartUpload(bucket, key, uploadId, parts);
    const location = `http://${req.headers.host ?? 'localhost'}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
    sendXml(res, 200, xmlDocument('CompleteMultipartUploadResult', el('Location', location) + el('Bucket', bucket) + el('Key', key) + el('ETag', `"${meta.etag}"`)));
  }

  return server;
}

/** PutObject's conditional writes: If-None-Match: * (only when absent) and If-Match: <etag>. */
function writePrecondition(req: IncomingMessage): { etagMatches?: string; etagDoesNotMatch?: string } | null {
  const ifMatch = req.headers['if-match'];
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') throw new S3Error('NotImplemented', 'If-None-Match on a PutObject only supports *');
  if (ifMatch === undefined && ifNoneMatch === undefined) return null;
  return { ...(ifMatch !== undefined ? { etagMatches: ifMatch } : {}), ...(ifNoneMatch !== undefined ? { etagDoesNotMatch: '*' } : {}) };
}

function sendXml(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) }).end(xml);
}

/** Reads and discards a request body (requests that carry none normally). */
async function drain(req: IncomingMessage): Promise<void> {
  if (req.complete) return;
  for await (const _ of req) {
    // discarded
  }
}

async function sendError(req: IncomingMessage, res: ServerResponse, err: S3Error, resource: string, requestId: string, bodyWithheld: boolean): Promise<void> {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A body still unread is drained when small, so that the client reads the error; a big one closes the connection,
  // as does a body the client holds back until a 100 Continue it will now never get.
  if (bodyWithheld) res.setHeader('connection', 'close');
  else if (!req.complete && !req.destroyed) {
    const length = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(length) && length <= DRAIN_LIMIT) await drain(req).catch(() => {});
    else res.setHeader('connection', 'close');
  }
  const headers: Record<string, string | number> = { ...err.headers };
  if (req.method === 'HEAD') {
    res.writeHead(err.status, headers).end();
    return;
  }
  const xml = errorXml(err, resource, requestId);
  res.writeHead(err.status, { ...headers, 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) }).end(xml);
}
