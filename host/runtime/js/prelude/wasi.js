// WASI 0.2 for components in the isolate: wasi:io, wasi:clocks, wasi:random, wasi:cli, wasi:filesystem (no
// preopens). What needs nothing from the host is @bytecodealliance/preview2-shim's browser build (streams, random,
// wall clock). Its cli module is not used: it makes console streams (a TextDecoder) when it is evaluated, before
// the prelude has installed TextDecoder in the snapshot. What blocks is ours: jco's glue is instantiated
// synchronously here, and the shim's pollables block by returning promises, which a synchronous import cannot wait
// for. A pollable here either is ready or is a timer, and waiting for a timer is a synchronous sleep in the host (the
// guest's thread blocks, as for any component import); streams over the host (bodies) are always ready and block
// in the read or write itself. stdout/stderr become lines of the worker's log (`edge tail`), environment is [vars].
import { wallClock } from '@bytecodealliance/preview2-shim/clocks';
import { error as ioError, inputStreamCreate, ioErrorCreate, outputStreamCreate, poll as shimPoll, pollableCreate, streams } from '@bytecodealliance/preview2-shim/io';
import { insecure, insecureSeed, random } from '@bytecodealliance/preview2-shim/random';

export { inputStreamCreate, ioErrorCreate, outputStreamCreate, pollableCreate };

/**
 * What this module and wasi-http.js need of the eager prelude, passed in by component.js when it loads them on a
 * component's first use (a lazily loaded prelude module imports no eager one: see events.js).
 * @typedef {{ invoke: (op: any, arg: unknown) => any, log: (level: string, text: string) => void, TextDecoder: typeof import('./encoding.js').TextDecoder, TextEncoder: typeof import('./encoding.js').TextEncoder, URL: typeof import('./url.js').URL }} WasiHost
 */
/** @type {WasiHost | null} */
let wasiHostRef = null;

/** @param {WasiHost} host */
export function setWasiHost(host) {
  wasiHostRef = host;
}

/** @returns {WasiHost} */
export function wasiHost() {
  if (wasiHostRef === null) throw new Error('WASI: the host is not connected');
  return wasiHostRef;
}
export const { Pollable } = shimPoll;
export const { InputStream, OutputStream } = streams;
export const IoError = ioError.Error;

/** The longest a component may sleep in one wait: its request's wall-clock limit ends it anyway. */
const MAX_SLEEP_MS = 30_000;

/** @type {WeakMap<object, bigint>} Pollables that become ready at a monotonic-clock instant (ns). */
const deadlines = new WeakMap();

// The isolate's clock is the wall clock in milliseconds (performance.now() too, as in Workers).
function monotonicNow() {
  return BigInt(Date.now()) * 1_000_000n;
}

/** @param {bigint} at */
function timerPollable(at) {
  const p = pollableCreate({ ready: () => monotonicNow() >= at, wait: () => Promise.resolve() });
  deadlines.set(p, at);
  return p;
}

/** Blocks the guest's thread until the monotonic clock reaches `at`, in the host. @param {bigint} at */
function sleepUntil(at) {
  for (;;) {
    const left = at - monotonicNow();
    if (left <= 0n) return;
    const ms = Math.min(MAX_SLEEP_MS, Math.ceil(Number(left) / 1e6));
    const r = wasiHost().invoke('wasi.sleep', { ms });
    if (r && typeof r === 'object' && 'x' in r) throw new Error(`wasi:io/poll: ${String(r.x)}`);
  }
}

/** wasi:io/poll.poll: the indices of the ready pollables, waiting for the earliest timer when none is. @param {any[]} list */
function pollList(list) {
  if (list.length === 0) throw new Error('wasi:io/poll.poll: the list is empty');
  for (;;) {
    const ready = [];
    /** @type {bigint | null} */
    let earliest = null;
    for (let i = 0; i < list.length; i++) {
      if (list[i].ready()) ready.push(i);
      else {
        const at = deadlines.get(list[i]);
        if (at !== undefined && (earliest === null || at < earliest)) earliest = at;
      }
    }
    if (ready.length > 0) return new Uint32Array(ready);
    if (earliest === null) throw new Error('wasi:io/poll.poll: nothing in the list can become ready (this would wait forever)');
    sleepUntil(earliest);
  }
}

// The shim's block() returns a promise (for JSPI); the synchronous glue ignores it, so ours waits here.
/** @this {any} */
Pollable.prototype.block = function block() {
  pollList([this]);
};

const monotonicClock = {
  resolution: () => 1_000_000n,
  now: monotonicNow,
  /** @param {bigint} instant */
  subscribeInstant: (instant) => timerPollable(instant),
  /** @param {bigint} duration */
  subscribeDuration: (duration) => timerPollable(monotonicNow() + duration),
};

/**
 * A byte sink that gives whole lines to `emit`. A flush does not cut a line (toolchains flush after the text and
 * again after its newline); what is left without a newline goes out when the request ends (`end`) or the stream is
 * dropped.
 * @param {(line: string) => void} emit
 */
function lineSink(emit) {
  const decoder = new (wasiHost().TextDecoder)();
  let pending = '';
  const end = () => {
    pending += decoder.decode();
    if (pending !== '') emit(pending);
    pending = '';
  };
  return {
    /** @param {Uint8Array} bytes */
    write(bytes) {
      pending += decoder.decode(bytes, { stream: true });
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) emit(line.endsWith('\r') ? line.slice(0, -1) : line);
      // A line that never ends still reaches the log, in pieces.
      if (pending.length > 16 * 1024) end();
    },
    flush() {},
    blockingFlush() {},
    drop: end,
    end,
  };
}

/** wasi:cli/exit: ends the request (the host answers 500 and the exit goes to the log); the instance is then discarded. */
class ComponentExit extends Error {
  /** @param {number} code */
  constructor(code) {
    super(`the component called wasi:cli/exit with status ${code}`);
    this.name = 'ComponentExit';
    this.code = code;
  }
}

const noTerminal = () => undefined;

class NoDescriptor {
  constructor() {
    throw new TypeError('wasi:filesystem: this host gives components no files (no preopened directories)');
  }
}

/**
 * The WASI part of a component's import object, keyed as jco's glue reads it (without version). The deploy accepts
 * these and wasi-http.js's (host/deploy/component.ts, PROVIDED_WASI_INTERFACES; a test checks the lists agree).
 * `endOutput` sends what stdout and stderr hold without a newline (at the end of each request).
 * @param {{ environment: Record<string, string> }} options
 * @returns {{ imports: Record<string, Record<string, unknown>>, endOutput(): void }}
 */
export function wasiImports(options) {
  const env = Object.entries(options.environment);
  const stdin = inputStreamCreate({
    blockingRead() {
      throw { tag: 'closed' };
    },
    subscribe: () => pollableCreate(),
  });
  const out = lineSink((line) => wasiHost().log('log', line));
  const err = lineSink((line) => wasiHost().log('error', line));
  const stdout = outputStreamCreate(out);
  const stderr = outputStreamCreate(err);
  const endOutput = () => {
    out.end();
    err.end();
  };
  const imports = {
    'wasi:cli/environment': { getEnvironment: () => env.map(([k, v]) => [k, v]), getArguments: () => [], initialCwd: () => undefined },
    'wasi:cli/exit': {
      /** @param {{ tag: string }} status */
      exit(status) {
        throw new ComponentExit(status.tag === 'err' ? 1 : 0);
      },
      /** @param {number} code */
      exitWithCode(code) {
        throw new ComponentExit(code);
      },
    },
    'wasi:cli/stdin': { getStdin: () => stdin },
    'wasi:cli/stdout': { getStdout: () => stdout },
    'wasi:cli/stderr': { getStderr: () => stderr },
    'wasi:cli/terminal-input': { TerminalInput: class TerminalInput {} },
    'wasi:cli/terminal-output': { TerminalOutput: class TerminalOutput {} },
    'wasi:cli/terminal-stdin': { getTerminalStdin: noTerminal },
    'wasi:cli/terminal-stdout': { getTerminalStdout: noTerminal },
    'wasi:cli/terminal-stderr': { getTerminalStderr: noTerminal },
    'wasi:clocks/monotonic-clock': monotonicClock,
    'wasi:clocks/wall-clock': wallClock,
    'wasi:filesystem/preopens': { getDirectories: () => [] },
    // No descriptor can exist without a preopen, so these are never called; the classes must exist for the glue.
    'wasi:filesystem/types': { Descriptor: NoDescriptor, DirectoryEntryStream: NoDescriptor, filesystemErrorCode: () => undefined },
    'wasi:io/error': { Error: IoError },
    'wasi:io/poll': { Pollable, poll: pollList },
    'wasi:io/streams': { InputStream, OutputStream },
    'wasi:random/random': random,
    'wasi:random/insecure': insecure,
    'wasi:random/insecure-seed': insecureSeed,
  };
  return { imports, endOutput };
}
