// multipart/form-data bodies into FormData, with @remix-run/multipart-parser (a streaming parser for Web streams).
// Loaded by body.js on the first formData() call of a multipart body; not part of an isolate's start. It imports no
// eager prelude module (see event-target.js for why): FormData and its helpers are passed in.
import { MultipartParser, MultipartParseError } from '@remix-run/multipart-parser';

// Sizes are bounded by the isolate's memory limit, as for every other body read; the parser's defaults (2 MiB per
// file) are a framework's upload policy, not the platform's.
const LIMITS = { maxHeaderSize: 16 * 1024, maxFileSize: Infinity, maxTotalSize: Infinity, maxParts: Infinity };

function malformed(detail) {
  return new TypeError(`Body.formData(): the multipart/form-data body is malformed: ${detail}.`);
}

function addPart(fd, part, { appendEntry, makeFile, utf8Decode }) {
  const disposition = part.headers['content-disposition'];
  if (disposition === undefined) throw malformed('a part has no Content-Disposition header');
  const name = part.name;
  if (name === undefined || name === null) throw malformed(`a part's Content-Disposition has no name (${JSON.stringify(disposition)})`);
  const filename = part.filename;
  if (filename !== undefined && filename !== null) {
    appendEntry(fd, name, makeFile(part.bytes, filename, (part.headers['content-type'] ?? '').toLowerCase()));
  } else {
    appendEntry(fd, name, utf8Decode(part.bytes));
  }
}

function rethrow(err) {
  if (err instanceof MultipartParseError) {
    const detail = err.message === 'Multipart stream not finished' ? 'it ends before the closing boundary' : err.message.replace(/^Invalid multipart stream: /, '');
    throw malformed(detail);
  }
  if (err instanceof TypeError && /not valid|utf-8|encoded data/i.test(err.message)) throw malformed(`part headers are not valid UTF-8`);
  throw err;
}

/**
 * Parses `source` (bytes, or a ReadableStream of bytes) with `boundary` into a FormData; rejects with a TypeError
 * naming the problem. `deps`: { FormData, appendEntry, makeFile, utf8Decode } from form-data.js, blob.js, encoding.js.
 */
export async function parseMultipartFormData(source, boundary, deps) {
  const fd = new deps.FormData();
  const parser = new MultipartParser(boundary, LIMITS);
  // The parser refuses data after the closing boundary, but an epilogue (often just CRLF, and often in a chunk of
  // its own) is allowed there (RFC 2046): once the parser is done, the rest of the body is ignored.
  const write = (chunk) => {
    try {
      for (const part of parser.write(chunk)) addPart(fd, part, deps);
      return true;
    } catch (err) {
      if (err instanceof MultipartParseError && err.message === 'Unexpected data after end of stream') return false;
      throw err;
    }
  };
  try {
    if (source instanceof Uint8Array) {
      if (source.byteLength === 0) throw malformed('the body is empty');
      write(source);
    } else {
      const reader = source.getReader();
      let empty = true;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (!(value instanceof Uint8Array)) throw new TypeError('Body.formData(): a body stream must produce Uint8Array chunks.');
        if (value.byteLength === 0) continue;
        empty = false;
        if (!write(value)) {
          reader.cancel().catch(() => {});
          break;
        }
      }
      if (empty) throw malformed('the body is empty');
    }
    parser.finish();
  } catch (err) {
    rethrow(err);
  }
  return fd;
}
