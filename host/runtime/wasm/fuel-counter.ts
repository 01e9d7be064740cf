// The request-time side of fuel metering: reading and refilling the `__edge_fuel` global that
// prepareCoreModule / instrumentFuel add to a module. Kept apart from them so the request path does not load
// binaryen (~0.5 s to import); only the deploy pipeline needs that.

import { webAssembly, type WasmGlobal } from '../../core/webassembly-api.ts';

export const DEFAULT_FUEL_EXPORT = '__edge_fuel';

/** Thrown by runWithFuel when a metered call ran out of fuel. Same code as the host's EdgeError for it. */
export class FuelExhaustedError extends Error {
  readonly code = 'E_FUEL_LIMIT';
  /** The fuel the call was given. */
  readonly budget: bigint;

  constructor(budget: bigint, options?: { cause?: unknown }) {
    super(
      `WebAssembly guest ran out of fuel (budget ${budget} units); ` +
        'raise [limits] fuel or make the handler do less work per request',
      options,
    );
    this.name = 'FuelExhaustedError';
    this.budget = budget;
  }
}

/** The fuel global of an instrumented instance, or a TypeError naming what is missing. */
export function fuelGlobalOf(exports: Record<string, unknown>, exportName = DEFAULT_FUEL_EXPORT): WasmGlobal {
  const candidate = exports[exportName];
  if (!isGlobal(candidate)) {
    throw new TypeError(`instance has no exported global '${exportName}': was the module prepared with fuel: true?`);
  }
  return candidate;
}

/** Fuel left. Negative only right after the charge that trapped (the overdraft of that one site). */
export function readFuel(fuel: WasmGlobal): bigint {
  const value = fuel.value;
  if (typeof value !== 'bigint') throw new TypeError('the fuel global is not an i64 global');
  return value;
}

/** Sets the fuel left; the host calls this before every request with `[limits] fuel`. */
export function refillFuel(fuel: WasmGlobal, amount: bigint | number): void {
  const value = BigInt(amount);
  if (value < 0n || value > 0x7fff_ffff_ffff_ffffn) {
    throw new RangeError(`fuel must be between 0 and 2^63-1, got ${value}`);
  }
  fuel.value = value;
}

/**
 * True when `error` is the trap the instrumentation raises on an empty tank. A guest's own `unreachable`
 * (AssemblyScript's abort, for one) is told apart by the counter: only a fuel charge leaves it below zero.
 */
export function isFuelExhausted(error: unknown, fuel: WasmGlobal): boolean {
  return error instanceof webAssembly.RuntimeError && readFuel(fuel) < 0n;
}

/**
 * Refills the tank with `budget`, runs `call`, and reports the fuel it used. An empty tank becomes a
 * FuelExhaustedError (with the trap as its cause); any other error is rethrown untouched.
 */
export function runWithFuel<T>(fuel: WasmGlobal, budget: bigint | number, call: () => T): { result: T; consumed: bigint } {
  const start = BigInt(budget);
  refillFuel(fuel, start);
  let result: T;
  try {
    result = call();
  } catch (error) {
    if (isFuelExhausted(error, fuel)) throw new FuelExhaustedError(start, { cause: error });
    throw error;
  }
  return { result, consumed: start - readFuel(fuel) };
}

/**
 * The fuel global of an instance's exports, or null when the module was not metered. Works on any
 * `WebAssembly.Instance`'s exports, the way the code inside the isolate sees them.
 */
export function findFuelGlobal(exports: Record<string, unknown>, exportName = DEFAULT_FUEL_EXPORT): WasmGlobal | null {
  const candidate = exports[exportName];
  return isGlobal(candidate) && typeof candidate.value === 'bigint' ? candidate : null;
}

/**
 * Refills every metered instance of a request (a jco component has several core instances, each with its own
 * tank: the main module and its shim). Returns the globals, for fuelUsed once the request is over.
 */
export function refillInstances(instances: Iterable<{ exports: Record<string, unknown> }>, amount: bigint | number): WasmGlobal[] {
  const tanks: WasmGlobal[] = [];
  for (const instance of instances) {
    const tank = findFuelGlobal(instance.exports);
    if (tank === null) continue;
    refillFuel(tank, amount);
    tanks.push(tank);
  }
  return tanks;
}

/** Fuel used since `tanks` were refilled with `amount` (each one separately; the sum of what they spent). */
export function fuelUsed(tanks: Iterable<WasmGlobal>, amount: bigint | number): bigint {
  let used = 0n;
  for (const tank of tanks) used += BigInt(amount) - readFuel(tank);
  return used;
}

/**
 * The same protocol as plain JS source, for the code that runs inside an isolate (which cannot import host
 * modules): `__edgeRefillFuel(exports, fuel)` before a request, and `__edgeFuelExhausted(exports)` on a trap.
 */
export const IN_ISOLATE_FUEL_SOURCE = `
function __edgeRefillFuel(exports, fuel) {
  const tank = exports[${JSON.stringify(DEFAULT_FUEL_EXPORT)}];
  if (tank instanceof WebAssembly.Global) tank.value = BigInt(fuel);
}
function __edgeFuelExhausted(exports) {
  const tank = exports[${JSON.stringify(DEFAULT_FUEL_EXPORT)}];
  return tank instanceof WebAssembly.Global && tank.value < 0n;
}
`;

function isGlobal(value: unknown): value is WasmGlobal {
  return typeof value === 'object' && value !== null && Object.prototype.toString.call(value) === '[object WebAssembly.Global]';
}
