import { describe, expect, it } from 'vitest';
import { bind, celText, re2, record, str } from '../../src/cel/expr.js';

describe('CEL text helpers', () => {
  it('quotes a string literal so quotes, backslashes and line breaks survive', () => {
    expect(str("it's a \\ path\n")).toBe("'it\\'s a \\\\ path\\n'");
    expect(str('tab\tand \u0001')).toBe("'tab\\tand \\x01'");
  });

  it('writes a template as quoted literals and parenthesised expressions', () => {
    expect(celText`container '${'c.name'}' exits`).toBe(String.raw`('container \'' + (c.name) + '\' exits')`);
  });

  it('binds a value once, as CEL has no let', () => {
    expect(bind('x', 'a + b', 'x * x')).toBe('[a + b].map(x, x * x)[0]');
  });

  it('makes records of mixed types with dyn()', () => {
    expect(record({ name: 'c.name', index: 'i' })).toBe("{'name': dyn(c.name), 'index': dyn(i)}");
  });

  it('accepts the regular expressions RE2 shares with JavaScript and refuses lookaround', () => {
    expect(re2(/^(inf|infinity)$/i)).toBe('(?i)^(inf|infinity)$');
    expect(() => re2(/&(?!&)/)).toThrow(/lookaround/);
    expect(() => re2(/(a)\1/)).toThrow(/backreferences/);
  });
});
