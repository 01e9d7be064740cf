// Test support for AssemblyScript workers: transpiles a built component with jco and instantiates it in Node with
// JS implementations of the platform imports that record what the guest did (log lines, streamed chunks, dropped
// bodies), the way the host gives them: resources are JS classes, `result` errors are thrown `{ payload }` objects,
// options are `undefined` or the value, variants are `{ tag, val }`.

import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transpileComponent } from '../../host/build/component-tools.ts';
import { webAssembly, type WasmImports, type WasmInstance, type WasmMemory, type WasmModule } from '../../host/core/webassembly-api.ts';

export type BodyErrorValue = { tag: 'closed' } | { tag: 'too-large'; val: bigint } | { tag: 'io'; val: string };

export interface WitRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: IncomingBody | undefined;
}

export interface WitResponse {
  status: number;
  headers: [string, string][];
  body: { tag: 'empty' } | { tag: 'bytes'; val: Uint8Array } | { tag: 'streamed' };
}

/** A request body the guest reads in chunks; records the reads and whether the guest dropped it. */
export class IncomingBody {
  readonly reads: number[] = [];
  dropped = 0;
  private offset = 0;
  private readonly bytes: Uint8Array;
  private readonly failWith: BodyErrorValue | undefined;

  constructor(bytes: Uint8Array, failWith?: BodyErrorValue) {
    this.bytes = bytes;
    this.failWith = failWith;
  }

  read(max: number): Uint8Array | undefined {
    this.reads.push(max);
    if (this.failWith) throw Object.assign(new Error('body error'), { payload: this.failWith });
    if (this.offset >= this.bytes.length) return undefined;
    const chunk = this.bytes.slice(this.offset, this.offset + Math.min(max, 16 * 1024 + 7));
    this.offset += chunk.length;
    return chunk;
  }

  [Symbol.dispose](): void {
    this.dropped++;
  }
}

/** A streamed response body: the chunks the guest wrote. */
export class OutgoingBody {
  readonly chunks: Uint8Array[] = [];
  dropped = 0;
  closedAfter = Infinity;

  write(chunk: Uint8Array): void {
    if (this.chunks.length >= this.closedAfter) throw Object.assign(new Error('closed'), { payload: { tag: 'closed' } });
    this.chunks.push(chunk.slice());
  }

  [Symbol.dispose](): void {
    this.dropped++;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export interface PlatformRecorder {
  logs: { level: string; message: string }[];
  vars: Record<string, unknown>;
  begun: { status: number; headers: [string, string][]; body: OutgoingBody }[];
  /** Makes begin-response fail with this error. */
  beginError?: BodyErrorValue;
  /** Bodies begun from now on refuse writes (`closed`, the client went away) after so many chunks. */
  closeAfterChunks?: number;
}

export interface TestWorker {
  handle(request: WitRequest): WitResponse;
  recorder: PlatformRecorder;
  memory(): WasmMemory | undefined;
  dispose(): Promise<void>;
}

export function request(method: string, url: string, headers: [string, string][] = [], body?: Uint8Array | string, failWith?: BodyErrorValue): WitRequest {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  return { method, url, headers, body: bytes === undefined && !failWith ? undefined : new IncomingBody(bytes ?? new Uint8Array(0), failWith) };
}

export function bodyText(response: WitResponse): string {
  if (response.body.tag !== 'bytes') throw new Error(`response body is ${response.body.tag}, not bytes`);
  return Buffer.from(response.body.val).toString('utf8');
}

/** Transpiles `component` and instantiates it with recording platform imports. */
export async function instantiateWorker(component: Uint8Array, vars: Record<string, unknown> = {}): Promise<TestWorker> {
  const dir = await mkdtemp(join(tmpdir(), 'edge-as-worker-'));
  const transpiled = await transpileComponent(component, 'worker');
  const out = join(dir, 'out');
  await mkdir(out, { recursive: true });
  for (const [name, bytes] of Object.entries(transpiled.files)) await writeFile(join(out, name), bytes);
  const recorder: PlatformRecorder = { logs: [], vars, begun: [] };
  const imports = {
    'edge:platform/log': {
      write(level: string, message: string) {
        recorder.logs.push({ level, message });
      },
    },
    'edge:platform/vars': {
      get(name: string): string | undefined {
        return name in recorder.vars ? JSON.stringify(recorder.vars[name]) : undefined;
      },
      names(): string[] {
        return Object.keys(recorder.vars).sort();
      },
    },
    'edge:platform/http-types': {
      IncomingBody,
      OutgoingBody,
      beginResponse(status: number, headers: [string, string][]): OutgoingBody {
        if (recorder.beginError) throw Object.assign(new Error('begin failed'), { payload: recorder.beginError });
        const body = new OutgoingBody();
        if (recorder.closeAfterChunks !== undefined) body.closedAfter = recorder.closeAfterChunks;
        recorder.begun.push({ status, headers, body });
        return body;
      },
    },
  };
  const glue = (await import(pathToFileURL(join(out, 'worker.js')).href)) as {
    instantiate(
      getCoreModule: (name: string) => WasmModule,
      imports: Record<string, unknown>,
      instantiateCore: (m: WasmModule, i: WasmImports) => Promise<WasmInstance>,
    ): Promise<{ incomingHandler: { handle(request: WitRequest): WitResponse } }>;
  };
  let memory: WasmMemory | undefined;
  const instance = await glue.instantiate(
    (name) => new webAssembly.Module(transpiled.files[name]!),
    imports,
    async (module, coreImports) => {
      const inst = new webAssembly.Instance(module, coreImports);
      const mem = inst.exports['memory'];
      if (typeof mem === 'object' && mem !== null && 'buffer' in mem) memory = mem as WasmMemory;
      return inst;
    },
  );
  return {
    handle: (req) => instance.incomingHandler.handle(req),
    recorder,
    memory: () => memory,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
