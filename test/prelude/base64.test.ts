import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPreludeIsolate, type PreludeIsolate } from '../helpers/prelude-isolate.ts';

let pi: PreludeIsolate;
beforeAll(async () => {
  pi = await createPreludeIsolate();
});
afterAll(() => pi.dispose());

describe('atob / btoa', () => {
  it('btoa matches Node for every length and all Latin-1 bytes', async () => {
    const inputs = ['', 'a', 'ab', 'abc', 'abcd', 'hello world', String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i))];
    expect(await pi.run(`return ${JSON.stringify(inputs)}.map(btoa)`)).toEqual(inputs.map((s) => btoa(s)));
  });

  it('atob is forgiving: whitespace anywhere, optional padding; matches Node', async () => {
    const inputs = ['aGVsbG8=', 'aGVsbG8', ' aG Vs\tbG\n8= ', 'YQ==', 'YQ', 'YWI=', '', '////', '+/+/'];
    expect(await pi.run(`return ${JSON.stringify(inputs)}.map(atob)`)).toEqual(inputs.map((s) => atob(s)));
  });

  it('throws InvalidCharacterError DOMExceptions for bad input', async () => {
    expect(
      await pi.run(`
        const out = [];
        for (const s of ['a', 'abcde', 'ab=c', 'YQ===', '*abc', 'YQ=\\u00e9']) { try { atob(s); out.push('ok'); } catch (e) { out.push(e instanceof DOMException ? e.name + ':' + e.code : e.constructor.name); } }
        try { btoa('€'); } catch (e) { out.push(e.name); }
        try { btoa(); } catch (e) { out.push(e.constructor.name); }
        return out;
      `),
    ).toEqual([
      'InvalidCharacterError:5', 'InvalidCharacterError:5', 'InvalidCharacterError:5', 'InvalidCharacterError:5', 'InvalidCharacterError:5',
      'InvalidCharacterError:5', 'InvalidCharacterError', 'TypeError',
    ]);
  });
});
