/**
 * A realistic scorecard, built by hand: the leaked-ci-key drill (a CI key in a
 * public commit, an attacker using it and minting a backdoor key), its
 * timeline and the metrics computed from it, as `drill run` would write them.
 */
import type { Scorecard } from '../../../src/drills/scorecard-types.ts';
import { incidentMetrics } from '../../../src/timeline/metrics.ts';
import { credentialCompromiseRunbook } from '../../../workflows/catalog.ts';
import { at, ev, timeline } from '../../timeline/build.ts';

const incidentId = 'credential-compromise.drill.210987654321:ci-deployer';
const user = 'user:ci-deployer';

function action(s: number, step: string, name: string, changed: string) {
  return [
    ev(s, 'action.started', { action: name, target: user, mode: 'live' }, { step }),
    ev(s + 1, 'action.succeeded', { action: name, target: user, changed }, { step }),
  ];
}

const events = timeline(
  incidentId,
  ev(0, 'incident.opened', { runbook: 'credential-compromise', version: 4, mode: 'live', requester: 'alert:generic', targets: [user], drill: true }),
  ev(0, 'alert.received', { source: 'generic', alertId: 'secret-scan-4711', rule: 'aws-access-key-in-public-repo', severity: 'high', summary: 'AWS access key AKIADRILLCIDEPLOY001 committed to github.com/acme/deploy-scripts' }),
  ev(2, 'evidence.sealed', { name: 'user.json', sha256: 'b'.repeat(64), bytes: 812, uri: 'drill://evidence/bb' }, { step: 'collect-evidence' }),
  ev(3, 'evidence.sealed', { name: 'cloudtrail.json', sha256: 'c'.repeat(64), bytes: 20480, uri: 'drill://evidence/cc' }, { step: 'collect-evidence' }),
  ev(4, 'approval.requested', { approvers: ['cli:alice'], required: 1, twoPerson: false, deadline: at(904) }, { step: 'deactivate-access-key' }),
  ev(244, 'approval.granted', { approvals: 1, required: 1, reason: 'key is in a public commit' }, { step: 'deactivate-access-key', actor: 'cli:alice' }),
  ...action(244, 'deactivate-access-key', 'deactivate access key AKIADRILLCIDEPLOY001', 'Active → Inactive'),
  ...action(246, 'revoke-user-sessions', 'revoke user sessions', 'deny aws:TokenIssueTime before now'),
  ev(247, 'action.skipped', { action: 'revoke role sessions', why: 'the principal is user ci-deployer' }, { step: 'revoke-role-sessions' }),
  ev(247, 'approval.requested', { approvers: ['cli:alice', 'cli:bob'], required: 2, twoPerson: true, deadline: at(2047) }, { step: 'delete-login-profile' }),
  ev(1447, 'approval.granted', { approvals: 1, required: 2, reason: 'CI users need no console' }, { step: 'delete-login-profile', actor: 'cli:alice' }),
  ev(2047, 'approval.timed-out', { onTimeout: 'escalate' }, { step: 'delete-login-profile' }),
  ev(2047, 'approval.escalated', { to: ['cli:bob'], deadline: at(3847) }, { step: 'delete-login-profile' }),
  ev(2047, 'approval.granted', { approvals: 2, required: 2, reason: 'agreed' }, { step: 'delete-login-profile', actor: 'cli:bob' }),
  ...action(2047, 'delete-login-profile', 'delete login profile', 'deleted'),
);

/** A passing run: every threshold and expectation met. */
export function passingCard(): Scorecard {
  const metrics = incidentMetrics(events, { containmentSteps: credentialCompromiseRunbook.containment });
  return {
    schema: 'firebreak.scorecard/v1',
    drill: true,
    scenario: { name: 'leaked-ci-key', title: 'Leaked CI deploy key, attacker minting keys', runbook: 'credential-compromise', attack: ['T1552.001', 'T1078.004', 'T1098.001'], file: 'scenarios/leaked-ci-key.yaml' },
    world: 'simulated',
    incidentId,
    startedAt: at(0),
    horizonMs: 2 * 3600_000,
    virtualMs: 2 * 3600_000,
    wallMs: 1840,
    events: 31,
    timeToFirstContainment: metrics.timeToFirstContainment,
    timeToFullContainment: metrics.timeToFullContainment,
    adversaryActionsAfterAlert: 1,
    adversary: [
      { at: at(120), name: 'calls AWS with the leaked key', kind: 'iam:use-access-key', succeeded: true, afterAlert: true, detail: 'sts:GetCallerIdentity as ci-deployer' },
      { at: at(420), name: 'calls AWS with the leaked key', kind: 'iam:use-access-key', succeeded: false, afterAlert: true, detail: 'InvalidClientTokenId: the key is inactive' },
      { at: at(1500), name: 'creates a backdoor access key', kind: 'iam:create-access-key', succeeded: false, afterAlert: true, detail: 'AccessDenied: explicit deny on aws:TokenIssueTime' },
    ],
    metrics,
    evidence: { sealed: 2, names: ['user.json', 'cloudtrail.json'], sealedBeforeFirstChange: true, firstChangeAt: at(245) },
    rollback: null,
    realCalls: 0,
    realCallTargets: [],
    faultsInjected: 3,
    notices: { sent: 6, markedDrill: 6 },
    expectations: [
      { text: 'deactivate-access-key done within 10m of the first alert', met: true, detail: 'done at +4m5s' },
      { text: 'evidence sealed before the first change', met: true, detail: '2 items sealed; first change ' + at(245) },
      { text: 'access-keys-inactive ci-deployer at the end', met: true, detail: 'AKIADRILLCIDEPLOY001 Inactive' },
      { text: 'nothing real touched', met: true, detail: '0 connection(s) beyond loopback refused' },
    ],
    missedExpectations: 0,
    thresholds: [
      { name: 'timeToFirstContainment', threshold: '<= 10m', value: metrics.timeToFirstContainment, met: true },
      { name: 'adversaryActionsAfterAlert', threshold: '<= 1', value: 1, met: true },
      { name: 'missedExpectations', threshold: '0', value: 0, met: true },
      { name: 'realCalls', threshold: '0', value: 0, met: true },
    ],
    pass: true,
    timeline: events,
  };
}

/** The same drill failing: a slow first containment, a backdoor key minted, a rollback that left one behind. */
export function failingCard(): Scorecard {
  const card = passingCard();
  return {
    ...card,
    adversaryActionsAfterAlert: 2,
    adversary: [
      ...card.adversary.slice(0, 2),
      { at: at(1500), name: 'creates a backdoor access key', kind: 'iam:create-access-key', succeeded: true, afterAlert: true, detail: 'created AKIADRILLBACKDOOR002' },
    ],
    rollback: { requestedAt: at(5400), finished: true, restored: false, residue: ['access-key:AKIADRILLBACKDOOR002: Active, was Inactive (iam-user:ci-deployer)'], leftOnPurpose: ['iam-user:ci-deployer: login profile deleted (no undo (delete login profile (console password)))'] },
    expectations: [
      ...card.expectations.slice(0, 3),
      { text: 'the adversary stopped by +5m', met: false, detail: '1 succeeded after it, first: creates a backdoor access key at ' + at(1500) },
    ],
    missedExpectations: 1,
    thresholds: [
      { name: 'timeToFirstContainment', threshold: '<= 3m', value: card.timeToFirstContainment, met: false },
      { name: 'adversaryActionsAfterAlert', threshold: '<= 1', value: 2, met: false },
      { name: 'missedExpectations', threshold: '0', value: 1, met: false },
      { name: 'realCalls', threshold: '0', value: 0, met: true },
    ],
    pass: false,
  };
}
