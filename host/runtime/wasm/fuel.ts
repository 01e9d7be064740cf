// Deterministic fuel metering for core WebAssembly modules: rewrites a module (once, at deploy) so that the
// work it does is paid, up front and at a static price, out of an exported mutable i64 global, and traps with
// `unreachable` before the global would go below zero. Cost model, soundness argument and host protocol:
// README.md in this folder.

import binaryen from 'binaryen';
import { emitCoreModule, readCoreModule } from './binaryen-module.ts';
import { assertValidCoreModule } from './core-module-check.ts';
import { DEFAULT_FUEL_EXPORT } from './fuel-counter.ts';
import { WasmModuleError } from './wasm-module-error.ts';

export {
  DEFAULT_FUEL_EXPORT,
  FuelExhaustedError,
  fuelGlobalOf,
  isFuelExhausted,
  readFuel,
  refillFuel,
  runWithFuel,
} from './fuel-counter.ts';
export { WasmModuleError, type WasmModuleErrorCode } from './wasm-module-error.ts';

export interface FuelOptions {
  /** Export name of the fuel global. Default '__edge_fuel'. */
  exportName?: string;
  /** Only 'static' exists: see README.md. */
  costModel?: 'static';
  /**
   * Fuel the global holds at instantiation, which is what the start function (metered like any other
   * function) runs on, since the host cannot write an export before the instance exists. Pass the
   * worker's `[limits] fuel`. Default DEFAULT_INITIAL_FUEL.
   */
  initialFuel?: bigint | number;
}

export interface FuelStats {
  /** Defined (non-imported) functions. */
  functions: number;
  /**
   * Functions with no loop and no call of any kind: they cannot run unbounded, so they carry no charge;
   * their callers pay for them (see README.md).
   */
  leafFunctions: number;
  loops: number;
  /** The places that charge fuel: entries of non-leaf functions, and loop-body tops. */
  instrumentedSites: number;
}

export interface InstrumentedModule {
  bytes: Uint8Array;
  /** Export name of the fuel global. */
  fuelGlobal: string;
  stats: FuelStats;
}

export const DEFAULT_INITIAL_FUEL = 100_000_000n;
const MAX_FUEL = 0x7fff_ffff_ffff_ffffn;

// Accessors binaryen.js has at runtime but leaves out of its index.d.ts.
const bodies = binaryen as unknown as {
  Function: { setBody(func: binaryen.FunctionRef, body: binaryen.ExpressionRef): void };
  Loop: {
    getBody(loop: binaryen.ExpressionRef): binaryen.ExpressionRef;
    setBody(loop: binaryen.ExpressionRef, body: binaryen.ExpressionRef): void;
  };
  Call: { getTarget(call: binaryen.ExpressionRef): string };
};

/** Validates, meters and writes back a core module: the standalone form of meterModule. */
export function instrumentFuel(wasm: Uint8Array, options: FuelOptions = {}): InstrumentedModule {
  assertValidCoreModule(wasm);
  const module = readCoreModule(wasm);
  try {
    const { fuelGlobal, stats } = meterModule(module, options);
    return { bytes: emitCoreModule(module), fuelGlobal, stats };
  } finally {
    module.dispose();
  }
}

/** Adds the fuel global and the charges to a module binaryen has read (prepareCoreModule does the reading). */
export function meterModule(module: binaryen.Module, options: FuelOptions = {}): { fuelGlobal: string; stats: FuelStats } {
  const exportName = options.exportName ?? DEFAULT_FUEL_EXPORT;
  const costModel = options.costModel ?? 'static';
  if (costModel !== 'static') throw new TypeError(`unknown fuel cost model '${String(costModel)}'`);
  const initialFuel = BigInt(options.initialFuel ?? DEFAULT_INITIAL_FUEL);
  if (initialFuel < 0n || initialFuel > MAX_FUEL) {
    throw new RangeError(`initialFuel must be between 0 and 2^63-1, got ${initialFuel}`);
  }
  if (module.getExport(exportName) !== 0) {
    throw new WasmModuleError(
      'E_WASM_UNSUPPORTED',
      `the module already exports '${exportName}'; was it instrumented twice? Pass another exportName otherwise`,
    );
  }

  const defined: Array<{ func: binaryen.FunctionRef; name: string; body: binaryen.ExpressionRef }> = [];
  for (let index = 0; index < module.getNumFunctions(); index++) {
    const func = module.getFunctionByIndex(index);
    const info = binaryen.getFunctionInfo(func);
    if (info.module || info.body === 0) continue; // imported: the host's own limits apply
    defined.push({ func, name: info.name, body: info.body });
  }

  // Leaves first, on the unmodified bodies: their cost is what their callers pay.
  const leafCosts = new Map<string, number>();
  for (const { name, body } of defined) {
    const shape = shapeOf(body);
    if (!shape.loops && !shape.calls) leafCosts.set(name, shape.size);
  }

  const fuelGlobal = uniqueGlobalName(module, exportName);
  module.addGlobal(fuelGlobal, binaryen.i64, true, module.i64.const(initialFuel));
  module.addGlobalExport(fuelGlobal, exportName);

  const meter = new Meter(module, fuelGlobal, leafCosts);
  for (const { func, name, body } of defined) {
    if (leafCosts.has(name)) continue;
    bodies.Function.setBody(func, meter.meterRegion(body));
  }
  const metered = defined.length - leafCosts.size;
  return {
    fuelGlobal: exportName,
    stats: { functions: defined.length, leafFunctions: leafCosts.size, loops: meter.loops, instrumentedSites: metered + meter.loops },
  };
}

/** Expression count of a whole function body, and whether it loops or calls anything. */
function shapeOf(body: binaryen.ExpressionRef): { size: number; loops: boolean; calls: boolean } {
  let size = 0;
  let loops = false;
  let calls = false;
  const pending = [body];
  while (pending.length > 0) {
    const expr = pending.pop()!;
    size++;
    const id = binaryen.getExpressionId(expr);
    if (id === binaryen.LoopId) {
      loops = true;
      pending.push(bodies.Loop.getBody(expr));
      continue;
    }
    if (id === binaryen.CallId || id === binaryen.CallIndirectId) calls = true;
    collectChildren(expr, pending);
  }
  return { size, loops, calls };
}

function uniqueGlobalName(module: binaryen.Module, base: string): string {
  let name = base;
  for (let n = 1; module.getGlobal(name) !== 0; n++) name = `${base}_${n}`;
  return name;
}

/**
 * The static cost model. A metering site (entry of a non-leaf function, loop-body top) owns a region: the
 * expressions of the function body or loop body that are not inside a nested loop's body. Within one pass
 * through a region each of its expressions runs at most once, since running code again takes a branch back
 * to a loop, which is another site. So charging the region's expression count on entry pays, up front, an
 * upper bound of the work done until the next charge; both arms of an `if` are paid for. A direct call to a
 * leaf function adds the leaf's size to the region (the leaf charges nothing itself); an indirect call adds
 * the largest leaf's size, since it may land on any of them.
 */
class Meter {
  loops = 0;
  private readonly module: binaryen.Module;
  private readonly fuelGlobal: string;
  private readonly leafCosts: ReadonlyMap<string, number>;
  private readonly maxLeafCost: number;

  constructor(module: binaryen.Module, fuelGlobal: string, leafCosts: ReadonlyMap<string, number>) {
    this.module = module;
    this.fuelGlobal = fuelGlobal;
    this.leafCosts = leafCosts;
    this.maxLeafCost = Math.max(0, ...leafCosts.values());
  }

  /** Returns `body` prefixed with the charge for its region, after metering the loops inside it. */
  meterRegion(body: binaryen.ExpressionRef): binaryen.ExpressionRef {
    const cost = this.costOf(body);
    return this.module.block(null, [...this.charge(cost), body], binaryen.auto);
  }

  /** Price of the region rooted at `root`; meters nested loops (a loop counts 1 here). */
  private costOf(root: binaryen.ExpressionRef): number {
    let cost = 0;
    const pending = [root];
    while (pending.length > 0) {
      const expr = pending.pop()!;
      cost++;
      const id = binaryen.getExpressionId(expr);
      if (id === binaryen.LoopId) {
        bodies.Loop.setBody(expr, this.meterRegion(bodies.Loop.getBody(expr)));
        this.loops++;
        continue;
      }
      if (id === binaryen.CallId) cost += this.leafCosts.get(bodies.Call.getTarget(expr)) ?? 0;
      else if (id === binaryen.CallIndirectId) cost += this.maxLeafCost;
      collectChildren(expr, pending);
    }
    return cost;
  }

  /**
   * if (fuel < cost) { fuel -= cost; unreachable }  fuel -= cost
   *
   * Checking before subtracting compares the loaded value directly, which measured faster on V8 than
   * subtracting first and testing the sign (README.md). The trap path still subtracts, so a trapped
   * instance is left with a negative counter: that is how isFuelExhausted tells a fuel trap from the guest's.
   */
  private charge(cost: number): binaryen.ExpressionRef[] {
    const m = this.module;
    const price = BigInt(cost);
    const spend = () => m.global.set(this.fuelGlobal, m.i64.sub(m.global.get(this.fuelGlobal, binaryen.i64), m.i64.const(price)));
    return [
      m.if(m.i64.lt_s(m.global.get(this.fuelGlobal, binaryen.i64), m.i64.const(price)), m.block(null, [spend(), m.unreachable()])),
      spend(),
    ];
  }
}

/**
 * Child-getters per expression kind, taken from binaryen.js's expression classes (binaryen.Block,
 * binaryen.If, ...), which exist at runtime but are missing from its index.d.ts. Kinds with no entry are
 * refused: a loop nested in an operand that cannot be reached could not be metered.
 */
type ChildGetter = (expr: binaryen.ExpressionRef) => binaryen.ExpressionRef | binaryen.ExpressionRef[];
const expressionClasses = binaryen as unknown as Record<string, Record<string, ChildGetter> | undefined>;

const CHILD_GETTERS: ReadonlyMap<number, readonly ChildGetter[]> = new Map(
  (
    [
      // Leaves.
      [binaryen.NopId, '', []],
      [binaryen.UnreachableId, '', []],
      [binaryen.ConstId, '', []],
      [binaryen.LocalGetId, '', []],
      [binaryen.GlobalGetId, '', []],
      [binaryen.MemorySizeId, '', []],
      [binaryen.DataDropId, '', []],
      [binaryen.AtomicFenceId, '', []],
      [binaryen.RefNullId, '', []],
      [binaryen.RefFuncId, '', []],
      [binaryen.TableSizeId, '', []],
      [binaryen.PopId, '', []],
      [rawExpressionId('ElemDrop'), '', []],
      // Loop is handled by the Meter itself.
      [binaryen.BlockId, 'Block', ['getChildren']],
      [binaryen.IfId, 'If', ['getCondition', 'getIfTrue', 'getIfFalse']],
      [binaryen.BreakId, 'Break', ['getCondition', 'getValue']],
      [binaryen.SwitchId, 'Switch', ['getCondition', 'getValue']],
      [binaryen.CallId, 'Call', ['getOperands']],
      [binaryen.CallIndirectId, 'CallIndirect', ['getTarget', 'getOperands']],
      [binaryen.LocalSetId, 'LocalSet', ['getValue']],
      [binaryen.GlobalSetId, 'GlobalSet', ['getValue']],
      [binaryen.LoadId, 'Load', ['getPtr']],
      [binaryen.StoreId, 'Store', ['getPtr', 'getValue']],
      [binaryen.UnaryId, 'Unary', ['getValue']],
      [binaryen.BinaryId, 'Binary', ['getLeft', 'getRight']],
      [binaryen.SelectId, 'Select', ['getIfTrue', 'getIfFalse', 'getCondition']],
      [binaryen.DropId, 'Drop', ['getValue']],
      [binaryen.ReturnId, 'Return', ['getValue']],
      [binaryen.MemoryGrowId, 'MemoryGrow', ['getDelta']],
      [binaryen.MemoryInitId, 'MemoryInit', ['getDest', 'getOffset', 'getSize']],
      [binaryen.MemoryCopyId, 'MemoryCopy', ['getDest', 'getSource', 'getSize']],
      [binaryen.MemoryFillId, 'MemoryFill', ['getDest', 'getValue', 'getSize']],
      [binaryen.AtomicRMWId, 'AtomicRMW', ['getPtr', 'getValue']],
      [binaryen.AtomicCmpxchgId, 'AtomicCmpxchg', ['getPtr', 'getExpected', 'getReplacement']],
      [binaryen.AtomicWaitId, 'AtomicWait', ['getPtr', 'getExpected', 'getTimeout']],
      [binaryen.AtomicNotifyId, 'AtomicNotify', ['getPtr', 'getNotifyCount']],
      [binaryen.SIMDExtractId, 'SIMDExtract', ['getVec']],
      [binaryen.SIMDReplaceId, 'SIMDReplace', ['getVec', 'getValue']],
      [binaryen.SIMDShuffleId, 'SIMDShuffle', ['getLeft', 'getRight']],
      [binaryen.SIMDTernaryId, 'SIMDTernary', ['getA', 'getB', 'getC']],
      [binaryen.SIMDShiftId, 'SIMDShift', ['getVec', 'getShift']],
      [binaryen.SIMDLoadId, 'SIMDLoad', ['getPtr']],
      [binaryen.SIMDLoadStoreLaneId, 'SIMDLoadStoreLane', ['getPtr', 'getVec']],
      [binaryen.RefIsNullId, 'RefIsNull', ['getValue']],
      [binaryen.RefAsId, 'RefAs', ['getValue']],
      [binaryen.TableGetId, 'TableGet', ['getIndex']],
      [binaryen.TableSetId, 'TableSet', ['getIndex', 'getValue']],
      [binaryen.TableGrowId, 'TableGrow', ['getValue', 'getDelta']],
      [binaryen.TupleMakeId, 'TupleMake', ['getOperands']],
      [binaryen.TupleExtractId, 'TupleExtract', ['getTuple']],
    ] as Array<[number, string, string[]]>
  ).map(([id, className, getterNames]) => [
    id,
    getterNames.map((getterName) => {
      const getter = expressionClasses[className]?.[getterName];
      if (typeof getter !== 'function') throw new Error(`binaryen.${className}.${getterName} is missing: binaryen API changed?`);
      return getter;
    }),
  ]),
);

/** Pushes the child expressions of `expr`. */
function collectChildren(expr: binaryen.ExpressionRef, out: binaryen.ExpressionRef[]): void {
  const id = binaryen.getExpressionId(expr);
  const getters = CHILD_GETTERS.get(id);
  if (getters === undefined) {
    // table.fill/copy/init and anything newer: binaryen.js exposes no getters for their operands.
    throw new WasmModuleError(
      'E_WASM_UNSUPPORTED',
      `fuel metering cannot walk ${expressionName(id)} (binaryen expression id ${id}); ` +
        'rebuild the guest without it or extend CHILD_GETTERS in host/runtime/wasm/fuel.ts',
    );
  }
  for (const getter of getters) {
    const children = getter(expr);
    if (Array.isArray(children)) {
      for (const child of children) if (child !== 0) out.push(child);
    } else if (children !== 0) {
      out.push(children);
    }
  }
}

/**
 * Ids of expression kinds binaryen.js defines no `<Kind>Id` constant for (table.fill, table.copy,
 * table.init, elem.drop), read from the underlying C API.
 */
function rawExpressionId(kind: string): number {
  const getId = (binaryen as unknown as Record<string, unknown>)[`_Binaryen${kind}Id`];
  if (typeof getId !== 'function') throw new Error(`binaryen._Binaryen${kind}Id is missing: binaryen API changed?`);
  return (getId as () => number)();
}

function expressionName(id: number): string {
  const raw: Record<string, string> = { TableFill: 'table.fill', TableCopy: 'table.copy', TableInit: 'table.init' };
  for (const [kind, name] of Object.entries(raw)) if (rawExpressionId(kind) === id) return name;
  const constant = Object.entries(binaryen).find(([key, value]) => key.endsWith('Id') && value === id);
  return constant ? `a ${constant[0].slice(0, -2)} expression` : 'an unknown expression';
}
