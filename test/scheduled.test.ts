// Scheduled handlers and cron triggers on a real host: a trigger firing on schedule (the scheduler's clock is
// moved next to a minute boundary instead of waiting for one), rescheduling on redeploy and delete, the
// controller a handler sees, errors and limits reaching tail, and triggering by hand (admin API, CLI, /__scheduled).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';
import { runCli } from '../host/cli/main.ts';
import { CronScheduler } from '../host/runtime/scheduler.ts';
import type { ScheduledEventInit, ScheduledOutcome, TailEvent } from '../host/runtime/worker-types.ts';

const MINUTE = 60_000;

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const recorder = `export default {
  async scheduled(controller, env, ctx) {
    console.log(JSON.stringify({ worker: env.TAG, type: controller.type, cron: controller.cron, scheduledTime: controller.scheduledTime,
      proto: Object.prototype.toString.call(controller), noRetry: typeof controller.noRetry }));
  },
  fetch() { return new Response('http too'); },
};`;

function withCrons(name: string, crons: string[], tag: string, extra = ''): string {
  return manifestFor(name, 'index.js', `[vars]\nTAG = "${tag}"\n[triggers]\ncrons = ${JSON.stringify(crons)}\n${extra}`);
}

describe('cron triggers', () => {
  let t: TestHost;
  const events: TailEvent[] = [];
  /** The scheduler's clock runs this far ahead of the real one. */
  let offset = 0;
  beforeAll(async () => {
    t = await startTestHost({ clock: () => Date.now() + offset });
    t.host.logs.subscribeAll((e) => events.push(e));
  });
  afterAll(async () => {
    await t.close();
  });

  /** Moves the scheduler's clock to `leadMs` before the next minute boundary; returns that boundary (its time). */
  function standBeforeMinute(leadMs: number): number {
    const real = Date.now();
    const boundary = (Math.floor(real / MINUTE) + 2) * MINUTE;
    offset = boundary - leadMs - real;
    return boundary;
  }

  const recorded = (tag: string) =>
    events.filter((e) => e.kind === 'console' && e.message.includes(`"worker":"${tag}"`)).map((e) => JSON.parse(e.message) as Record<string, unknown>);

  it('fires a * * * * * trigger at the minute boundary with the controller Workers hands over', async () => {
    const due = standBeforeMinute(2500);
    expect((await t.deploy('cron-a', { toml: withCrons('cron-a', ['* * * * *', '0 0 1 1 *'], 'a'), modules: { 'index.js': recorder } })).status).toBe(201);
    expect(t.host.scheduler.upcoming('cron-a')).toEqual([
      { cron: '* * * * *', at: due },
      { cron: '0 0 1 1 *', at: Date.UTC(new Date(due).getUTCFullYear() + 1, 0, 1) },
    ]);
    await until('the trigger to fire', () => recorded('a').length > 0);
    expect(recorded('a')).toEqual([{ worker: 'a', type: 'scheduled', cron: '* * * * *', scheduledTime: due, proto: '[object ScheduledController]', noRetry: 'function' }]);
    const run = events.find((e) => e.worker === 'cron-a' && e.kind === 'request' && e.message.startsWith('scheduled'));
    expect(run?.level).toBe('info');
    expect(run?.message).toContain(`scheduled "* * * * *" due ${new Date(due).toISOString()}: ok`);
    // The next run is a minute later.
    expect(t.host.scheduler.upcoming('cron-a')[0]).toEqual({ cron: '* * * * *', at: due + MINUTE });
  });

  it('reschedules when a version is activated or rolled back, and stops when the worker is deleted', async () => {
    const due = standBeforeMinute(3000);
    await t.deploy('cron-b', { toml: withCrons('cron-b', ['* * * * *'], 'b1'), modules: { 'index.js': recorder } });
    await t.deploy('cron-b', { toml: withCrons('cron-b', ['* * * * *'], 'b2'), modules: { 'index.js': recorder } });
    await t.deploy('cron-c', { toml: withCrons('cron-c', ['* * * * *'], 'c'), modules: { 'index.js': recorder } });
    await t.deploy('cron-d', { toml: withCrons('cron-d', ['*/5 * * * *'], 'd1'), modules: { 'index.js': recorder } });
    await t.deploy('cron-d', { toml: withCrons('cron-d', ['0 12 * * *'], 'd2'), modules: { 'index.js': recorder } });
    expect(t.host.scheduler.upcoming('cron-d').map((u) => u.cron)).toEqual(['0 12 * * *']);
    expect((await t.admin('POST', '/v1/workers/cron-d/rollback')).status).toBe(200);
    expect(t.host.scheduler.upcoming('cron-d').map((u) => u.cron)).toEqual(['*/5 * * * *']);
    expect((await t.admin('DELETE', '/v1/workers/cron-c')).status).toBe(200);
    expect(t.host.scheduler.upcoming('cron-c')).toEqual([]);
    await until('the redeployed trigger to fire', () => recorded('b2').length > 0);
    await new Promise((r) => setTimeout(r, 300));
    expect(recorded('b2').map((r) => r.scheduledTime)).toEqual([due]);
    expect(recorded('b1')).toEqual([]);
    expect(recorded('c')).toEqual([]);
  });

  it('arms the triggers of the stored active versions again when the host restarts', async () => {
    await t.restart();
    expect(t.host.scheduler.upcoming('cron-d').map((u) => u.cron)).toEqual(['*/5 * * * *']);
    expect(t.host.scheduler.upcoming('cron-b').map((u) => u.cron)).toEqual(['* * * * *']);
    expect(t.host.scheduler.upcoming('cron-c')).toEqual([]);
  });
});

describe('scheduled handlers', () => {
  let t: TestHost;
  const events: TailEvent[] = [];
  beforeAll(async () => {
    t = await startTestHost();
    t.host.logs.subscribeAll((e) => events.push(e));
  });
  afterAll(async () => {
    await t.close();
  });

  const trigger = (name: string, body: unknown = {}) => t.admin('POST', `/v1/workers/${name}/scheduled`, body);

  it('runs by hand through the admin API, with ctx.waitUntil work inside the run, and noRetry()', async () => {
    await t.deploy('manual', {
      toml: manifestFor('manual', 'index.js', '[triggers]\ncrons = ["*/10 * * * *"]'),
      modules: {
        'index.js': `export default { scheduled(controller, env, ctx) {
          ctx.waitUntil(new Promise((r) => setTimeout(r, 50)).then(() => console.log('later', controller.cron, controller.scheduledTime)));
        } };`,
      },
    });
    const r = await trigger('manual', { scheduledTime: 1_700_000_000_000 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ worker: 'manual', cron: '*/10 * * * *', scheduledTime: 1_700_000_000_000, outcome: 'ok', noRetry: false });
    // The run ended after its waitUntil work, which logged first.
    const mine = events.filter((e) => e.worker === 'manual');
    expect(mine.map((e) => e.kind)).toEqual(['console', 'request']);
    expect(mine[0]!.message).toBe('later */10 * * * * 1700000000000');

    const nr = await trigger('manual', { cron: 'no retry' });
    expect(nr.body.error.code).toBe('E_CRON_INVALID');
    await t.deploy('manual2', { modules: { 'index.js': `export default { scheduled(c) { c.noRetry(); } };` } });
    const second = await trigger('manual2', { cron: '5 4 * * sun' });
    expect(second.body).toMatchObject({ cron: '5 4 * * sun', outcome: 'ok', noRetry: true });
    expect(Math.abs(second.body.scheduledTime - Date.now())).toBeLessThan(10_000);
  });

  it('reports exceptions and limit breaches of a scheduled handler to tail', async () => {
    await t.deploy('throws', { modules: { 'index.js': `export default { async scheduled() { await null; throw new RangeError('cron broke'); } };` } });
    const r = await trigger('throws');
    expect(r.body).toMatchObject({ outcome: 'exception', code: 'E_WORKER_EXCEPTION', cron: '' });
    const ex = events.find((e) => e.worker === 'throws' && e.kind === 'exception');
    expect(ex?.message).toBe('Uncaught RangeError: cron broke');
    expect(ex?.stack).toContain('index.js');
    expect(events.find((e) => e.worker === 'throws' && e.kind === 'request')).toMatchObject({ level: 'error', code: 'E_WORKER_EXCEPTION' });

    await t.deploy('spins', { toml: manifestFor('spins', 'index.js', '[limits]\ncpu_ms = 50'), modules: { 'index.js': `export default { scheduled() { for (;;) {} } };` } });
    const spin = await trigger('spins');
    expect(spin.body).toMatchObject({ outcome: 'exceededLimit', code: 'E_CPU_LIMIT' });
    expect(events.find((e) => e.worker === 'spins' && e.kind === 'limit')?.code).toBe('E_CPU_LIMIT');

    await t.deploy('hangs', { toml: manifestFor('hangs', 'index.js', '[limits]\nwall_ms = 200'), modules: { 'index.js': `export default { scheduled(c, env, ctx) { ctx.waitUntil(new Promise(() => {})); } };` } });
    expect((await trigger('hangs')).body).toMatchObject({ outcome: 'exceededLimit', code: 'E_WALL_LIMIT' });
    expect(events.find((e) => e.worker === 'hangs' && e.kind === 'limit')?.code).toBe('E_WALL_LIMIT');
  });

  it('accepts a worker with only a scheduled handler, which answers HTTP with a clear error', async () => {
    expect((await t.deploy('only-cron', { modules: { 'index.js': `export default { scheduled() {} };` } })).status).toBe(201);
    const res = await t.get('only-cron');
    expect(res.status).toBe(501);
    expect(res.headers['x-edge-error']).toBe('E_NO_FETCH_HANDLER');
    expect(res.text).toMatch(/no fetch handler/);

    await t.deploy('only-http', { modules: { 'index.js': `export default { fetch() { return new Response('x'); } };` } });
    expect((await trigger('only-http')).body).toMatchObject({ outcome: 'noHandler', code: 'E_NO_SCHEDULED_HANDLER' });

    const neither = await t.deploy('neither', { modules: { 'index.js': `export default { hello() {} };` } });
    expect(neither.body.error.code).toBe('E_NO_FETCH_HANDLER');
    expect(neither.body.error.message).toMatch(/scheduled\(controller, env, ctx\)/);

    const unknown = await trigger('nobody');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('E_WORKER_NOT_FOUND');
    expect((await trigger('only-cron', { cron: 'every minute' })).body.error.code).toBe('E_CRON_INVALID');
  });

  it('triggers by hand from the CLI: edge trigger <worker> --cron', async () => {
    await t.deploy('cli-cron', { modules: { 'index.js': `export default { scheduled(c) { console.log('cli ran', c.cron); if (c.cron === '0 0 * * *') throw new Error('midnight'); } };` } });
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    let ok: number;
    let failed: number;
    try {
      const args = (...rest: string[]) => ['node', 'edge', 'trigger', 'cli-cron', '--admin-url', t.host.adminUrl, '--token', t.host.adminToken, ...rest];
      ok = await runCli(args('--cron', '*/15 * * * *'));
      failed = await runCli(args('--cron', '0 0 * * *'));
    } finally {
      spy.mockRestore();
      errSpy.mockRestore();
    }
    expect(ok).toBe(0);
    expect(failed).toBe(1);
    const text = out.join('');
    expect(text).toMatch(/cli-cron: scheduled "\*\/15 \* \* \* \*" at \S+ ran: ok/);
    expect(text).toMatch(/E_WORKER_EXCEPTION/);
    expect(events.filter((e) => e.worker === 'cli-cron' && e.kind === 'console').map((e) => e.message)).toEqual(['cli ran */15 * * * *', 'cli ran 0 0 * * *']);
  });

  it('leaves /__scheduled to the worker outside of edge dev', async () => {
    await t.deploy('plain', { modules: { 'index.js': `export default { fetch(req) { return new Response(new URL(req.url).pathname); }, scheduled() { throw new Error('not here'); } };` } });
    expect((await t.get('plain', '/__scheduled?cron=*+*+*+*+*')).text).toBe('/__scheduled');
  });
});

describe('edge dev: GET /__scheduled', () => {
  let t: TestHost;
  const events: TailEvent[] = [];
  beforeAll(async () => {
    t = await startTestHost({ dev: true });
    t.host.logs.subscribeAll((e) => events.push(e));
  });
  afterAll(async () => {
    await t.close();
  });

  it('runs the scheduled handler with the cron and time given, as wrangler dev --test-scheduled', async () => {
    await t.deploy('dev-cron', { modules: { 'index.js': `export default { scheduled(c) { console.log(c.cron, c.scheduledTime); if (c.cron === 'x x') throw new Error('bad'); }, fetch() { return new Response('http'); } };` } });
    const r = await t.get('dev-cron', '/__scheduled?cron=*/5+*+*+*+*&time=1700000000000');
    expect(r.status).toBe(200);
    expect(r.text).toBe('Ran scheduled event\n');
    expect(events.find((e) => e.worker === 'dev-cron' && e.kind === 'console')?.message).toBe('*/5 * * * * 1700000000000');
    const bad = await t.get('dev-cron', '/__scheduled?cron=x+x');
    expect(bad.status).toBe(500);
    expect(bad.headers['x-edge-error']).toBe('E_WORKER_EXCEPTION');
    expect((await t.get('dev-cron', '/')).text).toBe('http');
  });
});

describe('CronScheduler (fake timers)', () => {
  it('skips a firing while the previous run of the same trigger is still going, and logs it', async () => {
    const start = Date.UTC(2026, 0, 1, 12, 0, 59, 900);
    vi.useFakeTimers({ now: start, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const runs: Array<{ event: ScheduledEventInit; finish(): void }> = [];
      const logs: string[] = [];
      const scheduler = new CronScheduler({
        run: (_worker, event) =>
          new Promise<ScheduledOutcome>((resolve) => {
            runs.push({ event, finish: () => resolve({ outcome: 'ok' } as ScheduledOutcome) });
          }),
        log: (_worker, _version, level, message) => logs.push(`${level} ${message}`),
      });
      scheduler.set('slow', 'v1', ['* * * * *', '*/2 * * * *']);
      await vi.advanceTimersByTimeAsync(100);
      expect(runs.map((r) => [r.event.cron, r.event.scheduledTime])).toEqual([['* * * * *', Date.UTC(2026, 0, 1, 12, 1)]]);
      // 12:02: the first run of * * * * * is still going, so that firing is skipped; */2 is its own trigger.
      await vi.advanceTimersByTimeAsync(60_000);
      expect(runs.map((r) => r.event.cron)).toEqual(['* * * * *', '*/2 * * * *']);
      expect(logs).toEqual([`warn scheduled "* * * * *" due 2026-01-01T12:02:00.000Z skipped: the previous run of this trigger is still going.`]);
      runs[0]!.finish();
      await vi.advanceTimersByTimeAsync(60_000);
      expect(runs.map((r) => [r.event.cron, r.event.scheduledTime])).toEqual([
        ['* * * * *', Date.UTC(2026, 0, 1, 12, 1)],
        ['*/2 * * * *', Date.UTC(2026, 0, 1, 12, 2)],
        ['* * * * *', Date.UTC(2026, 0, 1, 12, 3)],
      ]);
      // Removed (the worker was deleted): nothing fires any more; close() waits for the runs still going.
      scheduler.remove('slow');
      await vi.advanceTimersByTimeAsync(10 * 60_000);
      expect(runs).toHaveLength(3);
      let closed = false;
      const closing = scheduler.close().then(() => (closed = true));
      await vi.advanceTimersByTimeAsync(0);
      expect(closed).toBe(false);
      for (const r of runs) r.finish();
      await closing;
      expect(closed).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('cron triggers on the real clock', () => {
  let t: TestHost;
  const events: TailEvent[] = [];
  beforeAll(async () => {
    t = await startTestHost();
    t.host.logs.subscribeAll((e) => events.push(e));
  });
  afterAll(async () => {
    await t.close();
  });

  // Waits for the next real minute boundary: at most ~60 s.
  it('fires * * * * * at the next minute on the real clock', async () => {
    await t.deploy('real-cron', { toml: withCrons('real-cron', ['* * * * *'], 'real'), modules: { 'index.js': recorder } });
    const due = (Math.floor(Date.now() / MINUTE) + 1) * MINUTE;
    const fired = () => events.filter((e) => e.worker === 'real-cron' && e.kind === 'console').map((e) => JSON.parse(e.message).scheduledTime as number);
    await until('the real minute', () => fired().length > 0, due - Date.now() + 5_000);
    expect(fired()).toEqual([due]);
    expect(Date.now()).toBeGreaterThanOrEqual(due);
  }, 70_000);
});
