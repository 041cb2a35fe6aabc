import { Option, type Command } from 'commander';
import {
  EvidenceError,
  EvidenceStoreUnavailableError,
} from '../../../activities/evidence/errors.ts';
import type { EvidenceStore, VerifyItem } from '../../../activities/evidence/types.ts';
import { getConfig } from '../../config/index.ts';
import { exit, note, out, outJson, SilentFailure, UserError } from '../io.ts';

function short(sha256: string): string {
  return `sha256:${sha256.slice(0, 12)}`;
}

function line(item: VerifyItem): string {
  switch (item.status) {
    case 'ok':
      return `ok        ${item.name}  ${short(item.sha256)}`;
    case 'mismatch':
      return `MISMATCH  ${item.name}  expected sha256:${item.sha256} got sha256:${item.actualSha256 ?? '?'}`;
    case 'missing':
      return `MISSING   ${item.name}  sha256:${item.sha256} is no longer stored`;
  }
}

/**
 * Runs `fn` against the configured store. Storage that cannot be reached ends
 * the command with exit 2; any other evidence failure is something the user
 * must fix (exit 1), both as one line.
 */
async function withStore(fn: (store: EvidenceStore) => Promise<void>): Promise<void> {
  const config = getConfig();
  const { createEvidenceStore } = await import('../../wiring/evidence.ts');
  try {
    await fn(createEvidenceStore(config));
  } catch (e) {
    if (e instanceof EvidenceStoreUnavailableError) {
      note(`firebreak: ${e.message}`);
      throw new SilentFailure(exit.system);
    }
    if (e instanceof EvidenceError) throw new UserError(e.message);
    throw e;
  }
}

export function registerEvidence(program: Command): void {
  const evidence = program
    .command('evidence')
    .description('Inspect the sealed evidence of an incident (FIREBREAK_EVIDENCE_* choose the store).');

  evidence
    .command('verify')
    .description('Re-hash every item of an incident and report any that changed or vanished; exits 1 on tampering.')
    .argument('<incident>', 'incident id')
    .addOption(new Option('--json', 'print the report as JSON'))
    .action(async (incident: string, opts: { json?: boolean }) => {
      await withStore(async (store) => {
        const report = await store.verify(incident);
        if (opts.json) outJson(report);
        else {
          for (const item of report.items) out(line(item));
          const count = (status: VerifyItem['status']) => report.items.filter((i) => i.status === status).length;
          const n = report.items.length;
          out(
            report.ok
              ? `${n} item${n === 1 ? '' : 's'} of incident ${incident} verified: every one matches its recorded SHA-256.`
              : `TAMPERING DETECTED in incident ${incident}: ${count('mismatch')} changed, ${count('missing')} missing, ${count('ok')} of ${n} intact (${store.location}).`,
          );
        }
        if (!report.ok) throw new SilentFailure(exit.user);
      });
    });

  evidence
    .command('list')
    .description("List an incident's manifest: names, media types, sizes, hashes and where each item is stored.")
    .argument('<incident>', 'incident id')
    .addOption(new Option('--json', 'print the manifest as JSON'))
    .action(async (incident: string, opts: { json?: boolean }) => {
      await withStore(async (store) => {
        const entries = await store.manifest(incident);
        if (entries.length === 0) {
          throw new UserError(
            `No evidence manifest for incident "${incident}" in ${store.location}: check the incident id and the FIREBREAK_EVIDENCE_* settings.`,
          );
        }
        if (opts.json) outJson(entries);
        else {
          for (const e of entries) {
            out(`${e.capturedAt}  ${e.name}  ${e.mediaType}  ${e.bytes} bytes  ${short(e.sha256)}  ${e.uri}`);
          }
        }
      });
    });
}
