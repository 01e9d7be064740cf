import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPreludeIsolate, type PreludeIsolate } from '../helpers/prelude-isolate.ts';

let pi: PreludeIsolate;
beforeAll(async () => {
  pi = await createPreludeIsolate();
});
afterAll(() => pi.dispose());

describe('FormData', () => {
  it('append, set, get, getAll, has, delete and iteration in order', async () => {
    expect(
      await pi.run(`
        const fd = new FormData();
        fd.append('a', '1');
        fd.append('b', 2);
        fd.append('a', '3');
        const before = [fd.get('a'), fd.getAll('a'), fd.has('b'), fd.get('zz'), [...fd.keys()]];
        fd.set('a', 'x');
        const afterSet = [...fd];
        fd.delete('b');
        const seen = [];
        fd.forEach((v, k, self) => seen.push([k, v, self === fd]));
        return [before, afterSet, [...fd.entries()], seen, [...fd.values()], String(fd)];
      `),
    ).toEqual([
      ['1', ['1', '3'], true, null, ['a', 'b', 'a']],
      [['a', 'x'], ['b', '2']],
      [['a', 'x']],
      [['a', 'x', true]],
      ['x'],
      '[object FormData]',
    ]);
  });

  it('holds Blobs as Files: named "blob", or the filename given; Files kept unless renamed', async () => {
    expect(
      await pi.run(`
        const fd = new FormData();
        const file = new File(['f'], 'orig.txt', { type: 'text/plain', lastModified: 5 });
        fd.append('blob', new Blob(['b'], { type: 'a/b' }));
        fd.append('named', new Blob(['n']), 'n.bin');
        fd.append('file', file);
        fd.append('renamed', file, 'new.txt');
        const v = fd.getAll('blob').concat(fd.getAll('named'), fd.getAll('file'), fd.getAll('renamed'));
        return [v.map((x) => [x instanceof File, x.name, x.type, x.size]), fd.get('file') === file, fd.get('renamed').lastModified, await fd.get('renamed').text()];
      `),
    ).toEqual([
      [[true, 'blob', 'a/b', 1], [true, 'n.bin', '', 1], [true, 'orig.txt', 'text/plain', 1], [true, 'new.txt', 'text/plain', 1]],
      true,
      5,
      'f',
    ]);
  });

  it('names wrong arguments', async () => {
    expect(
      await pi.run(`
        const fd = new FormData();
        const out = [];
        for (const f of [() => fd.append('a'), () => fd.append('a', 'str', 'name.txt'), () => new FormData({}), () => fd.get()]) {
          try { f(); out.push('no error'); } catch (e) { out.push(e.constructor.name + ': ' + e.message); }
        }
        return out;
      `),
    ).toEqual([
      "TypeError: Failed to execute 'append' on 'FormData': 2 arguments required, but only 1 present.",
      expect.stringMatching(/^TypeError: .*parameter 2 is not of type 'Blob'/),
      expect.stringMatching(/^TypeError: .*no form elements/),
      "TypeError: Failed to execute 'get' on 'FormData': 1 argument required, but only 0 present.",
    ]);
  });
});

describe('FormData bodies', () => {
  it('serializes as multipart/form-data with a boundary, and parses back (names, filenames, types, bytes)', async () => {
    expect(
      await pi.run(`
        const fd = new FormData();
        fd.append('text', 'héllo\\nworld');
        fd.append('quote"name', 'v');
        fd.append('file', new File([new Uint8Array([0, 255, 13, 10, 45, 45])], 'a "b".bin', { type: 'application/x-bin' }));
        fd.append('empty', new Blob([]));
        const req = new Request('https://x/', { method: 'POST', body: fd });
        const ct = req.headers.get('content-type');
        const raw = await req.clone().text();
        const back = await req.formData();
        const file = back.get('file');
        return [
          /^multipart\\/form-data; boundary=----formdata-edge-[0-9a-f]{24}$/.test(ct),
          raw.includes('Content-Disposition: form-data; name="text"\\r\\n\\r\\nhéllo\\r\\nworld\\r\\n'),
          raw.includes('name="quote%22name"'),
          back.get('text'), back.get('quote%22name'),
          [file.name, file.type, [...(await file.bytes())]],
          [back.get('empty').name, back.get('empty').type, back.get('empty').size],
          [...back.keys()],
        ];
      `),
    ).toEqual([
      true,
      true,
      true,
      'héllo\r\nworld',
      'v',
      ['a %22b%22.bin', 'application/x-bin', [0, 255, 13, 10, 45, 45]],
      ['blob', 'application/octet-stream', 0],
      ['text', 'quote%22name', 'file', 'empty'],
    ]);
  });

  it('parses a multipart body that arrives as a stream in small chunks', async () => {
    expect(
      await pi.run(`
        const body = '--XyZ\\r\\nContent-Disposition: form-data; name="a"\\r\\n\\r\\none\\r\\n--XyZ\\r\\nContent-Disposition: form-data; name="f"; filename="x.txt"\\r\\nContent-Type: Text/Plain\\r\\n\\r\\n--XyZ-ish content\\r\\n--XyZ--\\r\\n';
        const bytes = new TextEncoder().encode(body);
        let i = 0;
        const stream = new ReadableStream({ pull(c) { if (i >= bytes.length) { c.close(); return; } c.enqueue(bytes.slice(i, i + 3)); i += 3; } });
        const fd = await new Request('https://x/', { method: 'POST', body: stream, headers: { 'content-type': 'multipart/form-data; boundary="XyZ"' } }).formData();
        const f = fd.get('f');
        return [fd.get('a'), f.name, f.type, await f.text()];
      `),
    ).toEqual(['one', 'x.txt', 'text/plain', '--XyZ-ish content']);
  });

  it('decodes RFC 5987 filename*, keeps an empty file input as a File named "", refuses bad header bytes and huge headers', async () => {
    expect(
      await pi.run(`
        const mp = (body) => new Response(body, { headers: { 'content-type': 'multipart/form-data; boundary=B' } }).formData();
        const enc = (s) => new TextEncoder().encode(s);
        const star = await mp("--B\\r\\nContent-Disposition: form-data; name=\\"f\\"; filename*=UTF-8''na%C3%AFve%20file.txt\\r\\n\\r\\ndata\\r\\n--B--\\r\\n");
        const empty = await mp('--B\\r\\nContent-Disposition: form-data; name="f"; filename=""\\r\\nContent-Type: application/octet-stream\\r\\n\\r\\n\\r\\n--B--\\r\\n');
        const errors = [];
        for (const body of [
          new Uint8Array([...enc('--B\\r\\nContent-Disposition: form-data; name="'), 0xff, 0xfe, ...enc('"\\r\\n\\r\\nx\\r\\n--B--')]),
          '--B\\r\\nContent-Disposition: form-data; name="a"\\r\\nX-Pad: ' + 'p'.repeat(20000) + '\\r\\n\\r\\nx\\r\\n--B--',
        ]) {
          try { await mp(body); errors.push('no error'); } catch (e) { errors.push(e.constructor.name + ': ' + e.message); }
        }
        return [star.get('f').name, [empty.get('f') instanceof File, empty.get('f').name, empty.get('f').size], errors];
      `),
    ).toEqual([
      'naïve file.txt',
      [true, '', 0],
      [
        'TypeError: Body.formData(): the multipart/form-data body is malformed: part headers are not valid UTF-8.',
        'TypeError: Body.formData(): the multipart/form-data body is malformed: Multipart header size exceeds maximum allowed size of 16384 bytes.',
      ],
    ]);
  });

  it('parses application/x-www-form-urlencoded, and URLSearchParams bodies', async () => {
    expect(
      await pi.run(`
        const a = await new Response('a=1&b=x+y&a=%C3%A9', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }).formData();
        const b = await new Request('https://x/', { method: 'POST', body: new URLSearchParams({ q: 'z' }) }).formData();
        return [[...a], [...b]];
      `),
    ).toEqual([[['a', '1'], ['b', 'x y'], ['a', 'é']], [['q', 'z']]]);
  });

  it('rejects malformed bodies and wrong content types with a TypeError naming the problem', async () => {
    expect(
      await pi.run(`
        const mp = (body, ct = 'multipart/form-data; boundary=B') => new Response(body, { headers: { 'content-type': ct } }).formData();
        const cases = [
          mp('--B\\r\\nContent-Disposition: form-data; name="a"\\r\\n\\r\\nunterminated'),
          mp('garbage before\\r\\n--B\\r\\n'),
          mp('--B\\r\\nContent-Type: text/plain\\r\\n\\r\\nno disposition\\r\\n--B--'),
          mp('--B\\r\\nContent-Disposition: form-data\\r\\n\\r\\nno name\\r\\n--B--'),
          mp(''),
          mp('--B--', 'multipart/form-data'),
          new Response('x', { headers: { 'content-type': 'text/plain' } }).formData(),
          new Response(new Uint8Array([1])).formData(),
        ];
        const out = [];
        for (const p of cases) {
          try { await p; out.push('no error'); } catch (e) { out.push(e.constructor.name + ': ' + e.message); }
        }
        return out;
      `),
    ).toEqual([
      'TypeError: Body.formData(): the multipart/form-data body is malformed: it ends before the closing boundary.',
      'TypeError: Body.formData(): the multipart/form-data body is malformed: missing initial boundary.',
      'TypeError: Body.formData(): the multipart/form-data body is malformed: a part has no Content-Disposition header.',
      expect.stringMatching(/^TypeError: Body.formData\(\): the multipart\/form-data body is malformed: a part's Content-Disposition has no name/),
      'TypeError: Body.formData(): the multipart/form-data body is malformed: the body is empty.',
      expect.stringMatching(/^TypeError: Body.formData\(\): the Content-Type "multipart\/form-data" has no boundary parameter/),
      expect.stringMatching(/^TypeError: Body.formData\(\): the Content-Type is "text\/plain"; a body can be read as FormData only when/),
      expect.stringMatching(/^TypeError: Body.formData\(\): the Content-Type is missing/),
    ]);
  });
});
