// A file store on R2. Bodies stream through: nothing is held whole in the worker.
//   PUT    /files/<key>                         upload (Content-Type and x-meta-* headers are kept)
//   GET    /files/<key>                         download; Range (206), If-None-Match (304), If-Match (412)
//   HEAD   /files/<key>                         metadata only
//   DELETE /files/<key>                         delete
//   GET    /files?prefix=a/&delimiter=/&cursor= listing: {"objects":[...],"folders":[...],"truncated":..,"cursor":..}
//   POST   /files/<key>?uploads                 start a multipart upload → {"key","uploadId"}
//   PUT    /files/<key>?uploadId=U&partNumber=N upload a part (≥ 5 MiB except the last) → {"partNumber","etag"}
//   POST   /files/<key>?uploadId=U              complete with {"parts":[{"partNumber","etag"},...]}
//   DELETE /files/<key>?uploadId=U              abort
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/files' || url.pathname === '/files/') return list(env.FILES, url);
    if (!url.pathname.startsWith('/files/')) return json({ error: 'not found' }, 404);
    const key = decodeURIComponent(url.pathname.slice('/files/'.length));
    const uploadId = url.searchParams.get('uploadId');
    try {
      if (url.searchParams.has('uploads') && request.method === 'POST') {
        const upload = await env.FILES.createMultipartUpload(key, { httpMetadata: request.headers, customMetadata: metaFrom(request.headers) });
        return json({ key: upload.key, uploadId: upload.uploadId }, 201);
      }
      if (uploadId !== null) return multipart(env.FILES.resumeMultipartUpload(key, uploadId), request, url);
      switch (request.method) {
        case 'PUT': {
          const object = await env.FILES.put(key, request.body, { httpMetadata: request.headers, customMetadata: metaFrom(request.headers) });
          return json(describe(object), 201);
        }
        case 'GET':
        case 'HEAD':
          return download(env.FILES, key, request);
        case 'DELETE':
          await env.FILES.delete(key);
          return new Response(null, { status: 204 });
        default:
          return json({ error: 'method not allowed' }, 405);
      }
    } catch (err) {
      return json({ error: String(err.message ?? err) }, 400);
    }
  },
};

async function download(bucket, key, request) {
  if (request.method === 'HEAD') {
    const object = await bucket.head(key);
    if (object === null) return new Response(null, { status: 404 });
    return new Response(null, { headers: headersFor(object) });
  }
  const range = request.headers.has('range') ? request.headers : undefined;
  const object = await bucket.get(key, { onlyIf: request.headers, range });
  if (object === null) return json({ error: `no file ${key}` }, 404);
  const headers = headersFor(object);
  if (!('body' in object)) {
    // onlyIf did not hold: If-None-Match matched (304) or If-Match did not (412).
    return new Response(null, { status: request.headers.has('if-none-match') || request.headers.has('if-modified-since') ? 304 : 412, headers });
  }
  if (object.range) {
    const { offset, length } = object.range;
    headers.set('content-range', `bytes ${offset}-${offset + length - 1}/${object.size}`);
    return new Response(object.body, { status: 206, headers });
  }
  return new Response(object.body, { headers });
}

function headersFor(object) {
  const headers = new Headers();
  object.writeHttpMetadata(headers);
  headers.set('etag', object.httpEtag);
  headers.set('last-modified', object.uploaded.toUTCString());
  headers.set('accept-ranges', 'bytes');
  for (const [k, v] of Object.entries(object.customMetadata ?? {})) headers.set(`x-meta-${k}`, v);
  return headers;
}

async function list(bucket, url) {
  const result = await bucket.list({
    prefix: url.searchParams.get('prefix') ?? undefined,
    delimiter: url.searchParams.get('delimiter') ?? undefined,
    cursor: url.searchParams.get('cursor') ?? undefined,
    limit: url.searchParams.has('limit') ? Number(url.searchParams.get('limit')) : undefined,
    include: ['httpMetadata'],
  });
  return json({ objects: result.objects.map(describe), folders: result.delimitedPrefixes, truncated: result.truncated, cursor: result.cursor ?? null });
}

async function multipart(upload, request, url) {
  if (request.method === 'PUT') {
    const part = await upload.uploadPart(Number(url.searchParams.get('partNumber')), request.body);
    return json(part);
  }
  if (request.method === 'POST') {
    const { parts } = await request.json();
    return json(describe(await upload.complete(parts)), 201);
  }
  if (request.method === 'DELETE') {
    await upload.abort();
    return new Response(null, { status: 204 });
  }
  return json({ error: 'method not allowed' }, 405);
}

function describe(o) {
  return { key: o.key, size: o.size, etag: o.etag, uploaded: o.uploaded.toISOString(), contentType: o.httpMetadata?.contentType ?? null };
}

function metaFrom(headers) {
  const meta = {};
  for (const [k, v] of headers) if (k.startsWith('x-meta-')) meta[k.slice(7)] = v;
  return meta;
}

function json(body, status = 200) {
  return Response.json(body, { status });
}
