/** Writing a captured incident's history to test/histories/ (or FIREBREAK_HISTORIES_DIR), sanitised. */
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import type { CapturedHistoryFile } from '../../../src/replay/histories.ts';
import { sandbox } from '../../support/servers.ts';
import { sanitiseHistory } from './sanitise.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const historiesDir = process.env['FIREBREAK_HISTORIES_DIR'] ?? path.join(repoRoot, 'test/histories');

/** Secret values the capture seeds; sanitising refuses a history that holds one. */
export const seededSecrets: string[] = [];

function machineText(): [string, string][] {
  const s = sandbox();
  const pairs: [string, string][] = [
    [s.workDir, '/sandbox'],
    [repoRoot.replace(/\/$/, ''), '/repo'],
    [tmpdir(), '/tmp'],
    [s.motoEndpoint, 'http://127.0.0.1:5000'],
    [s.kubeServer, 'https://127.0.0.1:6443'],
    [s.registryUrl, 'http://127.0.0.1:5001'],
    [s.temporalAddress, '127.0.0.1:7233'],
  ];
  return pairs.filter(([from]) => from.length > 1).sort((a, b) => b[0].length - a[0].length);
}

/** Writes `<runbook>.<path>.json`: the incident's history so far, and the workflow id it ran under. */
export async function captureHistory(handle: WorkflowHandle, runbook: string, pathName: string): Promise<string> {
  const history = await handle.fetchHistory();
  const file: CapturedHistoryFile = {
    workflowId: handle.workflowId,
    path: `${runbook}: ${pathName}`,
    history: sanitiseHistory(history, { replace: machineText(), knownSecrets: seededSecrets }),
  };
  await mkdir(historiesDir, { recursive: true });
  const out = path.join(historiesDir, `${runbook}.${pathName}.json`);
  await writeFile(out, `${JSON.stringify(file, null, 1)}\n`);
  return out;
}
