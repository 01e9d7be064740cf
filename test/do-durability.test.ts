// Durable Objects under SIGKILL: the output gate holds every response until the writes made before it are durable,
// so a kill right after a response never loses the increment it acknowledged. Clients increment counters in several
// objects while the host is killed at random moments; after each restart every counter is at least the highest
// value it answered, and goes on from there.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { request } from './helpers/http.ts';
import { manifestFor } from './helpers/test-host.ts';
import { childAdmin, kill9, startChildHost, type ChildHost } from './helpers/child-host.ts';

const WORKER = `
export class Counter {
  constructor(state) { this.storage = state.storage; }
  async fetch(request) {
    if (new URL(request.url).pathname === '/get') return new Response(String((await this.storage.get('n')) ?? 0));
    const n = ((await this.storage.get('n')) ?? 0) + 1;
    this.storage.put('n', n);
    return new Response(String(n));
  }
}
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return env.COUNTERS.getByName(url.searchParams.get('o')).fetch('http://do' + url.pathname);
  },
};
`;

const OBJECTS = 4;
const CLIENTS = 12;

describe('Durable Object durability under SIGKILL', () => {
  let dataDir = '';
  let host: ChildHost | undefined;
  afterAll(async () => {
    if (host) await kill9(host);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const call = (h: ChildHost, path: string) => request(`${h.dataUrl}${path}`, { host: `do-writer.localhost:${h.port}` });

  it('never loses an increment it answered, across repeated kills right after responses', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'edge-do-durable-'));
    host = await startChildHost(dataDir);
    const deployed = await childAdmin(host, 'POST', '/v1/workers', {
      manifest: { fileName: 'wrangler.toml', content: manifestFor('do-writer', 'index.js', '[[durable_objects.bindings]]\nname = "COUNTERS"\nclass_name = "Counter"\n[[migrations]]\ntag = "v1"\nnew_classes = ["Counter"]') },
      modules: [{ path: 'index.js', content: WORKER }],
    });
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(201);
    const highest = new Array<number>(OBJECTS).fill(0);
    let answered = 0;
    for (let round = 0; round < 4; round++) {
      const h = host;
      let stop = false;
      const clients = Array.from({ length: CLIENTS }, async (_, c) => {
        for (let i = 0; !stop; i++) {
          const o = (c + i) % OBJECTS;
          try {
            const r = await call(h, `/inc?o=obj${o}`);
            if (r.status === 200) {
              highest[o] = Math.max(highest[o]!, Number(r.text));
              answered++;
            }
          } catch {
            return;
          }
        }
      });
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 900)));
      stop = true;
      await kill9(h);
      await Promise.all(clients);
      host = await startChildHost(dataDir);
      for (let o = 0; o < OBJECTS; o++) {
        const now = Number((await call(host, `/get?o=obj${o}`)).text);
        expect(now, `object ${o} after kill ${round}`).toBeGreaterThanOrEqual(highest[o]!);
        // Not more than the increments in flight at the kill could add.
        expect(now).toBeLessThanOrEqual(highest[o]! + CLIENTS);
        highest[o] = now;
      }
    }
    expect(answered).toBeGreaterThan(200);
    // And it goes on counting from there.
    expect(Number((await call(host, '/inc?o=obj0')).text)).toBe(highest[0]! + 1);
  }, 180_000);
});
