// examples/image-resize deployed from its directory as `edge deploy` does (photon's Workers build, whose .wasm import
// becomes a WebAssembly.Module), resizing real PNG and JPEG images made here with photon itself and checking the
// results' dimensions by decoding them; its parameter checks; and images too large for its memory, refused from
// their header, or, with that guard lifted, stopped by the memory limit without hurting other workers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PhotonImage } from '@cf-wasm/photon/node';
import { collectUpload } from '../host/deploy/upload.ts';
import type { DeployUpload } from '../host/deploy/upload.ts';
import { startTestHost, type TestHost } from './helpers/test-host.ts';
import type { TestResponse } from './helpers/http.ts';

let t: TestHost;
let upload: DeployUpload;
const events: Array<{ worker?: string; kind?: string; message?: string }> = [];

/** A `width` x `height` test card (gradients, so that encoders have something to do) as PNG and JPEG. */
function testImage(width: number, height: number): { png: Uint8Array; jpeg: Uint8Array } {
  const px = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      px[i] = (x * 255) / width;
      px[i + 1] = (y * 255) / height;
      px[i + 2] = (x + y) % 256;
      px[i + 3] = 255;
    }
  }
  const image = new PhotonImage(px, width, height);
  try {
    return { png: image.get_bytes(), jpeg: image.get_bytes_jpeg(90) };
  } finally {
    image.free();
  }
}

/** Width and height of an encoded image, by decoding it. */
function dimensions(bytes: Uint8Array): [number, number] {
  const image = PhotonImage.new_from_byteslice(bytes);
  try {
    return [image.get_width(), image.get_height()];
  } finally {
    image.free();
  }
}

const post = (name: string, query: string, body: Uint8Array | string): Promise<TestResponse> => t.get(name, `/${query}`, { method: 'POST', body });
const errorOf = (res: TestResponse): string => (JSON.parse(res.text) as { error: string }).error;

beforeAll(async () => {
  t = await startTestHost();
  t.host.logs.subscribeAll((e) => events.push(e as (typeof events)[number]));
  upload = await collectUpload('examples/image-resize');
  const r = await t.admin('POST', '/v1/workers', upload);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('examples/image-resize', () => {
  const card = testImage(600, 400);

  it('uploads photon\'s wasm as a CompiledWasm module beside the bundle', () => {
    const wasm = upload.modules.filter((m) => m.type === 'CompiledWasm');
    expect(wasm.map((m) => m.path)).toEqual([expect.stringMatching(/^src\/[0-9a-f]{40}-photon_rs_bg\.wasm$/)]);
  });

  it('resizes a PNG keeping its aspect ratio, as PNG', async () => {
    const res = await post('image-resize', '?width=150', card.png);
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect([...res.body.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(dimensions(res.body)).toEqual([150, 100]);
  });

  it('resizes a JPEG as JPEG, and re-encodes to PNG or WebP on request', async () => {
    const jpeg = await post('image-resize', '?width=300&quality=70', card.jpeg);
    expect(jpeg.status, jpeg.text).toBe(200);
    expect(jpeg.headers['content-type']).toBe('image/jpeg');
    expect(dimensions(jpeg.body)).toEqual([300, 200]);

    const png = await post('image-resize', '?width=90&format=png', card.jpeg);
    expect(png.headers['content-type']).toBe('image/png');
    expect(dimensions(png.body)).toEqual([90, 60]);

    const webp = await post('image-resize', '?width=120&format=webp', card.png);
    expect(webp.status, webp.text).toBe(200);
    expect(webp.headers['content-type']).toBe('image/webp');
    expect(webp.body.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(webp.body.subarray(8, 12).toString('latin1')).toBe('WEBP');
    expect(dimensions(webp.body)).toEqual([120, 80]);
    expect(webp.headers['x-image-size']).toBe('120x80');
  });

  it('answers clear 4xx errors for bad parameters and bodies', async () => {
    const cases: Array<[string, Uint8Array | string, number, RegExp]> = [
      ['', card.png, 400, /\?width= is required/],
      ['?width=0', card.png, 400, /width must be an integer from 1 to 4000, got "0"/],
      ['?width=12.5', card.png, 400, /width must be an integer/],
      ['?width=4001', card.png, 400, /from 1 to 4000/],
      ['?width=100&format=gif', card.png, 400, /format must be png, jpeg or webp/],
      ['?width=100&quality=101', card.jpeg, 400, /quality must be an integer from 1 to 100/],
      ['?width=100', 'hello', 415, /neither a PNG nor a JPEG/],
      ['?width=4000', testImage(40, 4000).png, 400, /the result would be 4000x400000/],
    ];
    for (const [query, body, status, message] of cases) {
      const res = await post('image-resize', query, body);
      expect(res.status, `${query}: ${res.text}`).toBe(status);
      expect(errorOf(res)).toMatch(message);
    }
    const get = await t.get('image-resize', '/?width=100');
    expect(get.status).toBe(405);
  });

  it('refuses an image too large to decode within its memory, from its header, and keeps serving', async () => {
    const big = testImage(2400, 1800); // 4.3 MP: ~57 MiB decoded, over MAX_PIXELS
    const res = await post('image-resize', '?width=100', big.jpeg);
    expect(res.status).toBe(413);
    expect(errorOf(res)).toBe('the image is 2400x1800 (4320000 pixels), more than the 4000000 pixels this worker decodes within its memory limit');
    const ok = await post('image-resize', '?width=60', card.png);
    expect(ok.status).toBe(200);
    expect(dimensions(ok.body)).toEqual([60, 40]);
  });

  it('without that guard, the memory cap stops the request (the wasm traps), and nothing else is hurt', async () => {
    // The same worker, its guard lifted and its memory tightened: photon's WebAssembly memory meets memory_mb.
    const content = upload.manifest.content
      .replace('name = "image-resize"', 'name = "image-resize-tight"')
      .replace('memory_mb = 96', 'memory_mb = 32')
      .replace('MAX_PIXELS = "4000000"', 'MAX_PIXELS = "100000000"');
    const r = await t.admin('POST', '/v1/workers', { ...upload, manifest: { ...upload.manifest, content } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const big = testImage(2400, 1800);
    // Its memory is capped at memory_mb: photon's allocation past it fails and the wasm traps, ending the request.
    const res = await post('image-resize-tight', '?width=100', big.jpeg);
    expect(res.status).toBe(500);
    expect(res.headers['x-edge-error']).toBe('E_WORKER_EXCEPTION');
    await expect.poll(() => events.find((e) => e.worker === 'image-resize-tight' && e.kind === 'exception')?.message).toMatch(/RuntimeError: unreachable/);
    // The other worker resizes as before.
    const ok = await post('image-resize', '?width=150', card.png);
    expect(ok.status).toBe(200);
    expect(dimensions(ok.body)).toEqual([150, 100]);
    // And the worker itself serves the next image that fits.
    const after = await post('image-resize-tight', '?width=150', card.png);
    expect(after.status).toBe(200);
    expect(dimensions(after.body)).toEqual([150, 100]);
  });
});
