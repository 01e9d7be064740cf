// Two ways in: `Authorization: Bearer <token>` with a token from API_TOKENS, or an HMAC-SHA256 signature of
// the request (`x-signature: t=<unix seconds>,v1=<hex>` over "<t>\n<METHOD>\n<path?query>\n<hex SHA-256 of the body>")
// made with HMAC_SECRET, at most five minutes old.
const MAX_SKEW_SECONDS = 300;
const encoder = new TextEncoder();
let hmacKey = null;
let hmacSecret = null;

export async function authenticate(request, env) {
  const authorization = request.headers.get('authorization');
  if (authorization !== null) {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!m) return { ok: false, reason: 'the Authorization header must be "Bearer <token>"' };
    const tokens = String(env.API_TOKENS ?? '').split(',').map((t) => t.trim()).filter(Boolean);
    for (const t of tokens) if (await sameText(t, m[1])) return { ok: true, client: `token:${await shortHash(t)}` };
    return { ok: false, reason: 'unknown bearer token' };
  }
  const signature = request.headers.get('x-signature');
  if (signature !== null) return verifySignature(request, env, signature);
  return { ok: false, reason: 'send a bearer token or an x-signature header' };
}

async function verifySignature(request, env, header) {
  const parts = Object.fromEntries(header.split(',').map((p) => p.trim().split('=', 2)));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/i.test(parts.v1 ?? '')) return { ok: false, reason: 'x-signature must be "t=<unix seconds>,v1=<64 hex digits>"' };
  if (Math.abs(Date.now() / 1000 - t) > MAX_SKEW_SECONDS) return { ok: false, reason: 'signature timestamp is too old or in the future' };
  const url = new URL(request.url);
  const body = request.method === 'GET' || request.method === 'HEAD' ? new Uint8Array(0) : new Uint8Array(await request.clone().arrayBuffer());
  const bodyHash = hex(await crypto.subtle.digest('SHA-256', body));
  const message = `${t}\n${request.method}\n${url.pathname}${url.search}\n${bodyHash}`;
  const key = await keyFor(String(env.HMAC_SECRET ?? ''));
  const ok = await crypto.subtle.verify('HMAC', key, fromHex(parts.v1), encoder.encode(message));
  return ok ? { ok: true, client: `hmac:${await shortHash(String(env.HMAC_SECRET))}` } : { ok: false, reason: 'bad signature' };
}

async function keyFor(secret) {
  if (hmacKey === null || hmacSecret !== secret) {
    hmacKey = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    hmacSecret = secret;
  }
  return hmacKey;
}

/** Compares without leaking where the first difference is (Workers' timingSafeEqual needs equal lengths). */
async function sameText(a, b) {
  const [x, y] = await Promise.all([crypto.subtle.digest('SHA-256', encoder.encode(a)), crypto.subtle.digest('SHA-256', encoder.encode(b))]);
  return crypto.subtle.timingSafeEqual(x, y);
}

async function shortHash(text) {
  return hex(await crypto.subtle.digest('SHA-256', encoder.encode(text))).slice(0, 12);
}

export function hex(buffer) {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function fromHex(text) {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}
