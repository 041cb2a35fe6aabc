/**
 * The simulated world a drill's runbook acts on: the activities the worker
 * registers are the production ones (`createActivities`), given clients
 * that answer from the scenario's state instead of a cloud, an evidence
 * store in a throwaway directory, and a Slack that records what it is sent.
 * Only AWS (IAM, STS, CloudTrail) is simulated so far: a runbook that needs
 * Kubernetes or a registry finds no client and fails its step with the
 * not-configured error (docs/drills.md).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Notice, NoticeReceipt, Notifier } from '../../../activities/index.ts';
import { LocalEvidenceStore } from '../../../activities/evidence/local.ts';
import type { DrillWorld } from '../director.ts';
import type { Fault, WorldSpec } from '../scenario.ts';
import { SimulatedAws } from './aws.ts';
import { FaultPlan } from './faults.ts';

export interface WorldOptions {
  faults: readonly Fault[];
  seed: number;
  /** Virtual time the scenario starts at (the test server's clock). */
  scenarioStartMs: number;
  /** Where files the scenario names (a CloudTrail file) are read from. */
  baseDir: string;
}

export class WorldSetupError extends Error {
  override readonly name = 'WorldSetupError';
}

/** CloudTrail records from a file: a JSON array, or a trail log's `{ "Records": [...] }`. */
async function cloudTrailFile(file: string): Promise<Record<string, unknown>[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new WorldSetupError(`Cannot read the CloudTrail events of world.aws.cloudtrail.file (${file}): ${e instanceof Error ? e.message : String(e)}. Give a JSON array of records, or a trail log with "Records".`);
  }
  const records = Array.isArray(parsed) ? parsed : (parsed as { Records?: unknown } | null)?.Records;
  if (!Array.isArray(records) || records.some((r) => typeof r !== 'object' || r === null)) {
    throw new WorldSetupError(`${file} holds no CloudTrail records: give a JSON array of records, or a trail log with "Records".`);
  }
  return records as Record<string, unknown>[];
}

export async function createSimulatedWorld(spec: WorldSpec, o: WorldOptions): Promise<DrillWorld> {
  let now = () => o.scenarioStartMs;
  const clock = () => now();
  const faults = new FaultPlan(o.faults, o.seed, o.scenarioStartMs);
  const awsSpec = spec.aws;
  const extra = awsSpec?.cloudtrail.file === undefined ? [] : await cloudTrailFile(path.resolve(o.baseDir, awsSpec.cloudtrail.file));
  // The adversary's stolen sessions predate the drill.
  const aws = awsSpec === undefined ? undefined : new SimulatedAws(awsSpec, extra, faults, clock, o.scenarioStartMs - 10 * 60_000);
  const dir = await mkdtemp(path.join(tmpdir(), 'firebreak-drill-evidence-'));
  const sent: Notice[] = [];
  const notifier: Notifier = {
    send(notice: Notice): Promise<NoticeReceipt> {
      sent.push(notice);
      return Promise.resolve({ channel: 'CDRILL', ts: `${Math.floor(clock() / 1000)}.${String(sent.length).padStart(6, '0')}` });
    },
  };
  const absent = (what: string) => ({ succeeded: false, detail: `the scenario has no ${what}` });
  return {
    deps: {
      kube: undefined,
      sts: aws?.sts,
      iam: aws?.iam,
      cloudtrail: aws?.cloudtrail,
      notifier,
      evidence: new LocalEvidenceStore(dir, { now: clock }),
    },
    setClock(next) {
      now = next;
    },
    attempt: (action) => aws?.attempt(action) ?? absent('AWS world'),
    check: (c) => aws?.check(c) ?? { ok: false, detail: 'the scenario has no AWS world' },
    residue: () => aws?.residue() ?? [],
    notices: () => [...sent],
    faultsInjected: () => faults.count(),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
