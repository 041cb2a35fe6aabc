/**
 * A recorded incident made into a scenario and replayed: the incidents are
 * recorded by drills of the shipped scenarios (real runbook code on a
 * time-skipping server), then rebuilt from their timelines alone.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FromIncidentError, scenarioFromTimeline } from '../../src/drills/from-incident.ts';
import { loadInjects, loadScenario, parseScenario } from '../../src/drills/load.ts';
import { drillPolicies } from '../../src/drills/policies.ts';
import { runDrill } from '../../src/drills/run.ts';
import type { Scorecard } from '../../src/drills/scorecard-types.ts';
import { repoRoot } from '../../src/sandbox/tools.ts';
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import { sandbox } from '../support/servers.ts';

async function drillOf(loaded: Awaited<ReturnType<typeof loadScenario>>): Promise<Scorecard> {
  return runDrill({ loaded, ...(await drillPolicies({ scenario: loaded.scenario })), testServerPath: sandbox().temporalTestServerPath });
}

async function replay(timeline: readonly TimelineEvent[], name: string): Promise<{ yaml: string; card: Scorecard }> {
  const { yaml } = scenarioFromTimeline(timeline, { name, source: 'recorded.json' });
  const scenario = parseScenario(yaml, `${name}.yaml`);
  return { yaml, card: await drillOf({ file: `${name}.yaml`, scenario, injects: await loadInjects(scenario, '.') }) };
}

/** The shape of a timeline: each event's type and step, in order. */
const shape = (t: readonly TimelineEvent[]) => t.map((e) => `${e.type}${e.step === undefined ? '' : ` ${e.step}`}`);

describe('scenario from-incident', () => {
  it('replays a leaked-key incident with the same sequence of events, its identifiers replaced', async () => {
    const recorded = await drillOf(await loadScenario(path.join(repoRoot, 'scenarios', 'leaked-ci-key.yaml')));
    const { yaml, card } = await replay(recorded.timeline, 'leaked-key-replay');
    expect(shape(card.timeline)).toEqual(shape(recorded.timeline));
    expect(card.missedExpectations).toBe(0);
    for (const real of ['AKIADRILLCIDEPLOY001', 'ci-deployer', 'secret-scan-4711']) expect(yaml).not.toContain(real);
    expect(yaml).toContain('AKIAPLACEHOLDER00001');
  });

  it('keeps each vote’s real delay, and turns the approver who never answered into an unreachable one, so the replay escalates too', async () => {
    const recorded = await drillOf(await loadScenario(path.join(repoRoot, 'scenarios', 'role-session-abuse.yaml')));
    const { yaml, card } = await replay(recorded.timeline, 'role-session-replay');
    const scenario = parseScenario(yaml, 'replay.yaml');
    expect(scenario.responders).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: 'cli:bob', decide: [expect.objectContaining({ step: 'revoke-role-sessions', decision: 'approve', after: 300_000, onEscalation: true })] }),
        expect.objectContaining({ id: 'cli:alice', unreachable: true }),
      ]),
    );
    expect(shape(card.timeline)).toEqual(shape(recorded.timeline));
    expect(card.metrics.gates.find((g) => g.step === 'revoke-role-sessions')).toMatchObject({ escalations: 1, decidedBy: ['cli:bob'] });
  });

  it('refuses an incident on a pod, which the simulated world does not have, saying so', () => {
    const opened = { id: 'x#0001', seq: 1, type: 'incident.opened', at: '2026-12-01T10:00:00.000Z', data: { runbook: 'container-escape', version: 1, mode: 'live', requester: 'alert:falco', targets: ['pod:shop/web-1'] } } as TimelineEvent;
    expect(() => scenarioFromTimeline([opened], { name: 'x', source: 'x.json' })).toThrow(FromIncidentError);
    expect(() => scenarioFromTimeline([opened], { name: 'x', source: 'x.json' })).toThrow(/acts on pod targets, which the simulated world does not have yet/);
  });

  it('refuses a file that holds no incident.opened event', () => {
    expect(() => scenarioFromTimeline([], { name: 'x', source: 'x.json' })).toThrow(/x\.json has no incident\.opened event/);
  });
});
