// workerd, the side-by-side anchor, as the suites use it (bench/workerd.ts runs it): found once per run, or the
// reason it is skipped, with how to install it.
import { findWorkerd, startWorkerd, workerdColdStartSample, workerdRssPerWorker, WORKERD_INSTALL_HINT, type RunningWorkerd } from './workerd.ts';

export type WorkerdServer = RunningWorkerd;

export interface WorkerdApi {
  version: string;
  binary: string;
  coldStartNote: string;
  coldStartSample(): Promise<{ totalMs: number }>;
  start(workers: number): Promise<WorkerdServer>;
  rssPerWorker(n: number): Promise<{ mibPerWorker: number; rssOneMib: number; rssNMib: number }>;
}

/** workerd's API, or why it is not available (and how to get it). */
export function loadWorkerd(): WorkerdApi | { missing: string } {
  const found = findWorkerd();
  if ('missing' in found) return { missing: `workerd not found (${found.missing}); install it with \`${WORKERD_INSTALL_HINT}\` to get the side-by-side figures` };
  return {
    version: found.info.version,
    binary: found.info.binary,
    coldStartNote: 'workerdColdStartSample(): a new workerd process with one hello world worker, from spawn to the first response (workerd has no live deploy: a new process is its cold start)',
    coldStartSample: () => workerdColdStartSample(),
    start: (workers) => startWorkerd({ workers }),
    rssPerWorker: (n) => workerdRssPerWorker(n),
  };
}

/** ours / theirs, as text ("0.52x workerd"). */
export function ratioText(ours: number, theirs: number): string {
  return theirs > 0 ? `${(ours / theirs).toFixed(2)}x workerd` : 'n/a';
}
