/**
 * The supply-chain runbook's CI activities: workflow files of configured
 * repository checkouts that use a compromised action, and those files sealed
 * as evidence as found. Read-only: nothing here changes a checkout.
 */
import { readFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { sealItem, type EvidenceStore, type SealedItem as EvidenceRefSummary } from '../evidence/index.ts';
import { checkoutProblem, CiInputProblem, findWorkflowUses, workflowFileProblem, workflowPath, type FindWorkflowUsesInput, type WorkflowUse } from './workflows.ts';

export { allRepositorySecrets, maxWorkflowBytes, parseUses, type FindWorkflowUsesInput, type WorkflowUse } from './workflows.ts';

export const ciFailure = {
  /** A checkout, action or file in the input is not what it must be: refused before anything is read. */
  invalidInput: 'CiInvalidInput',
} as const;

export type { SealedItem as EvidenceRefSummary } from '../evidence/index.ts';

const refused = (problem: string) =>
  ApplicationFailure.create({ type: ciFailure.invalidInput, nonRetryable: true, message: `Refused before reading any file: ${problem}.`, details: [{ problem }] });

export function createCiActivities(deps: { evidence: EvidenceStore }) {
  const seal = (incidentId: string, name: string, content: string | Uint8Array, mediaType: string): Promise<EvidenceRefSummary> =>
    sealItem(deps.evidence, { incidentId, name, content, mediaType });

  return {
    findWorkflowUses: async (input: FindWorkflowUsesInput): Promise<{ uses: WorkflowUse[]; scanned: number; problems: string[] }> => {
      try {
        return await findWorkflowUses(input);
      } catch (e) {
        if (e instanceof CiInputProblem) throw refused(e.message);
        throw e;
      }
    },

    captureWorkflowEvidence: async (input: { incidentId: string; files: { checkout: string; file: string }[] }): Promise<{ refs: EvidenceRefSummary[] }> => {
      const problem = input.files.map((f) => checkoutProblem(f.checkout) ?? workflowFileProblem(f.file)).find((p) => p !== undefined);
      if (problem !== undefined) throw refused(problem);
      const seen = new Set<string>();
      const files = input.files.filter((f) => {
        const key = `${f.checkout}\0${f.file}`;
        return seen.has(key) ? false : (seen.add(key), true);
      });
      const refs: EvidenceRefSummary[] = [];
      const listing: { checkout: string; file: string; sha256?: string; problem?: string }[] = [];
      // One after the other, in input order: the manifest reads the same on every attempt.
      for (const f of files) {
        const where = await workflowPath(f.checkout, f.file);
        if ('problem' in where) {
          listing.push({ ...f, problem: where.problem });
          continue;
        }
        const ref = await seal(input.incidentId, `workflow ${f.checkout}/${f.file}`, await readFile(where.path), 'application/yaml');
        refs.push(ref);
        listing.push({ ...f, sha256: ref.sha256 });
      }
      refs.push(await seal(input.incidentId, 'workflow files.json', `${JSON.stringify({ files: listing }, null, 2)}\n`, 'application/json'));
      return { refs };
    },
  };
}

export type CiActivities = ReturnType<typeof createCiActivities>;
