// Wall-clock timeouts for isolated-vm calls, rounded so that many calls share a deadline. isolated-vm gives every
// timed call a timer, kept until its deadline passes even when the call returned long before (it is only marked
// dead), on a thread that sleeps until the next deadline: at thousands of calls a second, each with its own deadline
// ~100 us after the last, that thread woke once per call (14% of the host's CPU under load, a thread of its own on a
// 2-core machine). Deadlines rounded up to the next multiple of DEADLINE_STEP_MS fall within one millisecond of each
// other, so the thread wakes a few times per step instead.

/** Calls whose deadlines fall in one step share its end (to the millisecond). */
const DEADLINE_STEP_MS = 10;

/** The timeout (ms) to give a call that may run `ms` milliseconds: at least `ms`, at most DEADLINE_STEP_MS + 1 more. */
export function sharedDeadlineMs(ms: number): number {
  const now = performance.now();
  const deadline = Math.ceil((now + ms) / DEADLINE_STEP_MS) * DEADLINE_STEP_MS;
  return Math.max(1, Math.ceil(deadline - now));
}
