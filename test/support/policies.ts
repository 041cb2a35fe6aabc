import { loadRunbookFile } from '../../src/runbooks/loader.ts';
import { runbookPolicy, type RunbookPolicy } from '../../src/runbooks/schema.ts';
import { workflowCatalog } from '../../workflows/catalog.ts';

/**
 * A shipped runbook policy (runbooks/*.yaml), validated by the loader, with
 * the gates of some steps (or `rollback`) replaced for a test.
 */
export async function shippedPolicy(file: string, gates: Partial<Record<string, unknown>> = {}): Promise<RunbookPolicy> {
  const { policy } = await loadRunbookFile(file, { catalog: workflowCatalog, groups: {} });
  const raw = structuredClone(policy) as unknown as { steps: { id: string; gate: unknown }[]; rollback: { gate: unknown } };
  // Re-parse from the policy's input shape: durations back to text.
  const toInput = (g: unknown): unknown =>
    typeof g === 'object' && g !== null && 'timeout' in g ? { ...g, timeout: (g as { timeout: { text: string } }).timeout.text } : g;
  return runbookPolicy.parse({
    ...raw,
    steps: raw.steps.map((s) => ({ ...s, gate: gates[s.id] ?? toInput(s.gate) })),
    rollback: { ...raw.rollback, gate: gates['rollback'] ?? toInput(raw.rollback.gate) },
  });
}
