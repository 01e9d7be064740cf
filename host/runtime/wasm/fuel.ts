// Deterministic fuel metering for core WebAssembly modules: rewrites a module (once, at deploy) so that every
// function entry and every loop iteration pays a static cost out of an exported mutable i64 global, and traps
// with `unreachable` when the global drops below zero. Cost model and host protocol: README.md in this folder.

import binaryen from 'binaryen';
import { DEFAULT_FUEL_EXPORT } from './fuel-counter.ts';
import { webAssembly } from './webassembly-api.ts';

export {
  DEFAULT_FUEL_EXPORT,
  FuelExhaustedError,
  fuelGlobalOf,
  isFuelExhausted,
  readFuel,
  refillFuel,
  runWithFuel,
} from './fuel-counter.ts';

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

export interface InstrumentedModule {
  bytes: Uint8Array;
  /** Export name of the fuel global. */
  fuelGlobal: string;
  stats: {
    /** Defined (non-imported) functions, each metered at entry. */
    functions: number;
    loops: number;
    /** functions + loops: the places that charge fuel. */
    instrumentedSites: number;
  };
}

export type WasmInstrumentErrorCode = 'E_WASM_INVALID' | 'E_WASM_UNSUPPORTED';

/** Why a module could not be instrumented: not WebAssembly at all, or WebAssembly this metering does not cover. */
export class WasmInstrumentError extends Error {
  readonly code: WasmInstrumentErrorCode;

  constructor(code: WasmInstrumentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WasmInstrumentError';
    this.code = code;
  }
}

export const DEFAULT_INITIAL_FUEL = 100_000_000n;

/**
 * What a module may use: the features AssemblyScript can emit that V8 in Node 24 runs and binaryen 132
 * encodes in the standard way. Deliberately not Features.All: it includes CompactImports, whose import
 * encoding V8 rejects ("unknown import kind 0x7f"). GC, strings, exceptions, memory64 and multi-memory are
 * left out until their instructions are walked by collectChildren below.
 */
const SUPPORTED_FEATURES =
  binaryen.Features.MVP |
  binaryen.Features.MutableGlobals |
  binaryen.Features.SignExt |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.Multivalue |
  binaryen.Features.SIMD128 |
  binaryen.Features.RelaxedSIMD |
  binaryen.Features.ReferenceTypes |
  binaryen.Features.TailCall |
  binaryen.Features.ExtendedConst |
  binaryen.Features.Atomics;

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

// binaryen.js 132 reads with explicit features through readBinary's second parameter; the
// readBinaryWithFeatures its index.d.ts declares does not exist at runtime.
const readBinary = binaryen.readBinary as (data: Uint8Array, features?: binaryen.Features) => binaryen.Module;

// Body accessors binaryen.js has at runtime but leaves out of its index.d.ts.
const bodies = binaryen as unknown as {
  Function: { setBody(func: binaryen.FunctionRef, body: binaryen.ExpressionRef): void };
  Loop: {
    getBody(loop: binaryen.ExpressionRef): binaryen.ExpressionRef;
    setBody(loop: binaryen.ExpressionRef, body: binaryen.ExpressionRef): void;
  };
};

export function instrumentFuel(wasm: Uint8Array, options: FuelOptions = {}): InstrumentedModule {
  const exportName = options.exportName ?? DEFAULT_FUEL_EXPORT;
  const costModel = options.costModel ?? 'static';
  if (costModel !== 'static') throw new TypeError(`unknown fuel cost model '${String(costModel)}'`);
  const initialFuel = BigInt(options.initialFuel ?? DEFAULT_INITIAL_FUEL);
  if (initialFuel < 0n || initialFuel > 0x7fff_ffff_ffff_ffffn) {
    throw new RangeError(`initialFuel must be between 0 and 2^63-1, got ${initialFuel}`);
  }

  checkEngineAccepts(wasm);
  const module = readModule(wasm);
  try {
    if (module.getExport(exportName) !== 0) {
      throw new WasmInstrumentError(
        'E_WASM_UNSUPPORTED',
        `the module already exports '${exportName}'; was it instrumented twice? Pass another exportName otherwise`,
      );
    }
    const fuelGlobal = uniqueGlobalName(module, exportName);
    module.addGlobal(fuelGlobal, binaryen.i64, true, module.i64.const(initialFuel));
    module.addGlobalExport(fuelGlobal, exportName);

    const meter = new Meter(module, fuelGlobal);
    let functions = 0;
    for (let index = 0; index < module.getNumFunctions(); index++) {
      const func = module.getFunctionByIndex(index);
      const info = binaryen.getFunctionInfo(func);
      if (info.module || info.body === 0) continue; // imported: the host's own limits apply
      bodies.Function.setBody(func, meter.meterRegion(info.body));
      functions++;
    }

    if (!module.validate()) {
      throw new Error('binaryen rejected the instrumented module (validator output above); this is a bug in fuel.ts');
    }
    const bytes = emitWithNames(module);
    if (!webAssembly.validate(bytes)) {
      throw new Error('the engine rejected the instrumented module; this is a bug in fuel.ts (feature set?)');
    }
    return {
      bytes,
      fuelGlobal: exportName,
      stats: { functions, loops: meter.loops, instrumentedSites: functions + meter.loops },
    };
  } finally {
    module.dispose();
  }
}

/** Rejects what the engine itself would reject, with the engine's reason, before binaryen sees it. */
function checkEngineAccepts(wasm: Uint8Array): void {
  if (!(wasm instanceof Uint8Array)) {
    throw new WasmInstrumentError('E_WASM_INVALID', 'expected the module as a Uint8Array');
  }
  if (wasm.length < 8 || WASM_MAGIC.some((byte, i) => wasm[i] !== byte)) {
    throw new WasmInstrumentError(
      'E_WASM_INVALID',
      `not a WebAssembly binary: it does not start with the magic bytes \\0asm (${wasm.length} bytes)`,
    );
  }
  const version = wasm[4]! | (wasm[5]! << 8);
  const layer = wasm[6]! | (wasm[7]! << 8);
  if (layer === 1) {
    throw new WasmInstrumentError(
      'E_WASM_UNSUPPORTED',
      'this is a WebAssembly component, not a core module: instrument the core module before `jco new` wraps it',
    );
  }
  if (version !== 1) {
    throw new WasmInstrumentError('E_WASM_INVALID', `unsupported WebAssembly binary version ${version} (expected 1)`);
  }
  if (webAssembly.validate(wasm)) return;
  let reason = 'the engine rejected it';
  try {
    new webAssembly.Module(wasm);
  } catch (error) {
    reason = error instanceof Error ? error.message : String(error);
  }
  throw new WasmInstrumentError('E_WASM_INVALID', `invalid WebAssembly module: ${reason}`);
}

function readModule(wasm: Uint8Array): binaryen.Module {
  let module: binaryen.Module;
  try {
    module = readBinary(wasm, SUPPORTED_FEATURES);
  } catch (error) {
    throw new WasmInstrumentError('E_WASM_UNSUPPORTED', `binaryen could not read the module: ${describe(error)}`, {
      cause: error,
    });
  }
  // A module that reads but does not validate uses a feature outside SUPPORTED_FEATURES.
  if (!module.validate()) {
    module.dispose();
    throw new WasmInstrumentError(
      'E_WASM_UNSUPPORTED',
      'the module uses a WebAssembly feature fuel metering does not support yet (binaryen validator output above); ' +
        'supported: mutable-globals, sign-ext, nontrapping-float-to-int, bulk-memory, multivalue, simd, ' +
        'relaxed-simd, reference-types, tail-call, extended-const, threads',
    );
  }
  return module;
}

function uniqueGlobalName(module: binaryen.Module, base: string): string {
  let name = base;
  for (let n = 1; module.getGlobal(name) !== 0; n++) name = `${base}_${n}`;
  return name;
}

function emitWithNames(module: binaryen.Module): Uint8Array {
  // Keep the name section so traps in the guest still show function names.
  const previous = binaryen.getDebugInfo();
  binaryen.setDebugInfo(true);
  try {
    return module.emitBinary();
  } finally {
    binaryen.setDebugInfo(previous);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null) return JSON.stringify(error);
  return String(error);
}

/**
 * The static cost model. A metering site (function entry, loop-body top) owns a region: the expressions
 * of the function body or loop body that are not inside a nested loop's body. Within one pass through a
 * region each of its expressions runs at most once, since running code again takes a branch back to a
 * loop, which is another site. So charging the region's expression count on entry pays, up front, an upper
 * bound of the work done until the next charge; both arms of an `if` are paid for.
 */
class Meter {
  loops = 0;
  private readonly module: binaryen.Module;
  private readonly fuelGlobal: string;

  constructor(module: binaryen.Module, fuelGlobal: string) {
    this.module = module;
    this.fuelGlobal = fuelGlobal;
  }

  /** Returns `body` prefixed with the charge for its region, after metering the loops inside it. */
  meterRegion(body: binaryen.ExpressionRef): binaryen.ExpressionRef {
    const cost = this.costOf(body);
    return this.module.block(null, [...this.charge(cost), body], binaryen.auto);
  }

  /** Expression count of the region rooted at `expr`; meters nested loops (a loop counts 1 here). */
  private costOf(root: binaryen.ExpressionRef): number {
    let cost = 0;
    const pending = [root];
    while (pending.length > 0) {
      const expr = pending.pop()!;
      cost++;
      if (binaryen.getExpressionId(expr) === binaryen.LoopId) {
        bodies.Loop.setBody(expr, this.meterRegion(bodies.Loop.getBody(expr)));
        this.loops++;
        continue;
      }
      collectChildren(expr, pending);
    }
    return cost;
  }

  // global.set $fuel (i64.sub (global.get $fuel) (i64.const cost)); if (global.get $fuel) < 0: unreachable
  private charge(cost: number): binaryen.ExpressionRef[] {
    const m = this.module;
    return [
      m.global.set(this.fuelGlobal, m.i64.sub(m.global.get(this.fuelGlobal, binaryen.i64), m.i64.const(BigInt(cost)))),
      m.if(m.i64.lt_s(m.global.get(this.fuelGlobal, binaryen.i64), m.i64.const(0n)), m.unreachable()),
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
    throw new WasmInstrumentError(
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
