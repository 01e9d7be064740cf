// Deterministic fuel metering for core WebAssembly modules: rewrites a module (once, at deploy) so that the
// work it does is paid, up front and at a static price, out of an exported mutable i64 global, and traps with
// `unreachable` as soon as a charge takes the global below zero. Cost model, soundness argument and host protocol:
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
  /** Loops whose body was copied loopUnrollFactor(price) times under one charge (small ones). */
  unrolledLoops: number;
  /**
   * The charges placed: one per loop, and for each function whose entry region makes risky calls, one per
   * path that leads to them (two for an `if` with a risky call in both arms).
   */
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
const loopNames = binaryen as unknown as {
  Loop: { getName(loop: binaryen.ExpressionRef): string | null; setName(loop: binaryen.ExpressionRef, name: string): void };
};
const labels = binaryen as unknown as {
  Block: { getName(expr: binaryen.ExpressionRef): string | null; setName(expr: binaryen.ExpressionRef, name: string): void };
  Break: { getName(expr: binaryen.ExpressionRef): string; setName(expr: binaryen.ExpressionRef, name: string): void };
  Switch: {
    getNames(expr: binaryen.ExpressionRef): string[];
    setNameAt(expr: binaryen.ExpressionRef, index: number, name: string): void;
    getDefaultName(expr: binaryen.ExpressionRef): string;
    setDefaultName(expr: binaryen.ExpressionRef, name: string): void;
  };
};
const blocks = (binaryen as unknown as {
  Block: {
    getChildren(block: binaryen.ExpressionRef): binaryen.ExpressionRef[];
    setChildAt(block: binaryen.ExpressionRef, index: number, child: binaryen.ExpressionRef): void;
  };
}).Block;
const ifs = (binaryen as unknown as {
  If: {
    getCondition(expr: binaryen.ExpressionRef): binaryen.ExpressionRef;
    getIfTrue(expr: binaryen.ExpressionRef): binaryen.ExpressionRef;
    getIfFalse(expr: binaryen.ExpressionRef): binaryen.ExpressionRef;
    setIfTrue(expr: binaryen.ExpressionRef, child: binaryen.ExpressionRef): void;
    setIfFalse(expr: binaryen.ExpressionRef, child: binaryen.ExpressionRef): void;
  };
}).If;

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

  // Prices that callers pay for their callees, from the unmodified bodies: a leaf's whole body, and every
  // other function's free prefix (bounded by its entry region, see Meter).
  const leafPrices = new Map<string, number>();
  for (const { name, body } of defined) {
    const shape = shapeOf(body);
    if (!shape.loops && !shape.calls) leafPrices.set(name, shape.size);
  }
  const leaves: ReadonlySet<string> = new Set(leafPrices.keys());
  // A free path makes no risky call, so only the leaves it calls add to its price.
  const entryPrices = new Map<string, number>();
  for (const { name, body } of defined) entryPrices.set(name, freePrice(body, analyzeRegion(body, leaves, leafPrices, 0)));

  const fuelGlobal = uniqueGlobalName(module, exportName);
  module.addGlobal(fuelGlobal, binaryen.i64, true, module.i64.const(initialFuel));
  module.addGlobalExport(fuelGlobal, exportName);

  const meter = new Meter(module, fuelGlobal, leaves, entryPrices);
  for (const { func, name, body } of defined) {
    if (leaves.has(name)) continue;
    bodies.Function.setBody(func, meter.meterFunction(body));
  }
  return {
    fuelGlobal: exportName,
    stats: {
      functions: defined.length,
      leafFunctions: leaves.size,
      loops: meter.loops,
      unrolledLoops: meter.unrolledLoops,
      instrumentedSites: meter.sites,
    },
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

interface RegionInfo {
  price: number;
  risky: boolean;
}

/**
 * Price and riskiness of every expression of the region rooted at `root` (its expressions outside nested loop
 * bodies; a nested loop counts 1 and is not risky: it charges for itself). An expression's price is its
 * size plus what its calls cost the caller: a leaf's size for a direct call to a leaf, the callee's entry
 * price for a direct call to any other defined function, `indirectPrice` for an indirect call. It is risky
 * if it makes a risky call: one that could lead back to running code without passing a charge of its own
 * (a call to a non-leaf function, an import, or through a table). One post-order pass, so that placing the
 * charge costs linear time however deep the nesting. Does not modify anything.
 */
function analyzeRegion(
  root: binaryen.ExpressionRef,
  leaves: ReadonlySet<string>,
  entryPrices: ReadonlyMap<string, number>,
  indirectPrice: number,
): Map<binaryen.ExpressionRef, RegionInfo> {
  const info = new Map<binaryen.ExpressionRef, RegionInfo>();
  const stack: Array<{ expr: binaryen.ExpressionRef; children: binaryen.ExpressionRef[] | null }> = [{ expr: root, children: null }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const id = binaryen.getExpressionId(top.expr);
    if (id === binaryen.LoopId) {
      info.set(top.expr, { price: 1, risky: false });
      stack.pop();
      continue;
    }
    if (top.children === null) {
      top.children = [];
      collectChildren(top.expr, top.children);
      for (const child of top.children) stack.push({ expr: child, children: null });
      continue;
    }
    let price = 1;
    let risky = false;
    if (id === binaryen.CallId) {
      const target = bodies.Call.getTarget(top.expr);
      if (!leaves.has(target)) risky = true; // includes imports
      price += entryPrices.get(target) ?? 0;
    } else if (id === binaryen.CallIndirectId) {
      risky = true;
      price += indirectPrice;
    }
    for (const child of top.children) {
      const childInfo = info.get(child)!;
      price += childInfo.price;
      risky ||= childInfo.risky;
    }
    info.set(top.expr, { price, risky });
    stack.pop();
  }
  return info;
}

const NOTHING: RegionInfo = { price: 0, risky: false };

/**
 * Upper bound of what a call runs on the paths where the lazily placed entry charge (Meter.chargeBefore) is
 * not paid: the part of the entry region outside the charged subtrees. Mirrors chargeBefore's placement;
 * both arms of an `if` are counted, as everywhere else.
 */
function freePrice(root: binaryen.ExpressionRef, region: ReadonlyMap<binaryen.ExpressionRef, RegionInfo>): number {
  const of = (e: binaryen.ExpressionRef) => (e === 0 ? NOTHING : region.get(e)!);
  let price = 0;
  const pending = [root]; // an explicit stack: nesting can be thousands deep
  while (pending.length > 0) {
    const expr = pending.pop()!;
    const whole = of(expr);
    if (!whole.risky) {
      price += whole.price;
      continue;
    }
    const id = binaryen.getExpressionId(expr);
    if (id === binaryen.BlockId) {
      const children = blocks.getChildren(expr).map((child) => ({ child, ...of(child) }));
      const first = children.findIndex((c) => c.risky);
      price += 1;
      for (const c of children.slice(0, first)) price += c.price;
      if (children.filter((c) => c.risky).length === 1) {
        pending.push(children[first]!.child);
        for (const c of children.slice(first + 1)) price += c.price;
      }
    } else if (id === binaryen.IfId) {
      const condition = of(ifs.getCondition(expr));
      if (condition.risky) continue;
      price += 1 + condition.price;
      for (const arm of [ifs.getIfTrue(expr), ifs.getIfFalse(expr)]) {
        const armInfo = of(arm);
        if (armInfo.risky) pending.push(arm);
        else price += armInfo.price;
      }
    }
    // Anything else that is risky is charged as a whole: nothing of it runs free.
  }
  return price;
}

/** Whether the tree under `root` (nested loops included) has at most `limit` expressions; stops counting past it. */
function sizeAtMost(root: binaryen.ExpressionRef, limit: number): boolean {
  let size = 0;
  const pending = [root];
  while (pending.length > 0) {
    const expr = pending.pop()!;
    if (++size > limit) return false;
    if (binaryen.getExpressionId(expr) === binaryen.LoopId) pending.push(bodies.Loop.getBody(expr));
    else collectChildren(expr, pending);
  }
  return true;
}

/** At most this many copies of a loop body share one charge. */
export const MAX_LOOP_UNROLL = 8;
/** A small loop is unrolled until one charge covers about this many units of work. */
export const UNROLL_TARGET_PRICE = 160;
/** Loops priced above this are not unrolled: the charge is small next to their work, and copies cost size. */
export const UNROLL_MAX_PRICE = 40;
/** Loops whose body, nested loops (already metered, maybe unrolled) included, has more expressions are not unrolled. */
export const UNROLL_MAX_SIZE = 200;

/**
 * How many passes of a loop priced `price` one charge pays for: enough that the charge (3-4 instructions)
 * covers about UNROLL_TARGET_PRICE units, at most MAX_LOOP_UNROLL; 1 (not unrolled) above UNROLL_MAX_PRICE.
 * So 8 copies up to price 20, 4 at price 40.
 */
export function loopUnrollFactor(price: number): number {
  if (price > UNROLL_MAX_PRICE) return 1;
  return Math.max(1, Math.min(MAX_LOOP_UNROLL, Math.floor(UNROLL_TARGET_PRICE / Math.max(1, price))));
}

/**
 * In a copy of a loop body: branches to the loop (`loopName`) go to `continueName` instead, and the labels the
 * copy defines itself (and the branches to them) get `suffix`. Branches to labels outside stay as they are.
 */
function relabel(copy: binaryen.ExpressionRef, loopName: string, continueName: string, suffix: string): void {
  const own = new Set<string>();
  const all: binaryen.ExpressionRef[] = [];
  const pending = [copy];
  while (pending.length > 0) {
    const expr = pending.pop()!;
    all.push(expr);
    const id = binaryen.getExpressionId(expr);
    if (id === binaryen.BlockId || id === binaryen.LoopId) {
      const name = id === binaryen.BlockId ? labels.Block.getName(expr) : loopNames.Loop.getName(expr);
      if (name) own.add(name);
    }
    if (id === binaryen.LoopId) pending.push(bodies.Loop.getBody(expr));
    else collectChildren(expr, pending);
  }
  const target = (name: string) => (name === loopName ? continueName : own.has(name) ? name + suffix : name);
  for (const expr of all) {
    const id = binaryen.getExpressionId(expr);
    if (id === binaryen.BlockId) {
      const name = labels.Block.getName(expr);
      if (name) labels.Block.setName(expr, name + suffix);
    } else if (id === binaryen.LoopId) {
      const name = loopNames.Loop.getName(expr);
      if (name) loopNames.Loop.setName(expr, name + suffix);
    } else if (id === binaryen.BreakId) {
      labels.Break.setName(expr, target(labels.Break.getName(expr)));
    } else if (id === binaryen.SwitchId) {
      const names = labels.Switch.getNames(expr);
      names.forEach((name, index) => labels.Switch.setNameAt(expr, index, target(name)));
      labels.Switch.setDefaultName(expr, target(labels.Switch.getDefaultName(expr)));
    }
  }
}

function uniqueGlobalName(module: binaryen.Module, base: string): string {
  let name = base;
  for (let n = 1; module.getGlobal(name) !== 0; n++) name = `${base}_${n}`;
  return name;
}

/**
 * The static cost model (README.md has the soundness argument).
 *
 * A region is a function body or a loop body, minus the bodies of the loops nested in it. Each expression of a
 * region runs at most once per pass through it, since running code again takes a branch back to a loop, which
 * is another region. A region's price is its expression count plus what its calls cost (analyzeRegion): paid up
 * front, it bounds the work done until the next charge.
 *
 * - Loop bodies are charged at their top: on every pass, or once per `factor` passes for a small loop unrolled
 *   `factor` times (loopUnrollFactor).
 * - Function bodies are charged lazily: just before the first risky call on each path (a call that could lead
 *   to more code running before any other charge), and not at all on paths that make none, such as a recursive
 *   function's base case, or a function whose only repetition is in its loops. What such a free path does is
 *   bounded by the function's free price (freePrice), which every direct caller adds to its own price (an
 *   indirect call adds the largest of the module). Leaf functions (no loops, no calls) are entirely free this way.
 */
class Meter {
  loops = 0;
  unrolledLoops = 0;
  private labelCounter = 0;
  sites = 0;
  private readonly module: binaryen.Module;
  private readonly fuelGlobal: string;
  private readonly leaves: ReadonlySet<string>;
  private readonly entryPrices: ReadonlyMap<string, number>;
  private readonly indirectPrice: number;

  constructor(module: binaryen.Module, fuelGlobal: string, leaves: ReadonlySet<string>, entryPrices: ReadonlyMap<string, number>) {
    this.module = module;
    this.fuelGlobal = fuelGlobal;
    this.leaves = leaves;
    this.entryPrices = entryPrices;
    let indirectPrice = 0; // not Math.max(...spread): a module can have more functions than a call has room for arguments
    for (const entryPrice of entryPrices.values()) indirectPrice = Math.max(indirectPrice, entryPrice);
    this.indirectPrice = indirectPrice;
  }

  /** The function body with its loops metered and its entry charge placed lazily. */
  meterFunction(body: binaryen.ExpressionRef): binaryen.ExpressionRef {
    this.meterLoopsIn(body);
    const region = analyzeRegion(body, this.leaves, this.entryPrices, this.indirectPrice);
    const { price, risky } = region.get(body)!;
    return risky ? this.chargeBefore(body, price, region) : body;
  }

  /** Meters every loop under `root`, innermost first (an unrolled loop copies its nested loops' charges). */
  private meterLoopsIn(root: binaryen.ExpressionRef): void {
    // Pre-order, then reversed: every loop comes after the loops nested in it. No recursion: nesting can be
    // thousands deep.
    const loops: binaryen.ExpressionRef[] = [];
    const pending = [root];
    while (pending.length > 0) {
      const expr = pending.pop()!;
      if (binaryen.getExpressionId(expr) === binaryen.LoopId) {
        loops.push(expr);
        pending.push(bodies.Loop.getBody(expr));
      } else {
        collectChildren(expr, pending);
      }
    }
    for (const loop of loops.reverse()) {
      const body = bodies.Loop.getBody(loop);
      const { price } = analyzeRegion(body, this.leaves, this.entryPrices, this.indirectPrice).get(body)!;
      const name = loopNames.Loop.getName(loop);
      const loopType = binaryen.getExpressionType(loop);
      // The size includes nested loops, as metered (and maybe unrolled) already.
      const factor = loopUnrollFactor(price) > 1 && sizeAtMost(body, UNROLL_MAX_SIZE) ? loopUnrollFactor(price) : 1;
      if (factor > 1 && name && (loopType === binaryen.none || loopType === binaryen.unreachable)) {
        bodies.Loop.setBody(loop, this.unrolled(name, body, price, factor));
        this.unrolledLoops++;
      } else {
        bodies.Loop.setBody(loop, this.module.block(null, [...this.charge(price), body], binaryen.auto));
      }
      this.loops++;
    }
  }

  /**
   * The body of loop `$L`, unrolled `factor` times under one charge for `factor` passes (here 4):
   *
   *   (loop $L (block $exit
   *     charge(factor × price)
   *     (block $next3 (block $next2 (block $next1 copy1 (br $exit)) copy2 (br $exit)) copy3 (br $exit))
   *     body))
   *
   * In copy k, `br $L` (continue) becomes `br $nextk`, which falls into copy k+1; falling off the end of a
   * copy leaves the loop, as falling off the original body does. Only the original body branches back to
   * the top, so at most `factor` passes run per charge. Loops nested in the body were metered first and
   * keep their own charges in every copy. Labels inside copies get a suffix (binaryen wants label names
   * unique in a function).
   */
  private unrolled(loopName: string, body: binaryen.ExpressionRef, price: number, factor: number): binaryen.ExpressionRef {
    const m = this.module;
    // Generated labels take a module-wide counter: names must be unique in a function, and nested loops
    // unrolled earlier already used some.
    const exit = `__edge_fuel$exit${this.labelCounter++}`;
    // A body that never falls through (it ends in a branch) needs no exit: the loop keeps its unreachable type.
    const fallsThrough = binaryen.getExpressionType(body) !== binaryen.unreachable;
    let chain: binaryen.ExpressionRef | null = null;
    for (let k = 1; k < factor; k++) {
      const copy = m.copyExpression(body);
      const n = this.labelCounter++;
      const next = `__edge_fuel$next${n}`;
      relabel(copy, loopName, next, `__edge_fuel$copy${n}`);
      const children = [...(chain === null ? [] : [chain]), copy, ...(fallsThrough ? [m.br(exit)] : [])];
      chain = m.block(next, children, binaryen.none);
    }
    const unrolled = [...this.charge(factor * price), chain!, body];
    return fallsThrough ? m.block(exit, unrolled, binaryen.none) : m.block(null, unrolled, binaryen.auto);
  }

  /**
   * `expr` rewritten so that every execution of it that reaches a risky call passes exactly one charge of
   * `price` first, and executions that make no risky call pass none.
   */
  private chargeBefore(root: binaryen.ExpressionRef, price: number, region: ReadonlyMap<binaryen.ExpressionRef, RegionInfo>): binaryen.ExpressionRef {
    const risky = (e: binaryen.ExpressionRef) => e !== 0 && region.get(e)!.risky;
    let result = root;
    // Each item: a risky expression, and how to put its replacement where it was (blocks and ifs are
    // changed in place). An explicit stack: nesting can be thousands deep.
    const work: Array<{ expr: binaryen.ExpressionRef; place(replacement: binaryen.ExpressionRef): void }> = [
      { expr: root, place: (replacement) => (result = replacement) },
    ];
    while (work.length > 0) {
      const { expr, place } = work.pop()!;
      const id = binaryen.getExpressionId(expr);
      if (id === binaryen.BlockId) {
        const children = blocks.getChildren(expr);
        const riskyAt = children.flatMap((child, index) => (risky(child) ? [index] : []));
        const first = riskyAt[0]!;
        // Everything before the first risky child runs free. If nothing risky follows it either, the charge
        // can go further down into that child; otherwise it goes right before it.
        if (riskyAt.length === 1) work.push({ expr: children[first]!, place: (replacement) => blocks.setChildAt(expr, first, replacement) });
        else blocks.setChildAt(expr, first, this.wrap(children[first]!, price));
        continue;
      }
      if (id === binaryen.IfId && !risky(ifs.getCondition(expr))) {
        // Each arm that makes a risky call pays on its own; an arm that makes none runs free.
        const ifTrue = ifs.getIfTrue(expr);
        const ifFalse = ifs.getIfFalse(expr);
        if (risky(ifTrue)) work.push({ expr: ifTrue, place: (replacement) => ifs.setIfTrue(expr, replacement) });
        if (risky(ifFalse)) work.push({ expr: ifFalse, place: (replacement) => ifs.setIfFalse(expr, replacement) });
        continue;
      }
      place(this.wrap(expr, price));
    }
    return result;
  }

  private wrap(expr: binaryen.ExpressionRef, price: number): binaryen.ExpressionRef {
    return this.module.block(null, [...this.charge(price), expr], binaryen.auto);
  }

  /** fuel -= price; if (fuel < 0) unreachable. The trap leaves the counter negative: isFuelExhausted reads that. */
  private charge(price: number): binaryen.ExpressionRef[] {
    this.sites++;
    const m = this.module;
    return [
      m.global.set(this.fuelGlobal, m.i64.sub(m.global.get(this.fuelGlobal, binaryen.i64), m.i64.const(BigInt(price)))),
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
