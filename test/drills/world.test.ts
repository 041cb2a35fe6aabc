/**
 * The drill's simulated AWS behind the real SDK clients, driven by the
 * production activities: what they read and write is the scenario's state,
 * its errors take the production error mapping, and nothing is sent.
 */
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.ts';
import { awsFailure } from '../../domain/failures.ts';
import { guardNetwork } from '../../src/drills/network-guard.ts';
import { parseScenario } from '../../src/drills/load.ts';
import type { Fault } from '../../src/drills/scenario.ts';
import { createSimulatedWorld } from '../../src/drills/world/index.ts';

const startMs = Date.parse('2026-12-01T10:00:00Z');

const scenario = (extra = '') =>
  parseScenario(
    `version: 1
scenario: { name: world-test, title: World test, runbook: credential-compromise }
horizon: 2h
world:
  aws:
    accountId: "210987654321"
    users:
      - name: ci-deployer
        accessKeys: [{ id: AKIADRILLWORLDTEST01, status: Active }]
        loginProfile: true
        policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
    roles:
      - name: app-role
        trustPolicy: { Version: "2012-10-17", Statement: [] }
injects:
  - { at: 0s, source: generic, alert: { id: a, severity: high, rule: r, summary: s } }
${extra}`,
    'world-test.yaml',
  );

async function world(o: { faults?: Fault[]; seed?: number; extra?: string } = {}) {
  const s = scenario(o.extra);
  const w = await createSimulatedWorld(s.world, { faults: o.faults ?? s.faults, seed: o.seed ?? 1, scenarioStartMs: startMs, baseDir: '.' });
  let now = startMs;
  w.setClock(() => now);
  return { w, acts: createActivities(w.deps), at: (offsetMs: number) => (now = startMs + offsetMs) };
}

const incidentId = 'credential-compromise.drill.world-test.1';
const keyInput = { incidentId, userName: 'ci-deployer', accessKeyId: 'AKIADRILLWORLDTEST01', mode: 'live' as const };

describe('the simulated AWS world', () => {
  it('answers the production triage from the scenario: the key, its user and account', async () => {
    const { w, acts } = await world();
    const facts = await acts.triageCredential({ incidentId, targets: [{ kind: 'access-key', id: 'AKIADRILLWORLDTEST01' }] });
    expect(facts).toMatchObject({ account: '210987654321', keyType: 'long-term', keyStatus: 'Active', principal: { kind: 'user', name: 'ci-deployer', arn: 'arn:aws:iam::210987654321:user/ci-deployer' } });
    await w.close();
  });

  it('deactivates the key, and a second call finds it already done', async () => {
    const { w, acts } = await world();
    expect(await acts.deactivateAccessKey(keyInput)).toMatchObject({ outcome: 'changed' });
    expect(await acts.deactivateAccessKey(keyInput)).toMatchObject({ outcome: 'already-done' });
    expect(w.check({ kind: 'access-keys-inactive', user: 'ci-deployer' })).toMatchObject({ ok: true });
    await w.close();
  });

  it('sends nothing over the network for any call', async () => {
    const guard = guardNetwork();
    try {
      const { w, acts } = await world();
      await acts.triageCredential({ incidentId, targets: [{ kind: 'access-key', id: 'AKIADRILLWORLDTEST01' }] });
      await acts.deactivateAccessKey(keyInput);
      expect(guard.refused().count).toBe(0);
      await w.close();
    } finally {
      guard.release();
    }
  });

  it('answers a missing user as IAM does, which the activities record as gone', async () => {
    const { w, acts } = await world();
    expect(await acts.deactivateAccessKey({ ...keyInput, userName: 'nobody' })).toMatchObject({ outcome: 'target-gone' });
    await w.close();
  });

  it('throttles a call inside a fault window with the retryable throttled failure, and not outside it', async () => {
    const { w, acts, at } = await world({ faults: [{ service: 'iam', operation: 'UpdateAccessKey', error: 'throttled', rate: 1, from: 0, until: 120_000 }] });
    const failure = await acts.deactivateAccessKey(keyInput).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: awsFailure.throttled, nonRetryable: false });
    at(120_000);
    expect(await acts.deactivateAccessKey(keyInput)).toMatchObject({ outcome: 'changed' });
    expect(w.faultsInjected()).toBe(1);
    await w.close();
  });

  it('denies with the non-retryable access-denied failure that names the action', async () => {
    const { w, acts } = await world({ faults: [{ service: 'iam', operation: '*', error: 'denied', rate: 1, from: 0, until: 60_000 }] });
    await expect(acts.deactivateAccessKey(keyInput)).rejects.toMatchObject({ type: awsFailure.accessDenied, nonRetryable: true, message: expect.stringContaining('iam:ListAccessKeys') });
    await w.close();
  });

  it('fails the same calls for the same seed, and others for another seed', async () => {
    const draws = async (seed: number) => {
      const { w, acts, at } = await world({ seed, faults: [{ service: 'iam', operation: 'GetUser', error: 'unavailable', rate: 0.5, from: 0, until: 3_600_000 }] });
      const out: boolean[] = [];
      for (let i = 0; i < 32; i += 1) {
        at(i * 1000);
        out.push(await acts.triageCredential({ incidentId, targets: [{ kind: 'iam-user', id: 'ci-deployer' }] }).then(() => true, () => false));
      }
      await w.close();
      return out;
    };
    const a = await draws(7);
    expect(await draws(7)).toEqual(a);
    expect(await draws(8)).not.toEqual(a);
    expect(a.filter((ok) => !ok).length).toBeGreaterThan(4);
  });
});

describe('the adversary in the simulated world', () => {
  it('uses an active key, and is stopped once the key is inactive', async () => {
    const { w, acts } = await world();
    expect(w.attempt({ kind: 'iam:use-access-key', accessKey: 'AKIADRILLWORLDTEST01' })).toMatchObject({ succeeded: true });
    await acts.deactivateAccessKey(keyInput);
    expect(w.attempt({ kind: 'iam:use-access-key', accessKey: 'AKIADRILLWORLDTEST01' })).toMatchObject({ succeeded: false, detail: 'the key is inactive' });
    await w.close();
  });

  it('leaves a CloudTrail event for each key it creates, which evidence finds as the attacker’s change', async () => {
    const { w, acts, at } = await world();
    at(60_000);
    const made = w.attempt({ kind: 'iam:create-access-key', user: 'ci-deployer' });
    expect(made).toMatchObject({ succeeded: true });
    at(120_000);
    const facts = await acts.triageCredential({ incidentId, targets: [{ kind: 'access-key', id: 'AKIADRILLWORLDTEST01' }] });
    const captured = await acts.captureCredentialEvidence({ incidentId, facts, windowEnd: new Date(startMs + 120_000).toISOString() });
    expect(captured.facts.changes).toEqual([expect.objectContaining({ kind: 'access-key', eventName: 'CreateAccessKey', accessKeyId: 'AKIADRILLBACKDOOR001', userName: 'ci-deployer' })]);
    await w.close();
  });

  it('keeps using a stolen role session until sessions before the revocation are denied', async () => {
    const { w, acts, at } = await world();
    expect(w.attempt({ kind: 'sts:use-role-session', role: 'app-role' })).toMatchObject({ succeeded: true });
    at(300_000);
    await acts.revokeOlderSessions({ incidentId, principal: { kind: 'role', name: 'app-role' }, notBefore: new Date(startMs + 300_000).toISOString(), mode: 'live' });
    expect(w.attempt({ kind: 'sts:use-role-session', role: 'app-role' })).toMatchObject({ succeeded: false });
    expect(w.check({ kind: 'role-sessions-revoked', role: 'app-role' })).toMatchObject({ ok: true });
    await w.close();
  });

  it('signs in with the password until the login profile is deleted', async () => {
    const { w, acts } = await world();
    expect(w.attempt({ kind: 'iam:console-login', user: 'ci-deployer' })).toMatchObject({ succeeded: true });
    await acts.deleteLoginProfile({ incidentId, userName: 'ci-deployer', mode: 'live' });
    expect(w.attempt({ kind: 'iam:console-login', user: 'ci-deployer' })).toMatchObject({ succeeded: false });
    await w.close();
  });
});

describe('rollback residue', () => {
  it('lists what differs from the world before the runbook first wrote, naming the target', async () => {
    const { w, acts } = await world();
    await acts.deactivateAccessKey(keyInput);
    await acts.deleteLoginProfile({ incidentId, userName: 'ci-deployer', mode: 'live' });
    expect(w.residue()).toEqual(['access-key:AKIADRILLWORLDTEST01: Inactive, was Active (iam-user:ci-deployer)', 'iam-user:ci-deployer: login profile deleted']);
    await acts.reactivateAccessKey(keyInput);
    expect(w.residue()).toEqual(['iam-user:ci-deployer: login profile deleted']);
    await w.close();
  });

  it('is empty when the runbook wrote nothing, and ignores keys the adversary made', async () => {
    const { w } = await world();
    w.attempt({ kind: 'iam:create-access-key', user: 'ci-deployer' });
    expect(w.residue()).toEqual([]);
    await w.close();
  });

  it('is not fooled by dry-run: nothing was written, nothing is left', async () => {
    const { w, acts } = await world();
    expect(await acts.deactivateAccessKey({ ...keyInput, mode: 'dry-run' })).toMatchObject({ outcome: 'changed', detail: expect.stringContaining('dry-run') });
    expect(w.check({ kind: 'access-keys-inactive', user: 'ci-deployer' })).toMatchObject({ ok: false });
    expect(w.residue()).toEqual([]);
    await w.close();
  });
});
