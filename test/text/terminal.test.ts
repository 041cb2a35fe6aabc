import { describe, expect, it } from 'vitest';
import { printable, printableLine } from '../../src/text/terminal.ts';

describe('terminal-safe text', () => {
  it('shows ESC, OSC and CR as visible escapes', () => {
    expect(printable('a\u001b[2Jb\u001b]0;pwned\u0007c\rd')).toBe('a\\x1b[2Jb\\x1b]0;pwned\\x07c\\x0dd');
  });

  it('shows C1 controls and bidi overrides', () => {
    expect(printable('x\u009by\u202ez')).toBe('x\\x9by\\u202ez');
  });

  it('leaves ordinary text, tabs and newlines alone (control)', () => {
    expect(printable('shell in pod storefront\t/etc/shadow\nnext')).toBe('shell in pod storefront\t/etc/shadow\nnext');
  });

  it('keeps a value on one line', () => {
    expect(printableLine('a\nb\tc')).toBe('a\\nb\\tc');
  });
});
