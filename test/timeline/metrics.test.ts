import { describe, expect, it } from 'vitest';
import { incidentMetrics } from '../../src/timeline/metrics.ts';
import { containerEscapeRunbook } from '../../workflows/catalog.ts';
import { acted, at, ev, opening, requested, timeline, type Draft } from './build.ts';

const containmentSteps = containerEscapeRunbook.containment;

function metricsOf(...drafts: Draft[]) {
  return incidentMetrics(timeline('container-escape.shop:web-1', ...drafts), { containmentSteps });
}

/** Every containment step of the container-escape runbook done without a gate, the last at 60s. */
const allContained = [...acted(20, 'isolate-pod'), ...acted(40, 'detach-from-rotation'), ...acted(59, 'cordon-node')];

describe('incident metrics: detection and acknowledgement', () => {
  it('detection is the first alert, and every time is measured from it', () => {
    const m = metricsOf(
      ev(0, 'incident.opened', { runbook: 'container-escape', version: 3, mode: 'live', requester: 'cli:alice', targets: ['pod:shop/web-1'] }),
      ev(30, 'alert.received', { source: 'falco', severity: 'critical', summary: 'Shell spawned' }),
      ev(31, 'evidence.sealed', { name: 'pod.json', sha256: 'a'.repeat(64), bytes: 42, uri: 'file:///e' }, { step: 'collect-evidence' }),
      ...acted(90, 'isolate-pod'),
    );
    expect(m.detectedAt).toBe(at(30));
    expect(m.timeToFirstContainment).toBe(61_000);
  });

  it('detection is the start when the incident has no alert (a person opened it)', () => {
    const m = metricsOf(ev(0, 'incident.opened', { runbook: 'container-escape', version: 3, mode: 'live', requester: 'cli:alice', targets: ['pod:shop/web-1'] }));
    expect(m.detectedAt).toBe(at(0));
  });

  it('acknowledgement is the first vote a person casts', () => {
    const m = metricsOf(...opening(), requested(10, 'isolate-pod'), ev(70, 'approval.granted', { approvals: 1, required: 1 }, { step: 'isolate-pod', actor: 'slack:U012AB' }));
    expect(m.acknowledgedAt).toBe(at(70));
    expect(m.timeToAcknowledge).toBe(70_000);
  });

  it('acknowledgement is a rollback request or a close by a person, when nobody voted', () => {
    expect(metricsOf(...opening(), ev(45, 'rollback.requested', { reason: 'false positive' }, { step: 'rollback', actor: 'cli:bob' })).acknowledgedAt).toBe(at(45));
    expect(metricsOf(...opening(), ev(50, 'incident.closed', { reason: 'benign' }, { actor: 'cli:bob' })).acknowledgedAt).toBe(at(50));
  });

  it('is not acknowledged by what the policy or an alert did, and the close still counts as closed', () => {
    const m = metricsOf(
      ...opening(),
      ev(6, 'approval.skipped', { why: 'an auto-containment rule matched' }, { step: 'isolate-pod' }),
      ...acted(7, 'isolate-pod'),
      ev(600, 'incident.closed', { reason: 'resolved at the source' }, { actor: 'alert:alertmanager' }),
    );
    expect(m.acknowledgedAt).toBeNull();
    expect(m.timeToAcknowledge).toBeNull();
    expect(m.closedAt).toBe(at(600));
  });
});

describe('incident metrics: containment', () => {
  it('first contained is the first containment step to finish with its change in force', () => {
    const m = metricsOf(...opening(), ...acted(20, 'isolate-pod'), ...acted(40, 'cordon-node'));
    expect(m.firstContainedAt).toBe(at(21));
    expect(m.timeToFirstContainment).toBe(21_000);
  });

  it('a step that is not containment (evidence, deleting the pod) does not contain', () => {
    const m = metricsOf(...opening(), ...acted(20, 'delete-pod'));
    expect(m.firstContainedAt).toBeNull();
  });

  it('a change already in place counts as contained', () => {
    const m = metricsOf(...opening(), ...acted(20, 'isolate-pod', 2, 'action.already-done'));
    expect(m.firstContainedAt).toBe(at(22));
  });

  it('fully contained is when the last containment step finished, once every one has', () => {
    const m = metricsOf(...opening(), ...allContained, ...acted(120, 'delete-pod'));
    expect(m.fullyContainedAt).toBe(at(60));
    expect(m.timeToFullContainment).toBe(60_000);
  });

  it('never contained: first and full containment are null', () => {
    const m = metricsOf(...opening(), requested(10, 'isolate-pod'), ev(40, 'approval.denied', { reason: 'benign' }, { step: 'isolate-pod', actor: 'cli:bob' }));
    expect(m).toMatchObject({ firstContainedAt: null, fullyContainedAt: null, timeToFirstContainment: null, timeToFullContainment: null });
  });

  it('a denied containment step leaves the incident not fully contained', () => {
    const m = metricsOf(
      ...opening(),
      ...acted(20, 'isolate-pod'),
      ...acted(40, 'detach-from-rotation'),
      requested(50, 'cordon-node'),
      ev(80, 'approval.denied', { reason: 'node hosts the payment DB' }, { step: 'cordon-node', actor: 'cli:carol' }),
      ev(80, 'action.skipped', { action: 'cordon-node', why: 'the gate was denied' }, { step: 'cordon-node' }),
    );
    expect(m.firstContainedAt).toBe(at(21));
    expect(m.fullyContainedAt).toBeNull();
  });

  it('a failed containment action leaves the incident not fully contained', () => {
    const m = metricsOf(
      ...opening(),
      ...acted(20, 'isolate-pod'),
      ...acted(40, 'detach-from-rotation'),
      ev(50, 'action.started', { action: 'cordon node', target: 'node:n1', mode: 'live' }, { step: 'cordon-node' }),
      ev(51, 'action.failed', { action: 'cordon node', target: 'node:n1', error: 'forbidden', errorType: 'KubernetesForbidden' }, { step: 'cordon-node' }),
    );
    expect(m.fullyContainedAt).toBeNull();
  });

  it('a containment step still awaiting approval leaves the incident not fully contained', () => {
    const m = metricsOf(...opening(), ...acted(20, 'isolate-pod'), ...acted(40, 'detach-from-rotation'), requested(50, 'cordon-node'));
    expect(m.fullyContainedAt).toBeNull();
  });

  it('a containment step the runbook has not reached yet leaves the incident not fully contained', () => {
    const m = metricsOf(...opening(), ...acted(20, 'isolate-pod'), ...acted(40, 'detach-from-rotation'));
    expect(m.fullyContainedAt).toBeNull();
  });

  it('a containment action still running leaves the incident not fully contained', () => {
    const m = metricsOf(
      ...opening(),
      ...acted(20, 'isolate-pod'),
      ...acted(40, 'detach-from-rotation'),
      ev(50, 'action.started', { action: 'cordon node', target: 'node:n1', mode: 'live' }, { step: 'cordon-node' }),
    );
    expect(m.fullyContainedAt).toBeNull();
  });

  it('a containment step skipped as not applicable does not stand in the way', () => {
    const m = metricsOf(
      ...opening(),
      ...acted(20, 'isolate-pod'),
      ev(30, 'action.skipped', { action: 'take pod out of rotation', why: 'the pod is gone' }, { step: 'detach-from-rotation' }),
      ...acted(40, 'cordon-node'),
    );
    expect(m.fullyContainedAt).toBe(at(41));
  });

  it('a containment step the rollback stopped before it ran leaves the incident not fully contained', () => {
    const m = metricsOf(
      ...opening(),
      ...acted(20, 'isolate-pod'),
      ev(30, 'rollback.requested', { reason: 'false positive' }, { step: 'rollback', actor: 'cli:bob' }),
      ev(31, 'action.skipped', { action: 'detach-from-rotation', why: 'the incident was rolled back' }, { step: 'detach-from-rotation' }),
      ev(31, 'action.skipped', { action: 'cordon-node', why: 'the incident was rolled back' }, { step: 'cordon-node' }),
      ev(32, 'rollback.compensated', { action: 'unquarantine pod', target: 'pod:shop/web-1', detail: 'restored' }, { step: 'isolate-pod' }),
      ev(32, 'rollback.finished', { compensated: 1, failed: 0 }, { actor: 'cli:bob' }),
    );
    expect(m.firstContainedAt).toBe(at(21));
    expect(m.fullyContainedAt).toBeNull();
  });

  it('a dry run contains nothing: its containment times are null', () => {
    const m = metricsOf(...opening({ mode: 'dry-run' }), ...allContained);
    expect(m.firstContainedAt).toBeNull();
    expect(m.fullyContainedAt).toBeNull();
  });
});

describe('incident metrics: approval gates', () => {
  it('an approved gate: its wait from request to the approval that passed it, and who approved', () => {
    const m = metricsOf(
      ...opening(),
      requested(10, 'isolate-pod', { required: 2, twoPerson: true }),
      ev(70, 'approval.granted', { approvals: 1, required: 2 }, { step: 'isolate-pod', actor: 'cli:bob' }),
      ev(130, 'approval.granted', { approvals: 2, required: 2 }, { step: 'isolate-pod', actor: 'slack:U012AB' }),
    );
    expect(m.gates).toEqual([
      { step: 'isolate-pod', requestedAt: at(10), settledAt: at(130), waitMs: 120_000, outcome: 'approve', decidedBy: ['cli:bob', 'slack:U012AB'], escalations: 0, timedOut: false },
    ]);
  });

  it('a denied gate is decided by the denier alone', () => {
    const m = metricsOf(
      ...opening(),
      requested(10, 'cordon-node', { required: 2 }),
      ev(20, 'approval.granted', { approvals: 1, required: 2 }, { step: 'cordon-node', actor: 'cli:bob' }),
      ev(40, 'approval.denied', { reason: 'payment DB' }, { step: 'cordon-node', actor: 'cli:carol' }),
    );
    expect(m.gates[0]).toMatchObject({ outcome: 'deny', decidedBy: ['cli:carol'], waitMs: 30_000, timedOut: false });
  });

  it('a gate whose deadline passed: timeout-deny or timeout-proceed as the policy says, decided by nobody', () => {
    const deny = metricsOf(...opening(), requested(10, 'isolate-pod'), ev(910, 'approval.timed-out', { onTimeout: 'deny' }, { step: 'isolate-pod' }));
    const proceed = metricsOf(...opening(), requested(10, 'isolate-pod'), ev(910, 'approval.timed-out', { onTimeout: 'proceed' }, { step: 'isolate-pod' }));
    expect(deny.gates[0]).toMatchObject({ outcome: 'timeout-deny', timedOut: true, decidedBy: [], waitMs: 900_000 });
    expect(proceed.gates[0]).toMatchObject({ outcome: 'timeout-proceed', timedOut: true, decidedBy: [], waitMs: 900_000 });
  });

  it('an escalation is counted, and the gate is decided by whoever answered it', () => {
    const m = metricsOf(
      ...opening(),
      requested(10, 'isolate-pod'),
      ev(910, 'approval.timed-out', { onTimeout: 'escalate' }, { step: 'isolate-pod' }),
      ev(910, 'approval.escalated', { to: ['cli:dave'], deadline: at(1810) }, { step: 'isolate-pod' }),
      ev(1000, 'approval.granted', { approvals: 1, required: 1 }, { step: 'isolate-pod', actor: 'cli:dave' }),
    );
    expect(m.gates[0]).toMatchObject({ outcome: 'approve', escalations: 1, timedOut: false, decidedBy: ['cli:dave'], waitMs: 990_000 });
  });

  it('an escalated gate nobody answered is denied by its second deadline', () => {
    const m = metricsOf(
      ...opening(),
      requested(10, 'isolate-pod'),
      ev(910, 'approval.timed-out', { onTimeout: 'escalate' }, { step: 'isolate-pod' }),
      ev(910, 'approval.escalated', { to: ['cli:dave'], deadline: at(1810) }, { step: 'isolate-pod' }),
      ev(1810, 'approval.timed-out', { onTimeout: 'deny' }, { step: 'isolate-pod' }),
    );
    expect(m.gates[0]).toMatchObject({ outcome: 'timeout-deny', escalations: 1, timedOut: true, settledAt: at(1810) });
  });

  it('a gate auto-containment lifted while it waited settles then, as auto-contain', () => {
    const m = metricsOf(...opening(), requested(10, 'isolate-pod'), ev(25, 'approval.skipped', { why: 'an auto-containment rule matched' }, { step: 'isolate-pod' }));
    expect(m.gates[0]).toMatchObject({ outcome: 'auto-contain', waitMs: 15_000, decidedBy: [] });
  });

  it('a gate auto-containment lifted before it opened waited for nothing', () => {
    const m = metricsOf(...opening(), ev(6, 'approval.skipped', { why: 'an auto-containment rule matched' }, { step: 'isolate-pod' }));
    expect(m.gates).toEqual([{ step: 'isolate-pod', requestedAt: at(6), settledAt: at(6), waitMs: 0, outcome: 'auto-contain', decidedBy: [], escalations: 0, timedOut: false }]);
  });

  it('an open gate: settledAt, wait and outcome are null, and it adds nothing to the time waiting on approval', () => {
    const m = metricsOf(...opening(), requested(10, 'isolate-pod'));
    expect(m.gates[0]).toMatchObject({ settledAt: null, waitMs: null, outcome: null });
    expect(m.waitingOnApprovalMs).toBe(0);
  });

  it('a rollback that went ahead settles the gates still waiting, as rolled-back at its go-ahead', () => {
    const m = metricsOf(
      ...opening(),
      ...acted(20, 'isolate-pod'),
      requested(30, 'detach-from-rotation'),
      ev(100, 'rollback.requested', { reason: 'false positive' }, { step: 'rollback', actor: 'cli:bob' }),
      requested(100, 'rollback'),
      ev(160, 'approval.granted', { approvals: 1, required: 1 }, { step: 'rollback', actor: 'cli:carol' }),
      ev(161, 'rollback.compensated', { action: 'unquarantine pod', target: 'pod:shop/web-1', detail: 'restored' }, { step: 'isolate-pod' }),
      ev(161, 'rollback.finished', { compensated: 1, failed: 0 }, { actor: 'cli:bob' }),
    );
    expect(m.gates.map((g) => [g.step, g.outcome, g.settledAt])).toEqual([
      ['detach-from-rotation', 'rolled-back', at(160)],
      ['rollback', 'approve', at(160)],
    ]);
  });

  it('the time waiting on approval is the sum of every settled gate’s wait', () => {
    const m = metricsOf(
      ...opening(),
      requested(10, 'isolate-pod'),
      ev(70, 'approval.granted', { approvals: 1, required: 1 }, { step: 'isolate-pod', actor: 'cli:bob' }),
      ...acted(71, 'isolate-pod'),
      requested(80, 'cordon-node'),
      ev(980, 'approval.timed-out', { onTimeout: 'proceed' }, { step: 'cordon-node' }),
    );
    expect(m.waitingOnApprovalMs).toBe(60_000 + 900_000);
  });
});
