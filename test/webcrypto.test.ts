// crypto.subtle in a worker through a real host (cryptography by the host's Node WebCrypto over the 'crypto.*' host
// ops), checked against Node's WebCrypto in the test process: sign in the worker and verify here and the reverse,
// equal digests and derivations, decrypt what the other side encrypted; and the WebCrypto errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, webcrypto } from 'node:crypto';
import { startTestHost, type TestHost } from './helpers/test-host.ts';

const subtle = webcrypto.subtle;
const b64 = (b: ArrayBuffer | Uint8Array): string => Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('base64');
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const text = new TextEncoder();

const worker = `
const enc = new TextEncoder();
const b64 = (b) => { const u = b instanceof Uint8Array ? b : new Uint8Array(b); let s = ''; for (const x of u) s += String.fromCharCode(x); return btoa(s); };
const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const s = crypto.subtle;
const cases = {
  async digest({ data }) {
    const bytes = unb64(data);
    const out = {};
    for (const a of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512', 'MD5']) out[a] = b64(await s.digest(a, bytes));
    // Any BufferSource: a DataView and a Uint16Array over part of a larger buffer.
    const big = new Uint8Array(bytes.length + 6); big.set(bytes, 2);
    out.dataView = b64(await s.digest({ name: 'SHA-256' }, new DataView(big.buffer, 2, bytes.length)));
    out.arrayBuffer = b64(await s.digest('sha-256', bytes.buffer));
    return out;
  },
  async hmac({ key, data, theirs }) {
    const k = await s.importKey('raw', unb64(key), { name: 'HMAC', hash: 'SHA-256' }, true, ['sign', 'verify']);
    return {
      sig: b64(await s.sign('HMAC', k, enc.encode(data))),
      verifiesTheirs: await s.verify('HMAC', k, unb64(theirs), enc.encode(data)),
      rejectsTampered: await s.verify('HMAC', k, unb64(theirs), enc.encode(data + '!')),
      jwk: await s.exportKey('jwk', k),
      algorithm: k.algorithm, type: k.type, extractable: k.extractable, usages: k.usages,
    };
  },
  async aes({ name, key, iv, theirs, data }) {
    const k = await s.importKey('raw', unb64(key), name, false, ['encrypt', 'decrypt']);
    const p = { name, iv: unb64(iv), counter: unb64(iv), length: 64 };
    return {
      mine: b64(await s.encrypt(p, k, enc.encode(data))),
      decrypted: new TextDecoder().decode(await s.decrypt(p, k, unb64(theirs))),
      algorithm: k.algorithm,
    };
  },
  async signatures({ params, gen, importParams, publicKey, format, theirs, data }) {
    if (gen.publicExponent) gen.publicExponent = new Uint8Array(gen.publicExponent);
    const pair = await s.generateKey(gen, true, ['sign', 'verify']);
    const theirKey = await s.importKey(format, format === 'jwk' ? publicKey : unb64(publicKey), importParams, true, ['verify']);
    return {
      sig: b64(await s.sign(params, pair.privateKey, enc.encode(data))),
      spki: b64(await s.exportKey('spki', pair.publicKey)),
      verifiesTheirs: await s.verify(params, theirKey, unb64(theirs), enc.encode(data)),
      rejectsTampered: await s.verify(params, theirKey, unb64(theirs), enc.encode(data + '!')),
      privateType: pair.privateKey.type, publicType: pair.publicKey.type, algorithm: pair.privateKey.algorithm.name,
    };
  },
  async jwt({ jwk, token, alg }) {
    const [h, p, sig] = token.split('.');
    const params = alg === 'RS256' ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : { name: 'RSA-PSS', hash: 'SHA-256' };
    const key = await s.importKey('jwk', jwk, params, false, ['verify']);
    const raw = unb64(sig.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (sig.length % 4)) % 4));
    const vp = alg === 'RS256' ? params : { name: 'RSA-PSS', saltLength: 32 };
    return { valid: await s.verify(vp, key, raw, enc.encode(h + '.' + p)), forged: await s.verify(vp, key, raw, enc.encode(h + '.x' + p)), alg: key.algorithm };
  },
  async kdf({ password, salt, info, theirPublic }) {
    const pb = await s.importKey('raw', enc.encode(password), 'PBKDF2', false, ['deriveBits', 'deriveKey']);
    const pbkdf2 = b64(await s.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: unb64(salt), iterations: 1000 }, pb, 256));
    const hk = await s.importKey('raw', enc.encode(password), 'HKDF', false, ['deriveBits', 'deriveKey']);
    const hkdf = b64(await s.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: unb64(salt), info: enc.encode(info) }, hk, 128));
    const aes = await s.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt: unb64(salt), iterations: 1000 }, pb, { name: 'AES-GCM', length: 256 }, true, ['encrypt']);
    const aesRaw = b64(await s.exportKey('raw', aes));
    const mine = await s.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
    const theirs = await s.importKey('spki', unb64(theirPublic), { name: 'ECDH', namedCurve: 'P-256' }, true, []);
    const ecdh = b64(await s.deriveBits({ name: 'ECDH', public: theirs }, mine.privateKey, 256));
    return { pbkdf2, hkdf, aesRaw, aesAlg: aes.algorithm, ecdh, myPublic: b64(await s.exportKey('raw', mine.publicKey)) };
  },
  async wrap() {
    const kek = await s.generateKey({ name: 'AES-KW', length: 256 }, false, ['wrapKey', 'unwrapKey']);
    const key = await s.generateKey({ name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
    const wrapped = await s.wrapKey('raw', key, kek, 'AES-KW');
    const back = await s.unwrapKey('raw', wrapped, kek, 'AES-KW', { name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
    const a = b64(await s.exportKey('raw', key)), b = b64(await s.exportKey('raw', back));
    return { same: a === b, wrappedLength: wrapped.byteLength, usages: back.usages };
  },
  async nodeEd25519({ publicHex, signature, message }) {
    const hex = (h) => Uint8Array.from(h.match(/../g), (b) => parseInt(b, 16));
    const key = await s.importKey('raw', hex(publicHex), { name: 'NODE-ED25519', namedCurve: 'NODE-ED25519' }, true, ['verify']);
    return {
      valid: await s.verify('NODE-ED25519', key, hex(signature), enc.encode(message)),
      forged: await s.verify({ name: 'NODE-ED25519' }, key, hex(signature), enc.encode(message + '!')),
      algorithm: key.algorithm,
    };
  },
  async digestStream({ data }) {
    const ds = new crypto.DigestStream('SHA-256');
    const w = ds.getWriter();
    const bytes = unb64(data);
    await w.write(bytes.subarray(0, 10));
    await w.write(new DataView(bytes.buffer, 10));
    await w.close();
    const piped = new crypto.DigestStream({ name: 'MD5' });
    await new Response(bytes).body.pipeTo(piped);
    const bad = new crypto.DigestStream('SHA-1');
    const bw = bad.getWriter();
    const wrote = await bw.write('text').then(() => 'written', (e) => e.name);
    return {
      sha256: b64(await ds.digest), md5: b64(await piped.digest), bytesWritten: ds.bytesWritten,
      isWritable: ds instanceof WritableStream, wrote, badDigest: await bad.digest.then(() => 'resolved', (e) => e.message),
    };
  },
  timingSafeEqual() {
    const t = (a, b) => { try { return s.timingSafeEqual(a, b); } catch (e) { return e.constructor.name + ': ' + e.message; } };
    return [t(enc.encode('abc'), enc.encode('abc')), t(enc.encode('abc').buffer, new Uint8Array([97, 98, 100])), t(enc.encode('ab'), enc.encode('abc')), t('abc', 'abc')];
  },
  async errors() {
    const name = async (f) => { try { await f(); return 'no error'; } catch (e) { return (e instanceof DOMException ? 'DOMException ' : '') + e.name + ': ' + e.message; } };
    const hmac = await s.importKey('raw', new Uint8Array(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const aes = await s.importKey('raw', new Uint8Array(16), 'AES-GCM', true, ['encrypt']);
    return {
      exportNonExtractable: await name(() => s.exportKey('raw', hmac)),
      verifyWithoutUsage: await name(() => s.verify('HMAC', hmac, new Uint8Array(32), new Uint8Array(1))),
      wrongAlgorithm: await name(() => s.sign('ECDSA', hmac, new Uint8Array(1))),
      unknownDigest: await name(() => s.digest('SHA-3', new Uint8Array(1))),
      digestOfString: await name(() => s.digest('SHA-256', 'abc')),
      notAKey: await name(() => s.sign('HMAC', { type: 'secret' }, new Uint8Array(1))),
      badKeyLength: await name(() => s.importKey('raw', new Uint8Array(5), 'AES-GCM', true, ['encrypt'])),
      badUsage: await name(() => s.importKey('raw', new Uint8Array(16), 'AES-GCM', true, ['fly'])),
      badJwk: await name(() => s.importKey('jwk', { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify'])),
      decryptTampered: await name(async () => {
        const k = await s.importKey('raw', new Uint8Array(16), 'AES-GCM', false, ['encrypt', 'decrypt']);
        const c = new Uint8Array(await s.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, k, enc.encode('x')));
        c[0] ^= 1;
        await s.decrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, k, c);
      }),
      extractablePbkdf2: await name(() => s.importKey('raw', new Uint8Array(8), 'PBKDF2', true, ['deriveBits'])),
      pbkdf2Iterations: await name(async () => {
        const k = await s.importKey('raw', enc.encode('pw'), 'PBKDF2', false, ['deriveBits']);
        await s.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(8), iterations: 100001 }, k, 256);
      }),
      hugeRsa: await name(() => s.generateKey({ name: 'RSA-PSS', modulusLength: 16384, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign'])),
      constructKey: await name(() => new CryptoKey()),
      constructSubtle: await name(() => new SubtleCrypto()),
      aesKey: [aes instanceof CryptoKey, Object.prototype.toString.call(aes), crypto.subtle instanceof SubtleCrypto, crypto.subtle === crypto.subtle],
      mutatedAlgorithmIgnored: await name(async () => { aes.algorithm.name = 'HMAC'; aes.usages.push('decrypt'); await s.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, aes, new Uint8Array(1)); }),
    };
  },
};
export default {
  async fetch(req) {
    const body = await req.json();
    try {
      return Response.json(await cases[body.c](body));
    } catch (e) {
      return new Response(e.name + ': ' + e.message + '\\n' + e.stack, { status: 500 });
    }
  },
};
`;

describe('crypto.subtle', () => {
  let t: TestHost;
  const call = async (c: string, body: Record<string, unknown> = {}): Promise<any> => {
    const r = await t.get('wc', '/', { method: 'POST', body: JSON.stringify({ c, ...body }), headers: { 'content-type': 'application/json' } });
    if (r.status !== 200) throw new Error(`worker case ${c}: ${r.status} ${r.text}`);
    return JSON.parse(r.text);
  };
  beforeAll(async () => {
    t = await startTestHost();
    const d = await t.deploy('wc', { modules: { 'index.js': worker } });
    expect(d.status).toBe(201);
  });
  afterAll(() => t.close());

  it('digests equal to Node (SHA-1/256/384/512 and MD5), from any BufferSource', async () => {
    const data = text.encode('The quick brown fox jumps over the lazy dog');
    const r = await call('digest', { data: b64(data) });
    for (const [a, n] of [['SHA-1', 'sha1'], ['SHA-256', 'sha256'], ['SHA-384', 'sha384'], ['SHA-512', 'sha512'], ['MD5', 'md5']] as const) {
      expect(r[a]).toBe(createHash(n).update(data).digest('base64'));
    }
    expect(r.dataView).toBe(r['SHA-256']);
    expect(r.arrayBuffer).toBe(r['SHA-256']);
  });

  it('HMAC: signs like Node, verifies what Node signed, describes its key', async () => {
    const raw = webcrypto.getRandomValues(new Uint8Array(32));
    const key = await subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, true, ['sign', 'verify']);
    const theirs = await subtle.sign('HMAC', key, text.encode('payload'));
    const r = await call('hmac', { key: b64(raw), data: 'payload', theirs: b64(theirs) });
    expect(r.sig).toBe(b64(theirs));
    expect(r.verifiesTheirs).toBe(true);
    expect(r.rejectsTampered).toBe(false);
    expect(r.jwk).toEqual({ ...(await subtle.exportKey('jwk', key)), key_ops: ['sign', 'verify'], ext: true });
    expect(r).toMatchObject({ algorithm: { name: 'HMAC', hash: { name: 'SHA-256' }, length: 256 }, type: 'secret', extractable: true, usages: ['sign', 'verify'] });
  });

  it.each(['AES-GCM', 'AES-CBC', 'AES-CTR'])('%s: decrypts what Node encrypted and the reverse', async (name) => {
    const raw = webcrypto.getRandomValues(new Uint8Array(32));
    const iv = webcrypto.getRandomValues(new Uint8Array(name === 'AES-GCM' ? 12 : 16));
    const key = await subtle.importKey('raw', raw, name, false, ['encrypt', 'decrypt']);
    const p = { name, iv, counter: iv, length: 64 };
    const theirs = await subtle.encrypt(p, key, text.encode('from node'));
    const r = await call('aes', { name, key: b64(raw), iv: b64(iv), theirs: b64(theirs), data: 'from the worker' });
    expect(r.decrypted).toBe('from node');
    expect(new TextDecoder().decode(await subtle.decrypt(p, key, unb64(r.mine)))).toBe('from the worker');
    expect(r.algorithm).toEqual({ name, length: 256 });
  });

  const signatureAlgorithms: Array<{ label: string; params: Record<string, unknown>; gen: Record<string, unknown>; importParams: Record<string, unknown> }> = [
    { label: 'ECDSA P-256', params: { name: 'ECDSA', hash: 'SHA-256' }, gen: { name: 'ECDSA', namedCurve: 'P-256' }, importParams: { name: 'ECDSA', namedCurve: 'P-256' } },
    { label: 'ECDSA P-384', params: { name: 'ECDSA', hash: 'SHA-384' }, gen: { name: 'ECDSA', namedCurve: 'P-384' }, importParams: { name: 'ECDSA', namedCurve: 'P-384' } },
    { label: 'Ed25519', params: { name: 'Ed25519' }, gen: { name: 'Ed25519' }, importParams: { name: 'Ed25519' } },
    {
      label: 'RSA-PSS',
      params: { name: 'RSA-PSS', saltLength: 32 },
      gen: { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      importParams: { name: 'RSA-PSS', hash: 'SHA-256' },
    },
  ];
  it.each(signatureAlgorithms)('$label: Node verifies the worker\'s signature and the worker verifies Node\'s', async ({ params, gen, importParams }) => {
    const pair = (await subtle.generateKey(gen as unknown as webcrypto.EcKeyGenParams, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const theirs = await subtle.sign(params as unknown as webcrypto.EcdsaParams, pair.privateKey, text.encode('hello'));
    const format = gen.name === 'ECDSA' ? 'jwk' : 'spki';
    const publicKey = format === 'jwk' ? await subtle.exportKey('jwk', pair.publicKey) : b64(await subtle.exportKey('spki', pair.publicKey));
    const workerGen = { ...gen, ...(gen.publicExponent ? { publicExponent: [1, 0, 1] } : {}) };
    const r = await call('signatures', { params, importParams, publicKey, format, theirs: b64(theirs), data: 'hello', gen: workerGen });
    expect(r.verifiesTheirs).toBe(true);
    expect(r.rejectsTampered).toBe(false);
    expect(r).toMatchObject({ privateType: 'private', publicType: 'public', algorithm: gen.name });
    const workerPublic = await subtle.importKey('spki', unb64(r.spki), importParams as unknown as webcrypto.EcKeyImportParams, true, ['verify']);
    expect(await subtle.verify(params as unknown as webcrypto.EcdsaParams, workerPublic, unb64(r.sig), text.encode('hello'))).toBe(true);
  });

  it.each(['RS256', 'PS256'])('verifies a %s JWT signed by Node, with the public key as a JWK', async (alg) => {
    const params = alg === 'RS256' ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : { name: 'RSA-PSS', hash: 'SHA-256' };
    const pair = (await subtle.generateKey({ ...params, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const url = (b: Uint8Array | ArrayBuffer): string => b64(b).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    const head = url(text.encode(JSON.stringify({ alg, typ: 'JWT' })));
    const payload = url(text.encode(JSON.stringify({ sub: 'user-1' })));
    const sig = await subtle.sign(alg === 'RS256' ? params : { name: 'RSA-PSS', saltLength: 32 }, pair.privateKey, text.encode(`${head}.${payload}`));
    const r = await call('jwt', { jwk: await subtle.exportKey('jwk', pair.publicKey), token: `${head}.${payload}.${url(sig)}`, alg });
    expect(r.valid).toBe(true);
    expect(r.forged).toBe(false);
    expect(r.alg).toMatchObject({ name: params.name, modulusLength: 2048, hash: { name: 'SHA-256' } });
  });

  it('derives PBKDF2 and HKDF bits, PBKDF2 AES keys and ECDH secrets equal to Node', async () => {
    const salt = webcrypto.getRandomValues(new Uint8Array(16));
    const node = (await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as webcrypto.CryptoKeyPair;
    const r = await call('kdf', { password: 'hunter2', salt: b64(salt), info: 'ctx', theirPublic: b64(await subtle.exportKey('spki', node.publicKey)) });
    const pb = await subtle.importKey('raw', text.encode('hunter2'), 'PBKDF2', false, ['deriveBits']);
    expect(r.pbkdf2).toBe(b64(await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations: 1000 }, pb, 256)));
    expect(r.aesRaw).toBe(r.pbkdf2);
    expect(r.aesAlg).toEqual({ name: 'AES-GCM', length: 256 });
    const hk = await subtle.importKey('raw', text.encode('hunter2'), 'HKDF', false, ['deriveBits']);
    expect(r.hkdf).toBe(b64(await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info: text.encode('ctx') }, hk, 128)));
    const theirs = await subtle.importKey('raw', unb64(r.myPublic), { name: 'ECDH', namedCurve: 'P-256' }, true, []);
    expect(r.ecdh).toBe(b64(await subtle.deriveBits({ name: 'ECDH', public: theirs }, node.privateKey, 256)));
  });

  it("verifies Ed25519 under Workers' NODE-ED25519 name (as Discord interaction verifiers do)", async () => {
    const pair = (await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as unknown as webcrypto.CryptoKeyPair;
    const hex = (b: ArrayBuffer): string => Buffer.from(b).toString('hex');
    const signature = await subtle.sign('Ed25519', pair.privateKey, text.encode('1700000000{"type":1}'));
    const r = await call('nodeEd25519', { publicHex: hex(await subtle.exportKey('raw', pair.publicKey)), signature: hex(signature), message: '1700000000{"type":1}' });
    expect(r).toEqual({ valid: true, forged: false, algorithm: { name: 'NODE-ED25519', namedCurve: 'NODE-ED25519' } });
  });

  it("hashes what is written to Workers' crypto.DigestStream", async () => {
    const data = webcrypto.getRandomValues(new Uint8Array(1000));
    const r = await call('digestStream', { data: b64(data) });
    expect(r).toEqual({
      sha256: createHash('sha256').update(data).digest('base64'),
      md5: createHash('md5').update(data).digest('base64'),
      bytesWritten: 1000,
      isWritable: true,
      wrote: 'TypeError',
      badDigest: 'DigestStream: chunks must be ArrayBuffer or ArrayBufferView.',
    });
  });

  it('wraps and unwraps keys (AES-KW) and compares buffers in constant time (timingSafeEqual)', async () => {
    expect(await call('wrap')).toEqual({ same: true, wrappedLength: 72, usages: ['sign'] });
    expect(await call('timingSafeEqual')).toEqual([
      true,
      false,
      'TypeError: Input buffers must have the same byte length.',
      "TypeError: Failed to execute 'timingSafeEqual' on 'SubtleCrypto': parameter 1 is not of type 'BufferSource'.",
    ]);
  });

  it('fails with the errors WebCrypto specifies', async () => {
    const r = await call('errors');
    expect(r.exportNonExtractable).toBe('DOMException InvalidAccessError: Attempt to export non-extractable HMAC key.');
    expect(r.verifyWithoutUsage).toMatch(/^DOMException InvalidAccessError: .*usages \(sign\) do not include 'verify'/);
    expect(r.wrongAlgorithm).toMatch(/^DOMException InvalidAccessError: .*key is for HMAC, not for ECDSA/);
    expect(r.unknownDigest).toBe("DOMException NotSupportedError: Failed to execute 'digest' on 'SubtleCrypto' (SHA-3): Unrecognized algorithm name");
    expect(r.digestOfString).toMatch(/^TypeError: .*the data is not of type 'ArrayBuffer' or 'ArrayBufferView'/);
    expect(r.notAKey).toMatch(/^TypeError: .*the key is not of type 'CryptoKey'/);
    expect(r.badKeyLength).toMatch(/^DOMException DataError: Failed to execute 'importKey' on 'SubtleCrypto' \(AES-GCM\): /);
    expect(r.badUsage).toMatch(/^TypeError: .*'fly' is not a valid key usage/);
    expect(r.badJwk).toMatch(/^DOMException DataError: /);
    expect(r.decryptTampered).toMatch(/^DOMException OperationError: /);
    expect(r.extractablePbkdf2).toMatch(/^DOMException SyntaxError: PBKDF2 keys cannot be extractable/);
    expect(r.pbkdf2Iterations).toBe('DOMException NotSupportedError: Pbkdf2 failed: iteration counts above 100000 are not supported (requested 100001).');
    expect(r.hugeRsa).toMatch(/^DOMException NotSupportedError: Generating RSA keys of more than 4096 bits is not supported \(requested 16384\)/);
    expect(r.constructKey).toBe('TypeError: Illegal constructor');
    expect(r.constructSubtle).toBe('TypeError: Illegal constructor');
    expect(r.aesKey).toEqual([true, '[object CryptoKey]', true, true]);
    expect(r.mutatedAlgorithmIgnored).toBe('no error');
  });
});

// Hono's JWT helpers and cache middleware, bundled as a user's build would, run unchanged on crypto.subtle and caches.
describe('crypto.subtle and the Cache API under a real library (Hono)', () => {
  let t: TestHost;
  const app = `
import { Hono } from 'hono';
import { sign, verify } from 'hono/jwt';
import { cache } from 'hono/cache';
let renders = 0;
const app = new Hono();
app.get('/cached/*', cache({ cacheName: 'pages', cacheControl: 'max-age=60', wait: true }));
app.get('/cached/:id', (c) => c.text('render ' + ++renders + ' of ' + c.req.param('id')));
app.get('/hs256', async (c) => {
  const token = await sign({ sub: 'user-1', exp: Math.floor(Date.now() / 1000) + 60 }, 'shh', 'HS256');
  const payload = await verify(token, 'shh', 'HS256');
  const forged = await verify(token.slice(0, -2) + 'AA', 'shh', 'HS256').then(() => 'accepted', (e) => e.name);
  return c.json({ token, payload, forged });
});
app.post('/rs256', async (c) => {
  const { token, jwk } = await c.req.json();
  return c.json(await verify(token, jwk, 'RS256'));
});
export default app;
`;
  beforeAll(async () => {
    const { build } = await import('esbuild');
    const out = await build({ stdin: { contents: app, resolveDir: process.cwd(), loader: 'js' }, bundle: true, format: 'esm', platform: 'neutral', mainFields: ['module', 'main'], write: false, logLevel: 'silent' });
    t = await startTestHost();
    expect((await t.deploy('hono', { modules: { 'index.js': out.outputFiles[0]!.text } })).status).toBe(201);
  });
  afterAll(() => t.close());

  it('signs and verifies HS256 tokens that Node agrees with, and verifies a Node-signed RS256 token', async () => {
    const r = JSON.parse((await t.get('hono', '/hs256')).text);
    expect(r.payload.sub).toBe('user-1');
    expect(r.forged).toBe('JwtTokenSignatureMismatched');
    const [h, p, sig] = (r.token as string).split('.');
    const key = await subtle.importKey('raw', text.encode('shh'), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    expect(await subtle.verify('HMAC', key, Buffer.from(sig!, 'base64url'), text.encode(`${h}.${p}`))).toBe(true);

    const pair = (await subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const head = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: 'user-2' })).toString('base64url');
    const s = Buffer.from(await subtle.sign('RSASSA-PKCS1-v1_5', pair.privateKey, text.encode(`${head}.${body}`))).toString('base64url');
    const jwk = { ...(await subtle.exportKey('jwk', pair.publicKey)), alg: 'RS256' };
    const v = await t.get('hono', '/rs256', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: `${head}.${body}.${s}`, jwk }) });
    expect(JSON.parse(v.text)).toEqual({ sub: 'user-2' });
  });

  it("serves the second request from Hono's cache middleware (caches.open)", async () => {
    expect((await t.get('hono', '/cached/a')).text).toBe('render 1 of a');
    const second = await t.get('hono', '/cached/a');
    expect(second.text).toBe('render 1 of a');
    expect(second.headers['cf-cache-status']).toBe('HIT');
    expect((await t.get('hono', '/cached/b')).text).toBe('render 2 of b');
  });
});
