import { describe, it, expect } from 'vitest';
import { tokenize } from './lexer.ts';
describe('lexer', () => { it('lexes', () => { expect(tokenize('a.wit', 'x').length).toBe(2); }); });
