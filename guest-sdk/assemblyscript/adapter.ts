// @ts-nocheck: AssemblyScript, compiled by asc, not by tsc.
// The build's adapter between the generated glue and @edge/guest. buildWorker copies it into the build directory as
// `handler.ts` (the module the glue's `handle` export calls), next to `platform.ts` (the glue's import functions
// under fixed names, written by buildWorker for the world's naming) and `user-entry.ts` (re-exports the worker's
// `fetch`). It implements the SDK's Host on the glue and converts the glue's Request/Response to the SDK's classes.

import { Request as WitRequest, Response as WitResponse, ResponseBody, TupleStringString, BodyError, Level } from "./glue-types";
import { IncomingBody, OutgoingBody } from "./glue-imports";
import { logWrite, varsGet, varsNames, beginResponse } from "./platform";
import { Headers, Request, Response } from "@edge/guest";
import { BodySink, BodySource, Host, __setHost, failure } from "@edge/guest/host";
import { __endStreaming } from "@edge/guest/response";
import { fetch } from "./user-entry";

function describe(e: BodyError): string {
  if (e.tag == BodyError.CLOSED) return "the client went away (closed)";
  if (e.tag == BodyError.TOO_LARGE) return "the body is larger than the limit of " + e.asTooLarge.toString() + " bytes (too-large)";
  return "I/O error: " + e.asIo;
}

class WitBodySource extends BodySource {
  body: IncomingBody;
  constructor(body: IncomingBody) {
    super();
    this.body = body;
  }
  read(max: u32): Uint8Array | null {
    const r = this.body.read(max);
    if (!r.isOk) {
      const error = failure("reading the request body failed: " + describe(r.error));
      throw error;
    }
    return r.value;
  }
  close(): void {
    this.body.drop();
  }
}

class WitBodySink extends BodySink {
  body: OutgoingBody;
  constructor(body: OutgoingBody) {
    super();
    this.body = body;
  }
  write(chunk: Uint8Array): bool {
    const r = this.body.write(chunk);
    if (r.isOk) return true;
    if (r.error.tag == BodyError.CLOSED) return false;
    const error = failure("writing the response body failed: " + describe(r.error));
    throw error;
  }
  close(): void {
    this.body.drop();
  }
}

function tuples(names: Array<string>, values: Array<string>): Array<TupleStringString> {
  const out = new Array<TupleStringString>(names.length);
  for (let i = 0; i < names.length; i++) out[i] = new TupleStringString(names[i], values[i]);
  return out;
}

class WitHost extends Host {
  log(level: i32, message: string): void {
    logWrite(<Level>level, message);
  }
  varsGet(name: string): string | null {
    return varsGet(name);
  }
  varsNames(): Array<string> {
    return varsNames();
  }
  beginResponse(status: u16, names: Array<string>, values: Array<string>): BodySink {
    const r = beginResponse(status, tuples(names, values));
    if (!r.isOk) {
      const error = failure("begin-response failed: " + describe(r.error));
      throw error;
    }
    return new WitBodySink(r.value);
  }
}

__setHost(new WitHost());

export function handle(request: WitRequest): WitResponse {
  const headers = new Headers();
  const wh = request.headers;
  for (let i = 0; i < wh.length; i++) headers.append(wh[i].f0, wh[i].f1);
  const body = request.body;
  const req = new Request(request.method, request.url, headers, body == null ? null : new WitBodySource(body));
  const res: Response = fetch(req);
  req.__close();
  // A body begun with Response.begin is ended here if the handler left it open; its status and headers were sent.
  const began = __endStreaming();
  if (res.streamed || began) return new WitResponse(res.status, new Array<TupleStringString>(), ResponseBody.streamed());
  const entries = res.headers.entries();
  const out = new Array<TupleStringString>(entries.length);
  for (let i = 0; i < entries.length; i++) out[i] = new TupleStringString(entries[i].name, entries[i].value);
  const bytes = res.body;
  return new WitResponse(res.status, out, bytes == null ? ResponseBody.empty() : ResponseBody.bytes(bytes));
}
