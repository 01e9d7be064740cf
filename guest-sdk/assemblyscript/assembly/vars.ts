// @ts-nocheck: AssemblyScript, compiled by asc, not by tsc.
// The worker's `[vars]`, as the `vars` interface gives them: JSON text per name.

import { host } from "./host";
import { parseJsonString } from "./json";

export class Vars {
  /** The value of `name` as JSON text (a string var is `"production"`, quotes included), or `null`. */
  get(name: string): string | null {
    return host().varsGet(name);
  }

  /** The value of a string var, decoded; `null` when there is no such var or it is not a string. */
  string(name: string): string | null {
    const json = host().varsGet(name);
    return json == null ? null : parseJsonString(json);
  }

  /** Every var name, sorted. */
  names(): Array<string> {
    return host().varsNames();
  }
}

export const vars = new Vars();
