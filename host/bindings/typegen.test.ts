// The host implementations' types are generated from wit/ by jco, never edited by hand: the committed files must be
// exactly what `npm run typegen` writes now.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATED_DIR, platformTypes } from './typegen.ts';

describe('host/bindings/generated', () => {
  it('matches what jco generates from wit/ (run `npm run typegen` after changing the WIT)', async () => {
    const files = await platformTypes();
    expect(Object.keys(files).sort()).toContain('interfaces/edge-platform-log.d.ts');
    for (const [name, text] of Object.entries(files)) {
      expect(await readFile(join(GENERATED_DIR, name), 'utf8').catch(() => '(missing)'), name).toBe(text);
    }
  }, 60_000);
});
