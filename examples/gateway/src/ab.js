// A/B assignment: a client carries a random id in the `gw_id` cookie; its variant is a hash of that id, so the
// same client always lands in the same variant without the gateway storing anything.
const COOKIE = 'gw_id';

export async function assignVariant(request, percentB) {
  let id = readCookie(request.headers.get('cookie') ?? '', COOKIE);
  let setCookie = null;
  if (id === null || !/^[0-9a-f-]{36}$/.test(id)) {
    id = crypto.randomUUID();
    setCookie = `${COOKIE}=${id}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax`;
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(id)));
  const bucket = ((digest[0] << 8) | digest[1]) % 100;
  return { id, variant: bucket < percentB ? 'b' : 'a', setCookie };
}

export function readCookie(header, name) {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}
