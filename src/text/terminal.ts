/**
 * Text from alerts and APIs is attacker-chosen (a Falco `output` carries file
 * names): printed raw, an ESC or OSC sequence rewrites the responder's terminal
 * and a CR hides what came before it. Everything Firebreak prints or renders
 * into a report goes through `printable`.
 */

// C0 controls except TAB and LF, DEL, C1 controls, and the Unicode line/paragraph
// separators and bidi overrides that reorder what a reader sees.
// eslint-disable-next-line no-control-regex
const unsafe = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

// C0 controls read best as `\x1b`; the rest take JSON's `\u009b` form. JSON.stringify escapes every C0
// control itself, so `printable` of JSON text only ever writes `\u` escapes there: the JSON stays valid
// and still parses to the original strings.
function escape(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  return code < 0x20 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every control character shown as a visible escape (`\x1b`, `\u009b`); keeps TAB and LF. */
export function printable(text: string): string {
  return text.replace(unsafe, escape);
}

/** `value` as indented JSON that a terminal shows as is: valid JSON, with no raw control character in it. */
export function printableJson(value: unknown): string {
  return printable(JSON.stringify(value, null, 2));
}

/** As `printable`, and LF too: for a value printed inside one line. */
export function printableLine(text: string): string {
  return printable(text).replace(/\n/g, '\\n').replace(/\t/g, '\\t');
}
