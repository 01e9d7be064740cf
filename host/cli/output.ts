// How the `edge` CLI prints: errors as `error E_CODE: message` plus details, aligned tables, readable tail events.

import { styleText } from 'node:util';
import type { TailEvent } from './admin-client.ts';

type Style = Parameters<typeof styleText>[0];

/** Colors only when the stream is a terminal and NO_COLOR/NODE_DISABLE_COLORS allow it (styleText checks both). */
export function paint(style: Style, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  return styleText(style, text, { stream });
}

export interface PrintableError { code: string; message: string; details?: Record<string, unknown> | undefined }

export function isPrintableError(e: unknown): e is PrintableError {
  return e instanceof Error && typeof (e as Partial<PrintableError>).code === 'string' && (e as Partial<PrintableError>).code!.startsWith('E_');
}

export function formatError(e: unknown, stream: NodeJS.WriteStream = process.stderr): string {
  if (!isPrintableError(e)) {
    const text = e instanceof Error ? (process.env['EDGE_DEBUG'] ? (e.stack ?? e.message) : e.message) : String(e);
    return `${paint(['red', 'bold'], 'error', stream)} E_INTERNAL: ${text}\n`;
  }
  let out = `${paint(['red', 'bold'], 'error', stream)} ${e.code}: ${e.message}\n`;
  for (const [key, value] of Object.entries(e.details ?? {})) {
    if (value === undefined) continue;
    out += `  ${paint('dim', `${key}:`, stream)} ${typeof value === 'string' ? value : JSON.stringify(value)}\n`;
  }
  return out;
}

export function printError(e: unknown): void {
  process.stderr.write(formatError(e));
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function formatTime(t: string | number | null | undefined): string {
  if (t === null || t === undefined || t === '') return '-';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString();
}

const LEVEL_STYLE: Record<TailEvent['level'], Style> = { log: 'reset', info: 'cyan', warn: 'yellow', error: 'red', debug: 'dim' };

/** One tail event as text: `time  worker@version  level  message`, then the stack indented for exceptions. */
export function formatTailEvent(ev: TailEvent, stream: NodeJS.WriteStream = process.stdout): string {
  const level = paint(LEVEL_STYLE[ev.level] ?? 'reset', (ev.level ?? 'log').padEnd(5), stream);
  const where = paint('dim', ev.version ? `${ev.worker}@${ev.version}` : ev.worker, stream);
  let message = ev.message;
  if (ev.kind === 'exception') message = `${paint(['red', 'bold'], 'exception', stream)}: ${message}`;
  else if (ev.kind === 'limit') message = `${paint(['red', 'bold'], `limit ${ev.code ?? 'exceeded'}`, stream)}: ${message}`;
  else if (ev.kind === 'request') message = `${paint('dim', 'request', stream)} ${message}`;
  else if (ev.code) message = `${message} (${ev.code})`;
  let out = `${paint('dim', formatTime(ev.ts), stream)}  ${where}  ${level}  ${message}\n`;
  if (ev.stack) {
    // Engines put the message on the stack's first line; avoid printing it twice.
    const lines = ev.stack.split('\n');
    const frames = lines[0] && ev.message && lines[0].includes(ev.message) ? lines.slice(1) : lines;
    for (const frame of frames) if (frame.trim()) out += `    ${frame.trim()}\n`;
  }
  return out;
}
