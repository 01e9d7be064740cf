// The progress line of `edge bench` on stderr: suite k of n, a bar for the current step, elapsed time. Written by
// hand (about 60 lines) rather than taking cli-progress: the bar shares stderr with the suites' log lines, which
// must clear and redraw it, and adding a dependency would touch package.json/package-lock.json that two other
// changes edit at the same time. When stderr is not a terminal no bar is drawn, only the log lines.

export interface Progress {
  /** Starts suite `name` (the k-th of the run). */
  suite(name: string): void;
  /** The current step of the suite and how far it is. */
  step(label: string, done: number, total: number): void;
  /** A log line above the bar. */
  log(line: string): void;
  /** Removes the bar. */
  done(): void;
}

const WIDTH = 24;

export function createProgress(suites: string[], stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  const t0 = performance.now();
  let index = 0;
  let current = '';
  let label = '';
  let fraction = 0;
  let counts = '';
  let shown = false;
  let lastDraw = 0;

  const clear = (): void => {
    if (tty && shown) stream.write('\r\x1b[2K');
    shown = false;
  };
  const draw = (force = false): void => {
    if (!tty) return;
    const now = performance.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    const filled = Math.round(fraction * WIDTH);
    const secs = Math.round((now - t0) / 1000);
    const elapsed = `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}`;
    const text = `[${index}/${suites.length}] ${current} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${counts} ${label} · ${elapsed}`;
    const cols = stream.columns ?? 120;
    stream.write(`\r\x1b[2K${text.slice(0, cols - 1)}`);
    shown = true;
  };

  return {
    suite(name) {
      index = Math.max(1, suites.indexOf(name) + 1);
      current = name;
      label = '';
      fraction = 0;
      counts = '';
      draw(true);
    },
    step(l, done, total) {
      label = l;
      fraction = total > 0 ? Math.min(1, done / total) : 0;
      counts = `${done}/${total}`;
      draw();
    },
    log(line) {
      clear();
      stream.write(`${line}\n`);
      draw(true);
    },
    done() {
      clear();
    },
  };
}
