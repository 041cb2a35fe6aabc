import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario, ScenarioError } from '../../src/drills/load.ts';
import { drillPolicies, DrillSetupError } from '../../src/drills/policies.ts';
import { repoRoot } from '../../src/sandbox/tools.ts';

const minimal = `version: 1
scenario: { name: tiny, title: A tiny drill, runbook: credential-compromise }
horizon: 30m
injects:
  - { at: 0s, source: generic, alert: { id: a1, severity: high, rule: r, summary: s, entities: { accessKey: AKIADRILLTINY0000001 } } }
`;

function problems(text: string): string[] {
  try {
    parseScenario(text, 'drill.yaml');
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems;
    throw e;
  }
  throw new Error('the scenario parsed');
}

describe('scenario files', () => {
  it('reads offsets as milliseconds from the start, the start itself included', () => {
    const s = parseScenario(minimal.replace('horizon: 30m', 'horizon: 2h'), 'drill.yaml');
    expect(s.horizon).toBe(2 * 3_600_000);
    expect(s.injects[0]!.at).toBe(0);
  });

  it('fills the defaults a short scenario leaves out: seed 1, no faults, missed expectations and real calls must be 0', () => {
    const s = parseScenario(minimal, 'drill.yaml');
    expect(s.scenario.seed).toBe(1);
    expect(s.faults).toEqual([]);
    expect(s.pass.missedExpectations).toMatchObject({ op: '<=', value: 0 });
    expect(s.pass.realCalls).toMatchObject({ op: '<=', value: 0 });
  });

  it('names the line and field of a time it cannot read', () => {
    expect(problems(minimal.replace('horizon: 30m', 'horizon: half an hour'))).toEqual([expect.stringMatching(/^drill\.yaml:3:\d+: horizon: expected a time such as "0s", "90s", "15m" or "2h"/)]);
  });

  it('refuses an inject after the horizon, naming it', () => {
    expect(problems(minimal.replace('at: 0s', 'at: 45m'))).toEqual([expect.stringMatching(/^drill\.yaml:5:\d+: injects\[0\]\.at: the inject is after the horizon/)]);
  });

  it('refuses an inject given both inline and as a file', () => {
    expect(problems(minimal.replace('source: generic,', 'source: generic, file: alert.json,')).join('\n')).toContain('give the alert inline (alert) or as a file (file), not both');
  });

  it('refuses an unknown key rather than ignoring a misspelt one', () => {
    expect(problems(minimal.replace('horizon: 30m', 'horizon: 30m\nresponder: []')).join('\n')).toMatch(/drill\.yaml:4:\d+: responder: unknown key "responder"; expected one of: .*responders/);
  });

  it('refuses a Kubernetes world, which the simulated world does not have yet', () => {
    expect(problems(`${minimal}world: { kubernetes: { pods: [] } }\n`).join('\n')).toMatch(/world.*kubernetes/);
  });

  it('refuses an access key id IAM would never issue', () => {
    const text = `${minimal}world: { aws: { users: [{ name: u, accessKeys: [{ id: not-a-key }] }] } }\n`;
    expect(problems(text).join('\n')).toContain('expected an access key id such as AKIAIOSFODNN7EXAMPLE');
  });

  it('reads a YAML syntax error with its line', () => {
    expect(problems('version: 1\nscenario: [\n')[0]).toMatch(/^drill\.yaml:\d+: YAML syntax error/);
  });

  it('says a scenario file that does not exist is missing', async () => {
    await expect(loadScenario('/nonexistent/drill.yaml')).rejects.toThrow(/\/nonexistent\/drill\.yaml: .*(no such|not found|does not exist)/i);
  });

  it('loads every shipped scenario, with its injects read from their files', async () => {
    const dir = path.join(repoRoot, 'scenarios');
    const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) {
      const loaded = await loadScenario(path.join(dir, f));
      expect(loaded.injects.length, f).toBeGreaterThan(0);
      for (const i of loaded.injects) expect(() => JSON.parse(i.body) as unknown, f).not.toThrow();
    }
  });

  it('expands a repeated inject into an alert storm, stopping at the horizon', async () => {
    const s = parseScenario(minimal.replace('at: 0s, source: generic,', 'at: 0s, repeat: 100, every: 1m, source: generic,'), 'drill.yaml');
    const { loadInjects } = await import('../../src/drills/load.ts');
    const injects = await loadInjects(s, '.');
    expect(injects).toHaveLength(31);
    expect(injects.at(-1)!.at).toBe(30 * 60_000);
  });
});

describe('the policies a drill runs', () => {
  it('runs the shipped policy of the scenario runbook', async () => {
    const { policy } = await drillPolicies({ scenario: parseScenario(minimal, 'drill.yaml') });
    expect(policy.id).toBe('credential-compromise');
  });

  it('refuses a runbook whose systems the simulated world does not have, saying which it covers', async () => {
    const s = parseScenario(minimal.replace('runbook: credential-compromise', 'runbook: container-escape'), 'drill.yaml');
    await expect(drillPolicies({ scenario: s })).rejects.toThrow(DrillSetupError);
    await expect(drillPolicies({ scenario: s })).rejects.toThrow(/containerEscape, which the simulated world cannot serve yet.*credentialCompromise/);
  });

  it('refuses a runbook no policy defines, listing those that exist', async () => {
    const s = parseScenario(minimal.replace('runbook: credential-compromise', 'runbook: nope'), 'drill.yaml');
    await expect(drillPolicies({ scenario: s })).rejects.toThrow(/"nope", which no policy defines \(have: .*credential-compromise/);
  });
});
