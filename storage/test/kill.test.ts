// Durability under SIGKILL: a child process writes through the KV engine from many concurrent writers while the
// test kills it at random moments; after each kill the store is reopened and every acknowledged write must be
// there with its exact bytes (no damaged value is ever returned), and acknowledged deletes must stay deleted.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KvEngine } from '../kv/kv-engine.ts';
import { BlobEngine } from '../blob/blob-engine.ts';
import { valueFor } from './kv-values.ts';

const NODE = join(import.meta.dirname, '../../node_modules/.bin/node');
const WRITER = join(import.meta.dirname, 'kv-writer.ts');
const R2_WRITER = join(import.meta.dirname, 'r2-writer.ts');

let dir = '';
let r2Dir = '';
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  if (r2Dir) await rm(r2Dir, { recursive: true, force: true });
});

function runAndKill(round: number, killAfterMs: number, writer = WRITER, into = dir): Promise<{ acked: string[]; deleted: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, ['--no-warnings', writer, into, String(round)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (!out.includes('READY') && (out + d).includes('READY')) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited with ${code}: ${err}`));
      // A line cut short by the kill was not fully acknowledged to us: only whole lines count.
      const lines = out.split('\n').slice(0, -1);
      resolve({
        acked: lines.filter((l) => l.startsWith('ACK ')).map((l) => l.slice(4)),
        deleted: lines.filter((l) => l.startsWith('DEL ')).map((l) => l.slice(4)),
      });
    });
  });
}

describe('storage durability under SIGKILL', () => {
  it('keeps every acknowledged write across repeated kills at random moments', async () => {
    dir = await mkdtemp(join(tmpdir(), 'edge-kill-'));
    const acked = new Set<string>();
    const deleted = new Set<string>();
    const lastSeq = new Map<number, string>();
    const inFlightDelete = new Set<string>();
    // At least six kills; more on a busy machine until enough writes were acknowledged and a compaction ran (so that
    // kills also land while compacting), up to twenty.
    let compacted = false;
    for (let round = 0; round < 20 && (round < 6 || acked.size <= 300 || !compacted); round++) {
      // Every third round lives longer, so that a compaction started under load gets to finish before the kill.
      const r = await runAndKill(round, round % 3 === 2 ? 1500 + Math.floor(Math.random() * 1500) : 150 + Math.floor(Math.random() * 600));
      for (const k of r.acked) acked.add(k);
      for (const k of r.deleted) deleted.add(k);
      for (const k of r.acked) {
        const m = /^r(\d+)-w(\d+)-(\d+)$/.exec(k)!;
        lastSeq.set(Number(m[2]), `${m[1]}:${m[3]}`);
      }
      // A writer deletes every key with seq % 7 === 3 right after acknowledging it: its last such key may be gone.
      for (const [w, last] of lastSeq) {
        const [lr, ls] = last.split(':').map(Number);
        if (lr === round && ls! % 7 === 3) inFlightDelete.add(`r${lr}-w${w}-${ls}`);
      }
      const torn: string[] = [];
      const kv = await KvEngine.open(dir, { segmentBytes: 256 * 1024, onTornTail: (t) => torn.push(t.reason) });
      try {
        for (const key of acked) {
          const got = await kv.get('ns', key);
          if (deleted.has(key)) {
            expect(got, `${key} was deleted`).toBeNull();
            continue;
          }
          // Its delete may have been in flight at the kill (acknowledged writes then a delete not yet acknowledged).
          if (got === null && inFlightDelete.has(key)) continue;
          expect(got, `acknowledged ${key} is missing after kill ${round}`).not.toBeNull();
          expect(Buffer.from(got!.value).equals(valueFor(key)), `${key} has damaged bytes`).toBe(true);
        }
        // Whatever else is there (writes in flight at the kill) is whole, never damaged.
        let cursor: string | undefined;
        do {
          const page = await kv.list('ns', cursor ? { cursor } : {});
          for (const { name } of page.keys) {
            const got = await kv.get('ns', name);
            if (name.startsWith('last-w')) continue;
            expect(Buffer.from(got!.value).equals(valueFor(name)), `${name} has damaged bytes`).toBe(true);
          }
          cursor = page.listComplete ? undefined : page.cursor;
        } while (cursor);
        // Each writer's counter is its last acknowledged write, or the one after it that was in flight.
        for (const [w, last] of lastSeq) {
          const got = new TextDecoder().decode((await kv.get('ns', `last-w${w}`))!.value);
          const [gr, gs] = got.split(':').map(Number);
          const [lr, ls] = last.split(':').map(Number);
          expect(gr! > lr! || (gr === lr && gs! >= ls!), `last-w${w} = ${got}, acknowledged ${last}`).toBe(true);
        }
        if ((await readdir(dir)).some((f) => f.endsWith('.compact'))) compacted = true;
      } finally {
        await kv.close();
      }
    }
    expect(acked.size).toBeGreaterThan(300);
    // Compactions ran during the rounds (and some were cut by the kills).
    expect(compacted).toBe(true);
  }, 120_000);

  it('R2: keeps every acknowledged object, whole, across repeated kills; no orphan files are left', async () => {
    r2Dir = await mkdtemp(join(tmpdir(), 'edge-kill-r2-'));
    const acked = new Set<string>();
    const deleted = new Set<string>();
    for (let round = 0; round < 15 && (round < 5 || acked.size <= 50); round++) {
      const r = await runAndKill(round, 150 + Math.floor(Math.random() * 500), R2_WRITER, r2Dir);
      for (const k of r.acked) acked.add(k);
      for (const k of r.deleted) deleted.add(k);
      const r2 = await BlobEngine.open(r2Dir, { segmentBytes: 64 * 1024 });
      try {
        for (const key of acked) {
          const got = await r2.get('bucket', key);
          if (deleted.has(key)) {
            expect(got, `${key} was deleted`).toBeNull();
            continue;
          }
          // seq % 5 === 2 keys are deleted right after their ACK: the last one may have been in flight.
          if (got === null && Number(key.split('-')[2]) % 5 === 2) continue;
          expect(got, `acknowledged ${key} is missing after kill ${round}`).not.toBeNull();
          const parts: Buffer[] = [];
          for await (const c of got!.body!) parts.push(Buffer.from(c as Uint8Array));
          expect(Buffer.concat(parts).equals(valueFor(key)), `${key} has damaged bytes`).toBe(true);
        }
        // Only files some object names remain: one per live object (single-part puts).
        let files = 0;
        for (const sub of await readdir(join(r2Dir, 'objects'))) files += (await readdir(join(r2Dir, 'objects', sub))).length;
        expect(files).toBe(r2.stats.objects);
      } finally {
        await r2.close();
      }
    }
    expect(acked.size).toBeGreaterThan(50);
  }, 120_000);
});
