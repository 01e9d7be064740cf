// Shutdown on SIGINT/SIGTERM for long-running commands (serve, dev, tail).

/**
 * Resolves on the first SIGINT or SIGTERM. Later signals are swallowed while the caller closes: with the `edge.mjs`
 * shim, one Ctrl-C reaches this process twice (from the terminal and forwarded by the shim), and the second must
 * not cut a clean close short. `forceAfterMs` bounds how long a close may take before the process exits anyway.
 */
export function waitForShutdownSignal(options: { forceAfterMs?: number } = {}): Promise<NodeJS.Signals> {
  return new Promise((resolvePromise) => {
    let received: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) return;
      received = signal;
      if (options.forceAfterMs !== undefined) {
        setTimeout(() => {
          process.stderr.write(`still closing after ${options.forceAfterMs} ms; exiting anyway\n`);
          process.exit(1);
        }, options.forceAfterMs).unref();
      }
      resolvePromise(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
