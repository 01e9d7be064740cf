// Resizes an uploaded image (see wrangler.toml):
//   POST /?width=<1..4000>[&format=png|jpeg|webp][&quality=<1..100>]   body: a PNG or JPEG
// answers the image `width` pixels wide, its height scaled to keep the aspect ratio, in `format` (default: the
// input's), JPEG at `quality` (default 80). A bad parameter, a body that is neither PNG nor JPEG, or an image too
// large to decode within the worker's memory (read from its header before decoding) is a 4xx with a JSON error.
import { PhotonImage, resize, SamplingFilter } from '@cf-wasm/photon';

const MAX_WIDTH = 4000;
const TYPES = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export default {
  async fetch(request, env) {
    try {
      return await handle(request, env);
    } catch (err) {
      if (err instanceof HttpError) return Response.json({ error: err.message }, { status: err.status });
      throw err;
    }
  },
};

async function handle(request, env) {
  if (request.method !== 'POST') throw new HttpError(405, 'POST a PNG or JPEG image, e.g. curl --data-binary @photo.jpg "http://image-resize.localhost:8787/?width=320"');
  const url = new URL(request.url);
  const maxPixels = Number(env.MAX_PIXELS ?? 4_000_000);
  const maxBody = Number(env.MAX_BODY_BYTES ?? 10 * 1024 * 1024);

  const width = integerParam(url, 'width', 1, MAX_WIDTH, null);
  const quality = integerParam(url, 'quality', 1, 100, 80);
  const format = url.searchParams.get('format');
  if (format !== null && !Object.hasOwn(TYPES, format)) throw new HttpError(400, `format must be png, jpeg or webp, got "${format}"`);

  const length = Number(request.headers.get('content-length') ?? NaN);
  if (length > maxBody) throw new HttpError(413, `the image is ${length} bytes, more than the ${maxBody} accepted`);
  const input = new Uint8Array(await request.arrayBuffer());
  if (input.byteLength > maxBody) throw new HttpError(413, `the image is ${input.byteLength} bytes, more than the ${maxBody} accepted`);
  const header = imageHeader(input);
  if (header.width * header.height > maxPixels) {
    throw new HttpError(413, `the image is ${header.width}x${header.height} (${header.width * header.height} pixels), more than the ${maxPixels} pixels this worker decodes within its memory limit`);
  }
  const height = Math.max(1, Math.round((header.height * width) / header.width));
  if (width * height > maxPixels) throw new HttpError(400, `the result would be ${width}x${height}, more than ${maxPixels} pixels: ask for a smaller width`);

  const out = format ?? header.format;
  const image = PhotonImage.new_from_byteslice(input);
  let resized;
  try {
    resized = resize(image, width, height, SamplingFilter.Lanczos3);
    const bytes = out === 'png' ? resized.get_bytes() : out === 'jpeg' ? resized.get_bytes_jpeg(quality) : resized.get_bytes_webp();
    return new Response(bytes, {
      headers: { 'content-type': TYPES[out], 'x-image-size': `${width}x${height}`, 'x-source-size': `${header.width}x${header.height}` },
    });
  } finally {
    resized?.free();
    image.free();
  }
}

function integerParam(url, name, min, max, fallback) {
  const raw = url.searchParams.get(name);
  if (raw === null) {
    if (fallback === null) throw new HttpError(400, `?${name}= is required (an integer from ${min} to ${max})`);
    return fallback;
  }
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) throw new HttpError(400, `${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return n;
}

/** The format and dimensions from a PNG's IHDR or a JPEG's start-of-frame, without decoding the image. */
function imageHeader(b) {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length >= 24 && view.getUint32(0) === 0x89504e47 && view.getUint32(4) === 0x0d0a1a0a && view.getUint32(12) === 0x49484452) {
    return checked({ format: 'png', width: view.getUint32(16), height: view.getUint32(20) });
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 4 <= b.length) {
      if (b[i] !== 0xff) break;
      const marker = b[i + 1];
      if (marker === 0xff) { i++; continue; } // fill byte
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { i += 2; continue; }
      const size = view.getUint16(i + 2);
      // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC)
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc && i + 9 <= b.length) {
        return checked({ format: 'jpeg', height: view.getUint16(i + 5), width: view.getUint16(i + 7) });
      }
      if (marker === 0xda || marker === 0xd9) break; // scan data or end before any frame header
      i += 2 + size;
    }
    throw new HttpError(415, 'the JPEG has no frame header: is it truncated?');
  }
  throw new HttpError(415, 'the body is neither a PNG nor a JPEG image');
}

function checked(header) {
  if (header.width === 0 || header.height === 0) throw new HttpError(415, `the ${header.format.toUpperCase()} header says ${header.width}x${header.height}`);
  return header;
}
