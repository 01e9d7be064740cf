#!/usr/bin/env node
// The `edge` executable. isolated-vm needs V8 started with --no-node-snapshot, which cannot be set from inside a
// running process, so without it this re-runs main.ts in a child node that has it, forwarding exit code and signals.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const mainPath = fileURLToPath(new URL('./main.ts', import.meta.url));
const args = process.argv.slice(2);
const hasFlag = process.execArgv.includes('--no-node-snapshot') || /(^|\s)--no-node-snapshot(\s|$)/.test(process.env.NODE_OPTIONS ?? '');

if (hasFlag) {
  const { runCliAndExit } = await import('./main.ts');
  await runCliAndExit(process.argv);
} else {
  const child = spawn(process.execPath, ['--no-node-snapshot', '--disable-warning=ExperimentalWarning', mainPath, ...args], { stdio: 'inherit' });
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, forward);
  child.on('error', (err) => {
    process.stderr.write(`error E_INTERNAL: cannot start ${process.execPath}: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      // Die of the same signal, so that whoever started `edge` sees what really happened.
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.off(s, forward);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
}
