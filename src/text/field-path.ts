/** A field path as a person reads it, for every validation message (runbook policies, start requests). */
export type FieldPath = readonly PropertyKey[];

/** `['steps', 2, 'gate', 'timeout']` → `steps[2].gate.timeout`. */
export function formatFieldPath(fieldPath: FieldPath): string {
  let text = '';
  for (const segment of fieldPath) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else {
      const key = String(segment);
      text += /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `${text === '' ? '' : '.'}${key}` : `[${JSON.stringify(key)}]`;
    }
  }
  return text;
}
