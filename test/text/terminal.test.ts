import { describe, expect, it } from 'vitest';
import { printable, printableJson, printableLine } from '../../src/text/terminal.ts';

describe('terminal-safe text', () => {
  it('shows ESC, OSC and CR as visible escapes', () => {
    expect(printable('a\u001b[2Jb\u001b]0;pwned\u0007c\rd')).toBe('a\\x1b[2Jb\\x1b]0;pwned\\x07c\\x0dd');
  });

  it('shows C1 controls and bidi overrides, in the \\u form JSON also reads', () => {
    expect(printable('x\u009by\u202ez')).toBe('x\\u009by\\u202ez');
  });

  it('keeps JSON valid: controls inside its strings become JSON escapes that parse back to the original', () => {
    const value = { summary: 'a\u001b[2Jb\u007fc\u009bd\u2028e' };
    const json = printableJson(value);
    // eslint-disable-next-line no-control-regex
    expect(json).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028]/);
    expect(JSON.parse(json)).toEqual(value);
  });

  it('leaves ordinary text, tabs and newlines alone (control)', () => {
    expect(printable('shell in pod storefront\t/etc/shadow\nnext')).toBe('shell in pod storefront\t/etc/shadow\nnext');
  });

  it('keeps a value on one line', () => {
    expect(printableLine('a\nb\tc')).toBe('a\\nb\\tc');
  });
});
