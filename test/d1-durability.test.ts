// D1 durability through the HTTP data plane: clients run write transactions through a worker while the host is
// SIGKILLed at random moments, again and again. After each restart every acknowledged transaction is there, with the
// exact random() / randomblob() / time values its response reported (the replay of the log pins them), none is
// half-applied (a transaction writes two rows and a counter: all or nothing), and the database takes writes again.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { request } from './helpers/http.ts';
import { manifestFor } from './helpers/test-host.ts';
import { childAdmin, kill9, startChildHost, type ChildHost } from './helpers/child-host.ts';

const WORKER = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const db = env.DB;
    if (url.pathname === '/setup') {
      await db.exec("CREATE TABLE IF NOT EXISTS tx (client INTEGER, seq INTEGER, part TEXT, r INTEGER, ts TEXT, b BLOB, PRIMARY KEY (client, seq, part)); CREATE TABLE IF NOT EXISTS counters (client INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
      return new Response('ok');
    }
    if (url.pathname === '/tx') {
      const c = Number(url.searchParams.get('c'));
      const s = Number(url.searchParams.get('s'));
      const results = await db.batch([
        db.prepare("INSERT INTO tx (client, seq, part, r, ts, b) VALUES (?, ?, 'a', random(), strftime('%Y-%m-%d %H:%M:%f', 'now'), randomblob(8)) RETURNING r, ts, hex(b) AS b").bind(c, s),
        db.prepare("INSERT INTO tx (client, seq, part, r, ts, b) VALUES (?, ?, 'b', abs(random()) % 1000000, datetime('now'), NULL) RETURNING r, ts").bind(c, s),
        db.prepare('INSERT INTO counters (client, n) VALUES (?, 1) ON CONFLICT (client) DO UPDATE SET n = n + 1').bind(c),
      ]);
      // r goes out as text: a 64-bit integer does not fit a JS number.
      const a = await db.prepare("SELECT CAST(r AS TEXT) AS r, ts, hex(b) AS b FROM tx WHERE client = ? AND seq = ? AND part = 'a'").bind(c, s).first();
      return Response.json({ a, b: results[1].results[0] });
    }
    if (url.pathname === '/dump') {
      const rows = await db.prepare("SELECT client, seq, part, CAST(r AS TEXT) AS r, ts, hex(b) AS b FROM tx ORDER BY client, seq, part").all();
      const counters = await db.prepare('SELECT client, n FROM counters').all();
      return Response.json({ rows: rows.results, counters: counters.results });
    }
    return new Response('?', { status: 404 });
  },
};
`;

const CLIENTS = 10;

interface Acked {
  a: { r: string; ts: string; b: string };
  b: { r: number; ts: string };
}

describe('D1 durability through the data plane under SIGKILL', () => {
  let dataDir = '';
  let host: ChildHost | undefined;
  afterAll(async () => {
    if (host) await kill9(host);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const call = (h: ChildHost, path: string) => request(`${h.dataUrl}${path}`, { host: `d1-writer.localhost:${h.port}`, method: 'POST' });

  async function verify(h: ChildHost, acked: Map<string, Acked>, round: number): Promise<number> {
    const res = await call(h, '/dump');
    expect(res.status, res.text).toBe(200);
    const { rows, counters } = JSON.parse(res.text) as { rows: Array<{ client: number; seq: number; part: string; r: string; ts: string; b: string | null }>; counters: Array<{ client: number; n: number }> };
    const byTx = new Map<string, typeof rows>();
    for (const row of rows) {
      const k = `${row.client}/${row.seq}`;
      byTx.set(k, [...(byTx.get(k) ?? []), row]);
    }
    // No transaction half-applied: both rows or none, and each client's counter counts its transactions.
    for (const [k, parts] of byTx) expect(parts.map((p) => p.part), `transaction ${k} half-applied after kill ${round}`).toEqual(['a', 'b']);
    for (const { client, n } of counters) expect(n, `counter of client ${client} after kill ${round}`).toBe([...byTx.keys()].filter((k) => k.startsWith(`${client}/`)).length);
    expect(counters.reduce((s, c) => s + c.n, 0)).toBe(byTx.size);
    // Every acknowledged transaction, with the very values (random, time) its response reported.
    for (const [k, ack] of acked) {
      const parts = byTx.get(k);
      expect(parts, `acknowledged transaction ${k} is missing after kill ${round}`).toBeDefined();
      expect({ r: parts![0]!.r, ts: parts![0]!.ts, b: parts![0]!.b }).toEqual(ack.a);
      expect({ r: Number(parts![1]!.r), ts: parts![1]!.ts }).toEqual(ack.b);
    }
    return byTx.size;
  }

  it('keeps every acknowledged transaction, whole and with the same random and time values, across repeated kills', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'edge-d1-durable-'));
    host = await startChildHost(dataDir);
    const deployed = await childAdmin(host, 'POST', '/v1/workers', {
      manifest: { fileName: 'wrangler.toml', content: manifestFor('d1-writer', 'index.js', 'd1_databases = [{ binding = "DB", database_name = "durable" }]\n[limits]\ncpu_ms = 200') },
      modules: [{ path: 'index.js', content: WORKER }],
    });
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(201);
    expect((await call(host, '/setup')).text).toBe('ok');
    const acked = new Map<string, Acked>();
    let seq = 0;
    for (let round = 0; round < 4; round++) {
      const h = host;
      let stop = false;
      const clients = Array.from({ length: CLIENTS }, async (_, c) => {
        while (!stop) {
          const s = seq++;
          try {
            const r = await call(h, `/tx?c=${c}&s=${s}`);
            if (r.status === 200) acked.set(`${c}/${s}`, JSON.parse(r.text) as Acked);
          } catch {
            return; // the host died under this request: not acknowledged
          }
        }
      });
      await new Promise((r) => setTimeout(r, 400 + Math.floor(Math.random() * 900)));
      stop = true;
      await kill9(h);
      await Promise.all(clients);
      host = await startChildHost(dataDir);
      const present = await verify(host, acked, round);
      expect(present).toBeGreaterThanOrEqual(acked.size);
    }
    expect(acked.size).toBeGreaterThan(100);
    // The random values really are random (not a constant that would compare equal anyway).
    expect(new Set([...acked.values()].map((a) => a.a.r)).size).toBe(acked.size);
    // After all that, the database still takes writes and keeps them.
    expect((await call(host, `/tx?c=99&s=${seq}`)).status).toBe(200);
  }, 180_000);
});
