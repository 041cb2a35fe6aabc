import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/intake/alert.ts';
import path from 'node:path';
import { normaliseBody, normalisePayload } from '../../src/intake/normalise.ts';
import { correlationKeyFor, matches, routeAlert } from '../../src/intake/router.ts';
import { shippedPolicy } from '../support/policies.ts';
import { fixture, testPolicies } from './helpers.ts';

const runbooksDir = path.join(import.meta.dirname, '..', '..', 'runbooks');

const receivedAt = '2026-11-28T15:00:00.000Z';
const { escape, credentials, miner, all } = testPolicies('router');

async function alertOf(source: Alert['source'], file: string, index = 0): Promise<Alert> {
  const alert = normaliseBody(source, await fixture(file), receivedAt)[index];
  if (alert === undefined) throw new Error(`no alert ${index} in ${file}`);
  return alert;
}

describe('routing by policy triggers', () => {
  it('routes a Falco container-escape rule to the container-escape runbook', async () => {
    const routes = routeAlert(await alertOf('falco', 'falco/release-agent-escape.json'), all);
    expect(routes.map((r) => r.policy.id)).toEqual([escape.id]);
  });

  it('routes a GuardDuty credential exfiltration finding by its finding type', async () => {
    const routes = routeAlert(await alertOf('guardduty', 'guardduty/iam-credential-exfiltration.json'), all);
    expect(routes.map((r) => r.policy.id)).toEqual([credentials.id]);
  });

  it('matches a finding type against a prefix ending in *', async () => {
    const routes = routeAlert(await alertOf('guardduty', 'guardduty/eks-runtime-host-mount.json'), all);
    expect(routes.map((r) => r.policy.id)).toEqual([escape.id]);
  });

  it('routes an Alertmanager alert by its labels and leaves the other alert of the group unrouted', async () => {
    expect(routeAlert(await alertOf('alertmanager', 'alertmanager/firing.json', 0), all).map((r) => r.policy.id)).toEqual([miner.id]);
    expect(routeAlert(await alertOf('alertmanager', 'alertmanager/firing.json', 1), all)).toEqual([]);
  });

  it('does not match a Falco alert below the trigger\'s minimum severity', async () => {
    const alert = { ...(await alertOf('falco', 'falco/terminal-shell.json')), severity: 'info' as const };
    expect(matches(alert, { source: 'falco', rules: ['Terminal shell in container'], minSeverity: 'low' })).toBe(false);
  });
});

describe('the shipped policies (runbooks/*.yaml) and Alertmanager', () => {
  const shipped = () => Promise.all(['container-escape', 'credential-compromise', 'supply-chain'].map((id) => shippedPolicy(path.join(runbooksDir, `${id}.yaml`))));
  const amAlert = (labels: Record<string, string>): Alert =>
    normalisePayload('alertmanager', { version: '4', status: 'firing', alerts: [{ status: 'firing', labels, startsAt: receivedAt }] }, receivedAt)[0]!;

  it('route an alert labelled firebreak_runbook=container-escape to container escape, on its pod', async () => {
    const routes = routeAlert(amAlert({ alertname: 'SuspiciousShell', firebreak_runbook: 'container-escape', namespace: 'shop', pod: 'web-1', severity: 'warning' }), await shipped());
    expect(routes.map((r) => [r.policy.id, r.targets[0]?.kind, r.targets[0]?.id])).toEqual([['container-escape', 'pod', 'shop/web-1']]);
  });

  it('route a critical alert named after Falco\'s release_agent rule to container escape', async () => {
    const routes = routeAlert(amAlert({ alertname: 'Detect release_agent File Container Escapes', namespace: 'shop', pod: 'web-1', severity: 'critical' }), await shipped());
    expect(routes.map((r) => r.policy.id)).toEqual(['container-escape']);
  });

  it('route an alert labelled firebreak_runbook=credential-compromise to credential compromise, on its key', async () => {
    const labels = { alertname: 'LeakedKey', firebreak_runbook: 'credential-compromise', account: '123456789012', principal: 'demo-ci-deployer', access_key: 'AKIAIOSFODNN7EXAMPLE' };
    const routes = routeAlert(amAlert(labels), await shipped());
    expect(routes.map((r) => [r.policy.id, r.correlationKey])).toEqual([['credential-compromise', '123456789012:demo-ci-deployer']]);
  });

  it('leave an ordinary Alertmanager alert (KubePodCrashLooping) unrouted (control)', async () => {
    expect(routeAlert(amAlert({ alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'web-1', severity: 'critical' }), await shipped())).toEqual([]);
  });
});

describe('the shipped supply-chain policy', () => {
  const shipped = () => Promise.all(['container-escape', 'credential-compromise', 'supply-chain'].map((id) => shippedPolicy(path.join(runbooksDir, `${id}.yaml`))));
  async function inspectorFinding(vulnerabilityId: string): Promise<Alert> {
    const f = JSON.parse(await fixture('inspector/ecr-npm-package.json')) as { detail: { packageVulnerabilityDetails: { vulnerabilityId: string } } };
    f.detail.packageVulnerabilityDetails.vulnerabilityId = vulnerabilityId;
    return normalisePayload('inspector', f, receivedAt)[0]!;
  }

  it('takes an Inspector malicious-package finding (MAL-…), on the image by digest and the package', async () => {
    const routes = routeAlert(await inspectorFinding('MAL-2025-47040'), await shipped());
    expect(routes.map((r) => [r.policy.id, r.targets.map((t) => t.kind)])).toEqual([['supply-chain', ['image', 'package']]]);
  });

  it('leaves an Inspector finding of an ordinary CVE unrouted (control)', async () => {
    expect(routeAlert(await inspectorFinding('CVE-2024-4068'), await shipped())).toEqual([]);
  });
});

describe('correlation keys', () => {
  it('gives a Falco alert and a GuardDuty runtime finding about the same pod in the same cluster the same key', async () => {
    const falco = await alertOf('falco', 'falco/release-agent-escape.json');
    const gd = await alertOf('guardduty', 'guardduty/eks-runtime-host-mount.json');
    expect(correlationKeyFor({ ...falco, entities: { ...falco.entities, cluster: 'prod-eu' } })).toBe(correlationKeyFor(gd));
    expect(correlationKeyFor(gd)).toBe('prod-eu:demo-shop:storefront-7d9c6b5f8-x7k2p');
  });

  it('keys an access-key finding by account and principal', async () => {
    expect(correlationKeyFor(await alertOf('guardduty', 'guardduty/iam-credential-exfiltration.json'))).toBe('123456789012:storefront-node-role');
  });
});

describe('auto-containment', () => {
  it('lifts the gates the policy names for a Critical release_agent alert', async () => {
    const [route] = routeAlert(await alertOf('falco', 'falco/release-agent-escape.json'), all);
    expect(route?.autoContainSteps).toEqual(['isolate']);
  });

  it('lifts no gate for an alert the autoContain rules do not match', async () => {
    const [route] = routeAlert(await alertOf('falco', 'falco/terminal-shell.json'), all);
    expect(route?.autoContainSteps).toEqual([]);
  });
});
