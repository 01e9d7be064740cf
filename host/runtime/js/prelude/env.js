// A JS worker's `env`: its [vars] plus one value per binding, each made by the facade the host names for it. The
// facades are the capabilities' own (host/bindings/<name>/*-facade.js, compiled into this prelude from the list the
// host gives its bundler, 'edge:facades'), or the generic one over a WIT interface (capabilities.js, witFacade).
// The runtime names no capability: the host's registry decides the entries, this file only looks facades up.
import facades from 'edge:facades';
import { CapabilityError, facadeChannel, witFacade } from './capabilities.js';
import { readAllBytes } from './body.js';
import { serviceFetch } from './fetcher.js';
import { rpcDecode, rpcEncode } from './rpc-codec.js';
import { claimHostStream, heldStream, isHeldBody, markHostStream } from './host-streams.js';
import { hostAsync } from './internal/async.js';

let caps = Object.freeze({});
/** Facade factories' results, made on first use in this isolate. */
const made = new Map();

/** The platform's caps (host/core/limits.ts, PRELUDE_CAPS), set by __edgeInit. */
export function setCaps(value) {
  caps = Object.freeze({ ...value });
}

/** What a facade module's default export receives: the ways to reach the host and the helpers it may use. */
function facadeHost() {
  return Object.freeze({
    ...facadeChannel,
    CapabilityError,
    caps,
    readAllBytes,
    /** A service binding's fetch: the runtime's fetch() to the bound worker, in-process. */
    serviceFetch,
    /** JS RPC's encoding of arguments and results (Durable Object stubs). */
    rpcEncode,
    rpcDecode,
    /** Host streams (host-streams.js): a body the host can send or store without it entering the isolate. */
    markHostStream,
    claimHostStream,
    /** Has the host write a claimed host body into a writer resource `to` ({ i, r, h }); resolves once all is written. */
    pipeHostBody: (from, to) => hostAsync('body.pipe', { from, to }),
    /** Bytes a callHeld result left on the host (a HeldBody marker), and the host stream of them. */
    isHeldBody,
    heldStream,
  });
}

function facade(name) {
  let f = made.get(name);
  if (f) return f;
  const factory = facades[name];
  if (typeof factory !== 'function') throw new TypeError(`no JS facade "${name}" in this host's prelude`);
  f = factory(facadeHost());
  made.set(name, f);
  return f;
}

/**
 * `env` for a worker: `vars` (copied already) plus, for each entry `{ binding, facade, config }`, the facade's value.
 * `interfaces`: descriptors of the granted WIT interfaces (for the generic facade). Memory the host shares with a
 * facade arrives as the global `__edgeShared_<facade>` and is taken away here.
 */
export function buildEnv(vars, interfaces, entries) {
  const env = vars;
  const shared = new Map();
  for (const e of entries) {
    if (e.facade === 'wit') {
      const d = interfaces.find((x) => x.id === e.config.interface);
      if (d) env[e.binding] = witFacade(d, e.binding);
      continue;
    }
    if (!shared.has(e.facade)) {
      const key = `__edgeShared_${e.facade}`;
      const buffer = globalThis[key];
      delete globalThis[key];
      shared.set(e.facade, buffer instanceof SharedArrayBuffer ? buffer : null);
    }
    env[e.binding] = facade(e.facade).create(e.binding, e.config, shared.get(e.facade));
  }
  return env;
}
