import { describe, expect, it } from 'vitest';
import { blankCommentsAndStrings, findUnsupportedFeatures, unsupportedFeaturesMessage } from './unsupported-features.ts';

describe('unsupported Workers APIs found in a worker’s code', () => {
  it('finds each use once, with the first module that makes it', () => {
    const found = findUnsupportedFeatures([
      { path: 'a.js', source: 'const p = new WebSocketPair(); state.acceptWebSocket(p[1]);' },
      { path: 'b.js', source: 'const q = new  WebSocketPair;\nctx.getWebSockets("tag")' },
    ]);
    expect(found.map((f) => `${f.use}@${f.module}`)).toEqual(['new WebSocketPair()@a.js', 'ctx.acceptWebSocket()@a.js', 'ctx.getWebSockets()@b.js']);
    expect(unsupportedFeaturesMessage(found)).toMatch(/^The worker uses 3 Workers APIs this runtime does not support yet: new WebSocketPair\(\), ctx\.acceptWebSocket\(\), ctx\.getWebSockets\(\)\.\n {2}- new WebSocketPair\(\) \(in a\.js\): WebSockets/);
  });

  it('ignores comments and strings, but not code inside template substitutions', () => {
    const quiet = [
      '// new WebSocketPair()',
      '/* ctx.acceptWebSocket(ws) */',
      'const s = "new WebSocketPair()"; const t = \'x.getWebSockets()\';',
      'const u = `docs: new WebSocketPair() ${1 + 2} and ctx.acceptWebSocket()`;',
      'if (typeof WebSocketPair === "undefined") {}',
    ].join('\n');
    expect(findUnsupportedFeatures([{ path: 'q.js', source: quiet }])).toEqual([]);
    const loud = 'const u = `a ${ `b ${ new WebSocketPair() } c` } d`; const v = "}"';
    expect(findUnsupportedFeatures([{ path: 'l.js', source: loud }]).map((f) => f.use)).toEqual(['new WebSocketPair()']);
  });

  it('blanks keep every line and column in place', () => {
    const src = 'a("x\\"y") // c\n/* d\ne */ `t${b}u`';
    const out = blankCommentsAndStrings(src);
    expect(out.length).toBe(src.length);
    expect(out.split('\n').length).toBe(src.split('\n').length);
    expect(out).toContain('${b}');
    expect(out.startsWith('a("')).toBe(true);
  });
});
