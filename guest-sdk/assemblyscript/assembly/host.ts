// @ts-nocheck: AssemblyScript, compiled by asc (i32, u16, ...), not by tsc.
// The seam between the SDK and the platform: the SDK calls the host only through these classes, and the build's
// adapter (../adapter.ts) implements them on the glue generated for the world being built. The SDK therefore
// does not depend on the generated glue's names, and one SDK serves every world that has log, vars and http-types.

/** Log levels, in the order of the WIT `log.level` enum. */
export class LogLevel {
  static readonly Debug: i32 = 0;
  static readonly Info: i32 = 1;
  static readonly Warn: i32 = 2;
  static readonly Error: i32 = 3;
}

/** A request body as the host gives it: chunks until `null`. */
export class BodySource {
  /** At most `max` bytes; `null` at the end. A failure traps (after logging why). */
  read(max: u32): Uint8Array | null {
    throw new Error("BodySource.read is not implemented");
  }
  /** Gives the body back to the host (drops the resource). */
  close(): void {}
}

/** A streamed response body: the `outgoing-body` that `begin-response` returned. */
export class BodySink {
  /** Sends `chunk`; `false` when the client has gone away (nothing more can be sent). */
  write(chunk: Uint8Array): bool {
    throw new Error("BodySink.write is not implemented");
  }
  /** Ends the body (drops the resource). */
  close(): void {}
}

export class Host {
  log(level: i32, message: string): void {}
  varsGet(name: string): string | null {
    return null;
  }
  varsNames(): Array<string> {
    return new Array<string>();
  }
  /** Sends status and headers now; headers are lower-case name/value pairs in order. */
  beginResponse(status: u16, names: Array<string>, values: Array<string>): BodySink {
    throw new Error("Host.beginResponse is not implemented");
  }
}

let current: Host = new Host();

/** Called once by the build's adapter, before any request. */
export function __setHost(host: Host): void {
  current = host;
}

export function host(): Host {
  return current;
}

/**
 * Logs `message` at error level and returns an Error to throw. The build uses asc's `--use abort=`, so a thrown
 * error traps without a message reaching the host; the log line is what `edge tail` shows before the trap.
 * Call it as a statement of its own (`const e = failure(m); throw e;`): with abort disabled, asc compiles
 * `throw <expression>` to a bare trap without evaluating the expression, so `throw failure(m)` would not log.
 */
export function failure(message: string): Error {
  current.log(LogLevel.Error, "edge guest: " + message);
  return new Error(message);
}
