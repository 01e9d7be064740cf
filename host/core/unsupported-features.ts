// Workers APIs a JS worker's code uses that this runtime does not have yet. A worker that uses one is refused at
// deploy, with every missing piece named in one message, rather than deployed to fail at run time with a
// ReferenceError or a TypeError on its first request.
//
// The scan looks at the code only (comments and string/template literals are blanked first), for uses that cannot be
// anything else: constructing a WebSocketPair, and the Durable Object WebSocket calls on `ctx`/`state`.

export interface UnsupportedFeature {
  /** What the code uses, as the user wrote it. */
  use: string;
  /** Why it is refused, in a few words. */
  why: string;
}

const FEATURES: ReadonlyArray<{ re: RegExp; use: string; why: string }> = [
  { re: /\bnew\s+WebSocketPair\b/, use: 'new WebSocketPair()', why: 'WebSockets (accepting or proxying an upgrade) are not supported by this runtime yet' },
  { re: /\.acceptWebSocket\s*\(/, use: 'ctx.acceptWebSocket()', why: 'WebSocket hibernation in Durable Objects is not supported by this runtime yet' },
  { re: /\.getWebSockets\s*\(/, use: 'ctx.getWebSockets()', why: 'WebSocket hibernation in Durable Objects is not supported by this runtime yet' },
  { re: /\.setWebSocketAutoResponse\s*\(/, use: 'ctx.setWebSocketAutoResponse()', why: 'WebSocket hibernation in Durable Objects is not supported by this runtime yet' },
];

/** The unsupported features `modules` use, each once, with the first module that uses it. */
export function findUnsupportedFeatures(modules: ReadonlyArray<{ path: string; source: string }>): Array<UnsupportedFeature & { module: string }> {
  const found: Array<UnsupportedFeature & { module: string }> = [];
  for (const m of modules) {
    const code = blankCommentsAndStrings(m.source);
    for (const f of FEATURES) {
      if (found.some((x) => x.use === f.use)) continue;
      if (f.re.test(code)) found.push({ use: f.use, why: f.why, module: m.path });
    }
  }
  return found;
}

/** The deploy refusal for `found` (non-empty): one line naming every feature, then one line each. */
export function unsupportedFeaturesMessage(found: ReadonlyArray<UnsupportedFeature & { module: string }>): string {
  const lines = found.map((f) => `  - ${f.use} (in ${f.module}): ${f.why}`);
  return `The worker uses ${found.length === 1 ? 'a Workers API' : `${found.length} Workers APIs`} this runtime does not support yet: ${found.map((f) => f.use).join(', ')}.\n${lines.join('\n')}`;
}

/**
 * `source` with comments and the contents of string and template literals replaced by spaces (template
 * substitutions are kept: they are code). Regular expression literals are not recognised; a quote inside one can
 * only make the scan blank more code, never invent a use.
 */
export function blankCommentsAndStrings(source: string): string {
  const out = source.split('');
  const n = source.length;
  // Template nesting: each entry is the brace depth at which a `${` substitution was opened.
  const templates: number[] = [];
  let depth = 0;
  let i = 0;
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to && k < n; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  const template = (): void => {
    // At the character after a backquote or a substitution's closing brace: blank up to the closing backquote or the next `${`.
    const start = i;
    while (i < n) {
      const c = source[i]!;
      if (c === '\\') { i += 2; continue; }
      if (c === '`') { blank(start, i); i++; return; }
      if (c === '$' && source[i + 1] === '{') { blank(start, i); templates.push(depth); depth++; i += 2; return; }
      i++;
    }
    blank(start, n);
  };
  while (i < n) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      const end = source.indexOf('\n', i);
      blank(i, end < 0 ? n : end);
      i = end < 0 ? n : end;
    } else if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      blank(i, end < 0 ? n : end + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === '"' || c === "'") {
      const start = i++;
      while (i < n && source[i] !== c && source[i] !== '\n') i += source[i] === '\\' ? 2 : 1;
      blank(start + 1, i);
      i++;
    } else if (c === '`') {
      i++;
      template();
    } else if (c === '{') {
      depth++;
      i++;
    } else if (c === '}') {
      depth--;
      i++;
      if (templates.length && templates[templates.length - 1] === depth) {
        templates.pop();
        template();
      }
    } else {
      i++;
    }
  }
  return out.join('');
}
