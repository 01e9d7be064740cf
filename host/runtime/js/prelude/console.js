// console: formats arguments roughly like Node/browsers (printf-style substitutions, compact one-line object
// inspection with depth, item and size limits) and sends the text to the host log. Formatting is defensive:
// getters are not invoked, throwing Proxies and hostile objects yield placeholders, and console never throws.
import { hostLog } from './internal/bridge.js';
import { Headers } from './headers.js';
import { URL, URLSearchParams } from './url.js';
import { Request } from './request.js';
import { Response } from './response.js';

const MAX_OUTPUT = 16 * 1024;
const MAX_DEPTH = 2;
const MAX_ITEMS = 100;
const MAX_BYTES_SHOWN = 50;
const MAX_NESTED_STRING = 1000;

const { getOwnPropertyDescriptor, getPrototypeOf, hasOwn } = Object;
const ownKeys = Reflect.ownKeys;
const objectToString = Object.prototype.toString;
const fnToString = Function.prototype.toString;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

class InspectContext {
  constructor() {
    this.seen = [];
    this.length = 0;
  }

  get full() {
    return this.length > MAX_OUTPUT;
  }

  add(s) {
    this.length += s.length;
    return s;
  }
}

function quote(s) {
  let body = s.length > MAX_NESTED_STRING ? s.slice(0, MAX_NESTED_STRING) : s;
  body = body.replace(/[\\'\x00-\x1f\x7f]/g, (c) => {
    switch (c) {
      case '\\': return '\\\\';
      case "'": return "\\'";
      case '\n': return '\\n';
      case '\r': return '\\r';
      case '\t': return '\\t';
      case '\b': return '\\b';
      case '\f': return '\\f';
      case '\v': return '\\v';
      default: return '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0');
    }
  });
  const more = s.length - MAX_NESTED_STRING;
  return `'${body}'` + (more > 0 ? `... ${more} more character${more > 1 ? 's' : ''}` : '');
}

function formatKey(key) {
  if (typeof key === 'symbol') return `[${symbolToString(key)}]`;
  return IDENTIFIER.test(key) ? key : quote(key);
}

function symbolToString(sym) {
  try {
    return Symbol.prototype.toString.call(sym);
  } catch {
    return 'Symbol()';
  }
}

function formatPrimitive(v, nested) {
  switch (typeof v) {
    case 'string':
      return nested ? quote(v) : v;
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint':
      return `${v}n`;
    case 'symbol':
      return symbolToString(v);
    default:
      return String(v);
  }
}

function functionName(fn) {
  try {
    const d = getOwnPropertyDescriptor(fn, 'name');
    return d && typeof d.value === 'string' ? d.value : '';
  } catch {
    return '';
  }
}

function formatFunction(fn) {
  const name = functionName(fn);
  let src = '';
  try {
    src = fnToString.call(fn);
  } catch {}
  if (src.startsWith('class') && /^class[\s{]/.test(src)) return name ? `[class ${name}]` : '[class (anonymous)]';
  let kind = 'Function';
  try {
    kind = objectToString.call(fn).slice(8, -1);
  } catch {}
  if (kind !== 'AsyncFunction' && kind !== 'GeneratorFunction' && kind !== 'AsyncGeneratorFunction') kind = 'Function';
  return name ? `[${kind}: ${name}]` : `[${kind} (anonymous)]`;
}

/** The name Node would print before an object's braces ('' for plain objects). */
function constructorName(v) {
  const proto = getPrototypeOf(v);
  if (proto === null) return '[Object: null prototype]';
  if (proto === Object.prototype) return '';
  const d = getOwnPropertyDescriptor(proto, 'constructor');
  const name = d && typeof d.value === 'function' ? functionName(d.value) : '';
  return name || 'Object';
}

function joinItems(prefix, open, items, close) {
  if (items.length === 0) return prefix ? `${prefix} ${open}${close}` : `${open}${close}`;
  const body = `${open} ${items.join(', ')} ${close}`;
  return prefix ? `${prefix} ${body}` : body;
}

function propertyItems(v, depth, ctx, skipIndices) {
  const items = [];
  const keys = ownKeys(v);
  let shown = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (skipIndices && typeof key === 'string' && /^(0|[1-9]\d*)$/.test(key)) continue;
    if (skipIndices && key === 'length') continue;
    const d = getOwnPropertyDescriptor(v, key);
    if (!d || !d.enumerable) continue;
    if (ctx.full || shown >= MAX_ITEMS) {
      items.push('...');
      break;
    }
    shown++;
    let value;
    if ('value' in d) value = formatValue(d.value, depth + 1, ctx, true);
    else value = d.get ? (d.set ? '[Getter/Setter]' : '[Getter]') : '[Setter]';
    items.push(`${formatKey(key)}: ${value}`);
  }
  return items;
}

function formatError(err, depth, ctx) {
  let stack;
  try {
    // V8 keeps `stack` as an own accessor on errors, so read it (a guest's throwing getter lands in the catch).
    const s = err.stack;
    if (typeof s === 'string' && s !== '') stack = s;
  } catch {}
  if (stack === undefined) {
    let name = 'Error';
    let message = '';
    try {
      name = String(err.name);
      message = String(err.message);
    } catch {}
    stack = message ? `[${name}: ${message}]` : `[${name}]`;
  }
  const items = [];
  for (const item of propertyItems(err, depth, ctx, false)) if (!item.startsWith('stack:')) items.push(item);
  try {
    const c = getOwnPropertyDescriptor(err, 'cause');
    if (c && !c.enumerable && 'value' in c) items.push(`[cause]: ${formatValue(c.value, depth + 1, ctx, true)}`);
  } catch {}
  return items.length ? `${stack} { ${items.join(', ')} }` : stack;
}

function formatBytes(bytes) {
  const n = Math.min(bytes.length, MAX_BYTES_SHOWN);
  let hex = '';
  for (let i = 0; i < n; i++) hex += (i ? ' ' : '') + bytes[i].toString(16).padStart(2, '0');
  const more = bytes.length - n;
  return `<${hex}${more > 0 ? ` ... ${more} more byte${more > 1 ? 's' : ''}` : ''}>`;
}

function listItems(iterable, size, format, ctx) {
  const items = [];
  let i = 0;
  for (const x of iterable) {
    if (i >= MAX_ITEMS || ctx.full) {
      const more = size - i;
      items.push(`... ${more} more item${more > 1 ? 's' : ''}`);
      break;
    }
    items.push(format(x));
    i++;
  }
  return items;
}

/** Our own classes keep their state in private fields; show what a user would want to see. */
function formatPlatformObject(v, depth, ctx) {
  if (v instanceof Headers) {
    const items = [];
    for (const [k, val] of v) items.push(`${quote(k)}: ${quote(val)}`);
    return joinItems('Headers', '{', items, '}');
  }
  if (v instanceof URLSearchParams) {
    const items = [];
    for (const [k, val] of v) items.push(`${quote(k)} => ${quote(val)}`);
    return joinItems('URLSearchParams', '{', items, '}');
  }
  if (v instanceof URL) return `URL { href: ${quote(v.href)} }`;
  if (v instanceof Request) {
    return `Request { method: ${quote(v.method)}, url: ${quote(v.url)}, headers: ${formatValue(v.headers, depth + 1, ctx, true)}, bodyUsed: ${v.bodyUsed} }`;
  }
  if (v instanceof Response) {
    return `Response { status: ${v.status}, statusText: ${quote(v.statusText)}, headers: ${formatValue(v.headers, depth + 1, ctx, true)}, bodyUsed: ${v.bodyUsed} }`;
  }
  return undefined;
}

function formatObject(v, depth, ctx) {
  if (ctx.seen.includes(v)) return '[Circular]';
  if (v instanceof Error) {
    ctx.seen.push(v);
    try {
      return formatError(v, depth, ctx);
    } finally {
      ctx.seen.pop();
    }
  }
  if (v instanceof Date) {
    const t = Date.prototype.getTime.call(v);
    return t === t ? Date.prototype.toISOString.call(v) : 'Invalid Date';
  }
  if (v instanceof RegExp) return RegExp.prototype.toString.call(v);
  if (v instanceof Promise) return 'Promise { <unknown> }';
  if (v instanceof WeakMap) return 'WeakMap { <items unknown> }';
  if (v instanceof WeakSet) return 'WeakSet { <items unknown> }';
  if (v instanceof Number) return `[Number: ${formatPrimitive(Number.prototype.valueOf.call(v), true)}]`;
  if (v instanceof String) return `[String: ${quote(String.prototype.valueOf.call(v))}]`;
  if (v instanceof Boolean) return `[Boolean: ${Boolean.prototype.valueOf.call(v)}]`;
  if (v instanceof BigInt) return `[BigInt: ${BigInt.prototype.valueOf.call(v)}n]`;
  if (v instanceof Symbol) return `[Symbol: ${symbolToString(Symbol.prototype.valueOf.call(v))}]`;
  if (v instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer)) {
    const name = v instanceof ArrayBuffer ? 'ArrayBuffer' : 'SharedArrayBuffer';
    return `${name} { [Uint8Contents]: ${formatBytes(new Uint8Array(v))}, byteLength: ${v.byteLength} }`;
  }
  if (ArrayBuffer.isView(v) && v instanceof DataView) return `DataView { byteLength: ${v.byteLength}, byteOffset: ${v.byteOffset} }`;

  const platform = depth > MAX_DEPTH ? undefined : formatPlatformObject(v, depth, ctx);
  if (platform !== undefined) return platform;

  const isArray = Array.isArray(v);
  const isTyped = !isArray && ArrayBuffer.isView(v);
  const isMap = v instanceof Map;
  const isSet = v instanceof Set;
  let prefix = constructorName(v);
  if (isArray && prefix === 'Array') prefix = '';

  if (depth > MAX_DEPTH) {
    if (isArray) return '[Array]';
    return `[${prefix && !prefix.startsWith('[') ? prefix : 'Object'}]`;
  }

  ctx.seen.push(v);
  try {
    if (isArray || isTyped) {
      const len = /** @type {ArrayLike<unknown>} */ (v).length;
      const items = [];
      let holes = 0;
      const n = Math.min(len, MAX_ITEMS);
      for (let i = 0; i < n && !ctx.full; i++) {
        if (isArray && !hasOwn(v, i)) {
          holes++;
          continue;
        }
        if (holes) {
          items.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`);
          holes = 0;
        }
        items.push(isTyped ? formatPrimitive(v[i], true) : formatValue(v[i], depth + 1, ctx, true));
      }
      if (holes) items.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`);
      if (len > n || ctx.full) {
        const more = len - n;
        items.push(more > 0 ? `... ${more} more item${more > 1 ? 's' : ''}` : '...');
      }
      if (isArray) items.push(...propertyItems(v, depth, ctx, true));
      if (isTyped) prefix = `${objectToString.call(v).slice(8, -1)}(${len})`;
      else if (prefix) prefix = `${prefix}(${len})`;
      return joinItems(prefix, '[', items, ']');
    }
    if (isMap) {
      const entries = Map.prototype.entries.call(v);
      const count = /** @type {() => number} */ (/** @type {PropertyDescriptor} */ (getOwnPropertyDescriptor(Map.prototype, 'size')).get).call(v);
      const items = listItems(entries, count, ([k, val]) => `${formatValue(k, depth + 1, ctx, true)} => ${formatValue(val, depth + 1, ctx, true)}`, ctx);
      return joinItems(`${prefix || 'Map'}(${count})`, '{', items, '}');
    }
    if (isSet) {
      const count = /** @type {() => number} */ (/** @type {PropertyDescriptor} */ (getOwnPropertyDescriptor(Set.prototype, 'size')).get).call(v);
      const items = listItems(Set.prototype.values.call(v), count, (x) => formatValue(x, depth + 1, ctx, true), ctx);
      return joinItems(`${prefix || 'Set'}(${count})`, '{', items, '}');
    }
    return joinItems(prefix, '{', propertyItems(v, depth, ctx, false), '}');
  } finally {
    ctx.seen.pop();
  }
}

function formatValue(v, depth, ctx, nested) {
  if (ctx.full) return '...';
  let s;
  if (typeof v === 'function') s = formatFunction(v);
  else if (typeof v !== 'object' || v === null) s = formatPrimitive(v, nested);
  else {
    try {
      s = formatObject(v, depth, ctx);
    } catch {
      s = '[object: inspection threw]';
    }
  }
  return ctx.add(s);
}

/** One-line, bounded inspection of any value (strings are quoted), like Node's util.inspect. */
export function inspect(value) {
  return truncate(formatValue(value, 0, new InspectContext(), true));
}

function truncate(s) {
  return s.length > MAX_OUTPUT ? s.slice(0, MAX_OUTPUT) + '… [truncated]' : s;
}

function formatNumberSpec(arg, kind) {
  if (typeof arg === 'bigint') return `${arg}n`;
  if (typeof arg === 'symbol') return 'NaN';
  if (kind === 'd') return typeof arg === 'object' && arg !== null ? 'NaN' : formatPrimitive(Number(arg), false);
  if (kind === 'i') return String(parseInt(arg, 10));
  return String(parseFloat(arg));
}

/** Formats console arguments: printf-style substitutions in a leading string, the rest joined by spaces. */
export function formatArgs(args) {
  try {
    const ctx = new InspectContext();
    let out = '';
    let a = 0;
    if (typeof args[0] === 'string') {
      const f = args[0];
      a = 1;
      if (args.length > 1 && f.includes('%')) {
        let last = 0;
        for (let i = 0; i < f.length - 1; i++) {
          if (f.charCodeAt(i) !== 37) continue;
          const c = f[i + 1];
          let rep;
          if (c === '%') rep = '%';
          else if (a < args.length) {
            const arg = args[a];
            switch (c) {
              case 's':
                // Like Node, %s shows objects one level deep.
                rep = typeof arg === 'string' ? arg : typeof arg === 'object' && arg !== null ? formatValue(arg, MAX_DEPTH, ctx, true) : formatValue(arg, 0, ctx, false);
                break;
              case 'd':
              case 'i':
              case 'f':
                rep = formatNumberSpec(arg, c);
                break;
              case 'j':
                try {
                  rep = JSON.stringify(arg);
                } catch {
                  rep = '[Circular]';
                }
                break;
              case 'o':
              case 'O':
                rep = formatValue(arg, 0, ctx, true);
                break;
              case 'c':
                rep = '';
                break;
              default:
                continue;
            }
            a++;
          } else continue;
          out += f.slice(last, i) + rep;
          last = i + 2;
          i++;
        }
        out += f.slice(last);
      } else {
        out = f;
      }
    }
    for (; a < args.length; a++) {
      if (a > 0) out += ' ';
      const arg = args[a];
      out += typeof arg === 'string' ? arg : formatValue(arg, 0, ctx, true);
      if (out.length > MAX_OUTPUT) break;
    }
    return truncate(out);
  } catch {
    return '[console: the arguments could not be formatted]';
  }
}

let groupIndent = '';
const counts = new Map();
const timers = new Map();

function emit(level, text) {
  if (groupIndent) text = groupIndent + text.replaceAll('\n', '\n' + groupIndent);
  try {
    hostLog(level, text);
  } catch {
    // Logging must never break the caller.
  }
}

/** Reports an exception nobody caught (queueMicrotask callbacks, event handlers) as an error log line. */
export function reportError(error) {
  emit('error', 'Uncaught ' + inspect(error));
}

function label(l) {
  return l === undefined ? 'default' : String(l);
}

function renderTable(data, columnsFilter) {
  const rows = [];
  const columns = [];
  let hasValues = false;
  const addColumn = (k) => {
    if (!columns.includes(k)) columns.push(k);
  };
  const entries = data instanceof Map ? [...data] : Array.isArray(data) ? data.map((v, i) => [i, v]) : Object.keys(data).map((k) => [k, data[k]]);
  for (const [index, value] of entries.slice(0, MAX_ITEMS)) {
    const row = { index: formatValue(index, 1, new InspectContext(), typeof index !== 'number'), cells: new Map(), value: undefined };
    if (value !== null && typeof value === 'object') {
      for (const k of Object.keys(value)) {
        if (columnsFilter && !columnsFilter.includes(k)) continue;
        addColumn(k);
        row.cells.set(k, formatValue(value[k], 1, new InspectContext(), true));
      }
    } else {
      hasValues = true;
      row.value = formatValue(value, 1, new InspectContext(), true);
    }
    rows.push(row);
  }
  const header = ['(index)', ...columns, ...(hasValues ? ['Values'] : [])];
  const lines = rows.map((r) => [r.index, ...columns.map((c) => r.cells.get(c) ?? ''), ...(hasValues ? [r.value ?? ''] : [])]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)) + 2);
  const line = (l, r, m) => l + widths.map((w) => '─'.repeat(w)).join(m) + r;
  const row = (cells) => '│' + cells.map((c, i) => ' ' + c.padEnd(widths[i] - 1)).join('│') + '│';
  return [line('┌', '┐', '┬'), row(header), line('├', '┤', '┼'), ...lines.map(row), line('└', '┘', '┴')].join('\n');
}

export const console = {
  log: (...args) => emit('log', formatArgs(args)),
  info: (...args) => emit('info', formatArgs(args)),
  warn: (...args) => emit('warn', formatArgs(args)),
  error: (...args) => emit('error', formatArgs(args)),
  debug: (...args) => emit('debug', formatArgs(args)),
  trace: (...args) => {
    let stack = '';
    try {
      stack = String(new Error().stack).split('\n').slice(2).join('\n');
    } catch {}
    emit('log', `Trace${args.length ? ': ' + formatArgs(args) : ''}${stack ? '\n' + stack : ''}`);
  },
  assert: (condition, ...args) => {
    if (condition) return;
    emit('error', args.length ? `Assertion failed: ${formatArgs(args)}` : 'Assertion failed');
  },
  dir: (value) => emit('log', inspect(value)),
  dirxml: (...args) => emit('log', formatArgs(args)),
  table: (data, columns) => {
    try {
      if (data === null || typeof data !== 'object') return emit('log', formatArgs([data]));
      emit('log', truncate(renderTable(data, Array.isArray(columns) ? columns.map(String) : undefined)));
    } catch {
      emit('log', formatArgs([data]));
    }
  },
  count: (l) => {
    const k = label(l);
    const n = (counts.get(k) ?? 0) + 1;
    counts.set(k, n);
    emit('log', `${k}: ${n}`);
  },
  countReset: (l) => void counts.delete(label(l)),
  time: (l) => {
    const k = label(l);
    if (timers.has(k)) return emit('warn', `Label '${k}' already exists for console.time()`);
    timers.set(k, Date.now());
  },
  timeLog: (l, ...args) => {
    const k = label(l);
    const start = timers.get(k);
    if (start === undefined) return emit('warn', `No such label '${k}' for console.timeLog()`);
    emit('log', `${k}: ${Date.now() - start}ms${args.length ? ' ' + formatArgs(args) : ''}`);
  },
  timeEnd: (l) => {
    const k = label(l);
    const start = timers.get(k);
    if (start === undefined) return emit('warn', `No such label '${k}' for console.timeEnd()`);
    timers.delete(k);
    emit('log', `${k}: ${Date.now() - start}ms`);
  },
  group: (...args) => {
    if (args.length) emit('log', formatArgs(args));
    groupIndent += '  ';
  },
  groupCollapsed: (...args) => {
    if (args.length) emit('log', formatArgs(args));
    groupIndent += '  ';
  },
  groupEnd: () => {
    groupIndent = groupIndent.slice(0, -2);
  },
  clear: () => {},
};
Object.defineProperty(console, Symbol.toStringTag, { value: 'console', configurable: true });
