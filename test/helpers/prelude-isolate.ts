// Test harness: a real isolated-vm isolate with the built prelude evaluated and wired to fake host functions,
// so that the in-isolate Web APIs can be tested exactly as guests see them.
import ivm from 'isolated-vm';
import { buildPrelude } from '../../host/runtime/js/prelude-bundle.ts';
import { edgeInitOptions, randomBytes, urlParse } from '../../host/runtime/isolate-pool.ts';
import { PRELUDE_CAPS } from '../../host/core/limits.ts';

export interface PreludeIsolate {
  isolate: ivm.Isolate;
  context: ivm.Context;
  logs: Array<{ level: string; text: string }>;
  /** Runs `body` as an async function body inside the isolate; its return value comes back JSON-copied. */
  run<T = unknown>(body: string): Promise<T>;
  dispose(): void;
}

/** The host's URL parser, as the pool hands it to isolates. */
export const hostUrlParse = urlParse;

/** `codec: false`: without the host's UTF-8 codec module, as where V8 has no stringref (the prelude's own encoder). */
export async function createPreludeIsolate(options: { memoryMb?: number; codec?: boolean } = {}): Promise<PreludeIsolate> {
  const memoryMb = options.memoryMb ?? 64;
  const isolate = new ivm.Isolate({ memoryLimit: memoryMb });
  const context = await isolate.createContext();
  const prelude = await buildPrelude();
  await context.eval(prelude);
  const logs: Array<{ level: string; text: string }> = [];
  const init = await context.global.get('__edgeInit', { reference: true });
  await init.apply(
    undefined,
    [
      new ivm.Reference((level: string, text: string) => void logs.push({ level: String(level), text: String(text) })),
      new ivm.Reference(randomBytes),
      new ivm.Reference(hostUrlParse),
      new ivm.Reference(() => undefined),
      new ivm.Reference(() => ({ x: 'no host invoke in the prelude harness' })),
      new ivm.Reference(async () => ({ x: 'no host wait in the prelude harness' })),
      new ivm.ExternalCopy(options.codec === false ? { memoryBytes: memoryMb * 1024 * 1024, caps: PRELUDE_CAPS } : edgeInitOptions(memoryMb)).copyInto(),
    ],
    { result: { reference: true } },
  );
  return {
    isolate,
    context,
    logs,
    async run<T>(body: string): Promise<T> {
      const json = await context.eval(`(async () => { ${body} })().then((v) => JSON.stringify(v === undefined ? null : v))`, {
        promise: true,
        timeout: 5000,
      });
      return JSON.parse(json as string) as T;
    },
    dispose() {
      if (!isolate.isDisposed) isolate.dispose();
    },
  };
}
