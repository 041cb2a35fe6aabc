/**
 * Whole drills: the shipped credential-compromise runbook against the
 * simulated world on a time-skipping server of each drill's own, directed
 * event by event and scored.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario, type LoadedScenario } from '../../src/drills/load.ts';
import { drillPolicies } from '../../src/drills/policies.ts';
import { runDrill } from '../../src/drills/run.ts';
import type { Scenario } from '../../src/drills/scenario.ts';
import type { Scorecard } from '../../src/drills/scorecard-types.ts';
import { repoRoot } from '../../src/sandbox/tools.ts';
import { sandbox } from '../support/servers.ts';

const minutes = (n: number) => n * 60_000;

async function shipped(name: string): Promise<LoadedScenario> {
  return loadScenario(path.join(repoRoot, 'scenarios', `${name}.yaml`));
}

async function drill(loaded: LoadedScenario, change: (s: Scenario) => void = () => undefined): Promise<Scorecard> {
  const scenario = structuredClone(loaded.scenario);
  change(scenario);
  const policies = await drillPolicies({ scenario });
  return runDrill({ loaded: { ...loaded, scenario }, ...policies, testServerPath: sandbox().temporalTestServerPath });
}

describe('a drill of the leaked CI key', () => {
  it('passes: the key is cut off after the on-call’s 4-minute approval, the backdoor key is never made', async () => {
    const card = await drill(await shipped('leaked-ci-key'));
    expect(card.pass).toBe(true);
    expect(card.missedExpectations).toBe(0);
    expect(card.timeToFirstContainment).toBeGreaterThanOrEqual(minutes(4));
    expect(card.timeToFirstContainment).toBeLessThan(minutes(5));
    expect(card.adversaryActionsAfterAlert).toBe(1);
    expect(card.adversary.filter((a) => a.kind === 'iam:create-access-key').every((a) => !a.succeeded)).toBe(true);
    expect(card.virtualMs).toBeGreaterThanOrEqual(minutes(120));
    expect(card.realCalls).toBe(0);
  });

  it('is marked a drill on its incident, its timeline and every notice it sent', async () => {
    const card = await drill(await shipped('leaked-ci-key'));
    expect(card.incidentId).toContain('.drill.leaked-ci-key.');
    const opened = card.timeline.find((e) => e.type === 'incident.opened');
    expect(opened?.type === 'incident.opened' && opened.data.drill).toBe(true);
    expect(card.notices.sent).toBeGreaterThan(0);
    expect(card.notices.markedDrill).toBe(card.notices.sent);
  });

  it('fails when nobody answers: the key is cut off only when the escalation times out, after the attacker minted a key', async () => {
    const card = await drill(await shipped('leaked-ci-key'), (s) => {
      s.responders = [];
    });
    expect(card.pass).toBe(false);
    expect(card.metrics.gates.find((g) => g.step === 'deactivate-access-key')).toMatchObject({ timedOut: true, escalations: 1, decidedBy: [] });
    expect(card.timeToFirstContainment).toBeGreaterThanOrEqual(minutes(30));
    expect(card.adversary.some((a) => a.kind === 'iam:create-access-key' && a.succeeded)).toBe(true);
    expect(card.expectations.find((e) => e.text.startsWith('deactivate-access-key done'))).toMatchObject({ met: false });
    expect(card.thresholds.find((t) => t.name === 'timeToFirstContainment')).toMatchObject({ met: false });
  });

  it('contains once IAM stops throttling, counting the faults it injected', async () => {
    const card = await drill(await shipped('leaked-ci-key'), (s) => {
      s.faults = [{ service: 'iam', operation: 'UpdateAccessKey', error: 'throttled', rate: 1, from: 0, until: minutes(6) }];
    });
    expect(card.faultsInjected).toBeGreaterThan(0);
    expect(card.timeToFirstContainment).toBeGreaterThanOrEqual(minutes(6) - 5_000);
    expect(card.expectations.find((e) => e.text.startsWith('access-keys-inactive'))).toMatchObject({ met: true });
  });

  it('rolls back to the world before the incident, except what cannot or may not be undone', async () => {
    const card = await drill(await shipped('leaked-ci-key'), (s) => {
      s.rollback = { at: minutes(50), by: 'cli:alice', reason: 'drill: rollback rehearsal' };
      s.responders.find((r) => r.id === 'cli:bob')!.decide.push({ step: 'rollback', decision: 'approve', after: minutes(3), onEscalation: false });
      s.expect = [{ rollbackRestores: true }];
    });
    expect(card.rollback).toMatchObject({ finished: true, restored: true, residue: [] });
    // The deleted password has no undo; the session revocation may not be lifted for 36 h.
    expect(card.rollback?.leftOnPurpose).toEqual([
      expect.stringMatching(/^iam-user:ci-deployer: login profile deleted \(.*no undo: delete login profile/),
      expect.stringMatching(/^iam-user:ci-deployer: inline policy AWSRevokeOlderSessions added \(.*not safe to undo yet/),
    ]);
    expect(card.expectations).toEqual([expect.objectContaining({ met: true })]);
  });
});

describe('a drill of the stolen role session', () => {
  it('passes through escalation: the first approver is unreachable, the escalation is answered', async () => {
    const card = await drill(await shipped('role-session-abuse'));
    expect(card.pass).toBe(true);
    const gate = card.metrics.gates.find((g) => g.step === 'revoke-role-sessions');
    expect(gate).toMatchObject({ outcome: 'approve', decidedBy: ['cli:bob'], escalations: 1 });
    expect(card.timeToFirstContainment).toBeGreaterThanOrEqual(minutes(35));
    expect(card.adversary.filter((a) => a.succeeded).every((a) => Date.parse(a.at) - Date.parse(card.startedAt) < minutes(40))).toBe(true);
  });
});
