// @ts-nocheck: AssemblyScript, compiled by asc, not by tsc.
// console.log and friends: each call is one `log.write` line, shown by `edge tail` and `edge dev`.

import { host, LogLevel } from "./host";

function text<T>(value: T): string {
  if (isString<T>()) return changetype<string>(value);
  else if (isNullable<T>()) return value == null ? "null" : value!.toString();
  else return value.toString();
}

export class Console {
  /** Info level, as Workers' console.log. */
  log<T>(value: T): void {
    host().log(LogLevel.Info, text<T>(value));
  }
  info<T>(value: T): void {
    host().log(LogLevel.Info, text<T>(value));
  }
  warn<T>(value: T): void {
    host().log(LogLevel.Warn, text<T>(value));
  }
  error<T>(value: T): void {
    host().log(LogLevel.Error, text<T>(value));
  }
  debug<T>(value: T): void {
    host().log(LogLevel.Debug, text<T>(value));
  }
}

/** Import it (`import { console } from "@edge/guest"`): AssemblyScript's own global console imports `env`, which no world provides. */
export const console = new Console();
