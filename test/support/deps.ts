import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STSClient } from '@aws-sdk/client-sts';
import { afterAll } from 'vitest';
import { LocalEvidenceStore } from '../../activities/evidence/index.ts';
import type { ActivityDeps } from '../../activities/index.ts';
import { kubeClients } from '../../src/wiring/clients.ts';
import { recordingNotifier } from './notices.ts';
import { awsClient, sandbox } from './servers.ts';

/**
 * The worker's activity dependencies wired to the test servers: the sandbox
 * cluster, this file's moto account, a recording notifier and an evidence
 * store in a temporary folder removed after the file.
 */
export async function testDeps(overrides: Partial<ActivityDeps> = {}): Promise<ActivityDeps & { evidenceDir: string }> {
  const evidenceDir = await mkdtemp(join(tmpdir(), 'firebreak-evidence-'));
  afterAll(() => rm(evidenceDir, { recursive: true, force: true }));
  return {
    kube: kubeClients(sandbox().kubeconfigPath),
    sts: awsClient(STSClient),
    notifier: recordingNotifier(),
    evidence: new LocalEvidenceStore(evidenceDir),
    evidenceDir,
    ...overrides,
  };
}
