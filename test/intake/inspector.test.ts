// Amazon Inspector findings (EventBridge "Inspector2 Finding" events, shaped
// as AWS documents them) through normalisation, routing, and the HTTP server to
// incidents of the engine test workflow on the dev server.
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { normaliseBody, normalisePayload } from '../../src/intake/normalise.ts';
import { correlationKeyFor, routeAlert } from '../../src/intake/router.ts';
import { packageRef, type InspectorPackage } from '../../src/intake/sources/inspector.ts';
import { timelineQuery } from '../../workflows/engine/messages.ts';
import { awaiting, engineOnDevServer, newWorld, waitForStatus } from '../support/engine.ts';
import { runFirebreak } from '../support/cli.ts';
import { temporalClient } from '../support/servers.ts';
import { cliEnvWithPolicy, fixture, fixtureJson, fixturesDir, intakeWithOwnPolicies, postAlert, testPolicies } from './helpers.ts';

const npmFinding = 'inspector/ecr-npm-package.json';
const osFinding = 'inspector/ecr-os-package.json';
const codeFinding = 'inspector/lambda-code-vulnerability.json';
const digest = 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
const now = '2026-11-28T15:05:00.000Z';

type Finding = Record<string, unknown> & { detail: Record<string, unknown> & { resources: { details: { awsEcrContainerImage: Record<string, unknown> } }[] } };

async function finding(file: string): Promise<Finding> {
  return (await fixtureJson(file)) as Finding;
}

function ecrImageOf(f: Finding): Record<string, unknown> {
  return f.detail.resources[0]!.details.awsEcrContainerImage;
}

async function normalised(file: string) {
  const [alert] = normaliseBody('inspector', await fixture(file), now);
  return alert!;
}

describe('normalising an Inspector ECR package-vulnerability finding', () => {
  it('names the image by repository and digest, with its registry account and region', async () => {
    const alert = await normalised(npmFinding);
    expect(alert.entities).toMatchObject({ image: `shop/storefront@${digest}`, account: '123456789012', region: 'eu-west-1' });
  });

  it('takes the vulnerability id as the rule, the finding ARN as the id, and HIGH as high', async () => {
    const alert = await normalised(npmFinding);
    expect(alert).toMatchObject({
      source: 'inspector',
      rule: 'CVE-2024-4068',
      id: 'arn:aws:inspector2:eu-west-1:123456789012:finding/7c1e0b9d4a2f6e3b8d5c0a1f2e3d4c5b',
      severity: 'high',
      status: 'firing',
      time: '2026-11-28T15:04:12.000Z',
      summary: 'CVE-2024-4068 - braces in shop/storefront:1.4.2',
    });
    expect(alert.problems).toBeUndefined();
  });

  it('names an npm package found in the image as its npm purl', async () => {
    expect((await normalised(npmFinding)).entities.packages).toEqual(['pkg:npm/braces@3.0.2']);
  });

  it('names the OS packages of an Ubuntu image as deb purls with distro and architecture', async () => {
    expect((await normalised(osFinding)).entities.packages).toEqual([
      'pkg:deb/ubuntu/libssl3t64@3.0.13-0ubuntu3.2?arch=arm64&distro=ubuntu-24.04',
      'pkg:deb/ubuntu/openssl@3.0.13-0ubuntu3.2?arch=arm64&distro=ubuntu-24.04',
    ]);
  });

  it.each([
    ['INFORMATIONAL', 'info'],
    ['LOW', 'low'],
    ['MEDIUM', 'medium'],
    ['HIGH', 'high'],
    ['CRITICAL', 'critical'],
    ['UNTRIAGED', 'medium'],
  ])('maps Inspector severity %s to %s', async (inspectorSeverity, severity) => {
    const f = await finding(npmFinding);
    f.detail.severity = inspectorSeverity;
    expect(normalisePayload('inspector', f, now)[0]?.severity).toBe(severity);
  });

  it.each([
    ['CLOSED', 'resolved'],
    ['SUPPRESSED', 'resolved'],
    ['ACTIVE', 'firing'],
  ])('takes a finding with status %s as %s', async (status, expected) => {
    const f = await finding(npmFinding);
    f.detail.status = status;
    expect(normalisePayload('inspector', f, now)[0]?.status).toBe(expected);
  });

  it('refuses an event that is not an Inspector finding, naming the field', async () => {
    const f = await finding(npmFinding);
    f['detail-type'] = 'Inspector2 Coverage';
    expect(() => normalisePayload('inspector', f, now)).toThrow(/detail-type: expected "Inspector2 Finding"/);
  });
});

describe('a vulnerable package as Firebreak names it', () => {
  const pkg = (packageManager: string, name: string, version: string, more: Partial<InspectorPackage> = {}): InspectorPackage => ({ packageManager, name, version, ...more });

  it.each<[string, InspectorPackage, string | undefined, string]>([
    ['a scoped npm package', pkg('NPM', '@ctrl/tinycolor', '4.1.1'), undefined, 'pkg:npm/%40ctrl/tinycolor@4.1.1'],
    ['a yarn-installed package', pkg('YARN', 'chalk', '5.6.1'), undefined, 'pkg:npm/chalk@5.6.1'],
    ['a PyPI package (name normalised)', pkg('PIP', 'Flask_Cors', '4.0.0'), undefined, 'pkg:pypi/flask-cors@4.0.0'],
    ['a Maven artifact', pkg('JAR', 'org.apache.logging.log4j:log4j-core', '2.14.1'), undefined, 'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1'],
    ['a Go module', pkg('GOBINARY', 'golang.org/x/net', 'v0.17.0'), undefined, 'pkg:golang/golang.org/x/net@v0.17.0'],
    ['a gem', pkg('BUNDLER', 'rack', '2.2.3'), undefined, 'pkg:gem/rack@2.2.3'],
    ['a NuGet package', pkg('NUGET', 'Newtonsoft.Json', '12.0.1'), undefined, 'pkg:nuget/Newtonsoft.Json@12.0.1'],
    ['a crate', pkg('CARGO', 'openssl', '0.10.55'), undefined, 'pkg:cargo/openssl@0.10.55'],
    ['a Debian package with an epoch', pkg('OS', 'libc6', '2.36', { epoch: 1, release: '9+deb12u4' }), 'DEBIAN_12', 'pkg:deb/debian/libc6@1:2.36-9+deb12u4?distro=debian-12'],
    ['an Amazon Linux rpm with an epoch', pkg('OS', 'libssh2', '1.4.3', { epoch: 1, release: '12.amzn2.2', arch: 'X86_64' }), 'AMAZON_LINUX_2', 'pkg:rpm/amzn/libssh2@1.4.3-12.amzn2.2?arch=x86_64&distro=amzn-2&epoch=1'],
    ['an Alpine package', pkg('OS', 'busybox', '1.36.1', { release: 'r15' }), 'ALPINE_3_19', 'pkg:apk/alpine/busybox@1.36.1-r15?distro=alpine-3.19'],
    ['an OS package of a platform without a purl type', pkg('OS', 'zlib', '1.3'), 'WINDOWS_SERVER_2022', 'zlib@1.3'],
    ['a package manager without a purl type', pkg('COMPOSER', 'laravel/framework', '10.0.0'), undefined, 'laravel/framework@10.0.0'],
  ])('%s', (_, p, platform, expected) => {
    expect(packageRef(p, platform)).toBe(expected);
  });
});

describe('routing an Inspector finding', () => {
  const policies = testPolicies('inspector-routing');

  it('routes a HIGH finding with a policy rule to image and package targets, keyed by the image digest', async () => {
    const [route] = routeAlert(await normalised(npmFinding), policies.all);
    expect(route?.policy.id).toBe(policies.image.id);
    expect(route?.correlationKey).toBe(`image:shop/storefront@${digest}`);
    expect(route?.targets).toEqual([
      { kind: 'image', id: `shop/storefront@${digest}`, attributes: { account: '123456789012', region: 'eu-west-1' } },
      { kind: 'package', id: 'pkg:npm/braces@3.0.2' },
    ]);
  });

  it('does not route a finding below the policy\'s minSeverity, while the same finding at HIGH routes (control)', async () => {
    const f = await finding(npmFinding);
    f.detail.severity = 'MEDIUM';
    expect(routeAlert(normalisePayload('inspector', f, now)[0]!, policies.all)).toEqual([]);
    f.detail.severity = 'HIGH';
    expect(routeAlert(normalisePayload('inspector', f, now)[0]!, policies.all)).toHaveLength(1);
  });

  it('keys two findings about the same image to one correlation key', async () => {
    const f = await finding(npmFinding);
    f.detail.findingArn = 'arn:aws:inspector2:eu-west-1:123456789012:finding/another';
    expect(correlationKeyFor(normalisePayload('inspector', f, now)[0]!)).toBe(correlationKeyFor(await normalised(npmFinding)));
  });
});

describe('Inspector findings through the intake server', () => {
  let client: Client;
  let taskQueue: string;

  beforeAll(async () => {
    client = await temporalClient();
    taskQueue = await engineOnDevServer(newWorld());
  });

  /** An intake with policies of its own, so each test's incidents are its own. */
  const intake = () => intakeWithOwnPolicies({ client, taskQueue, prefix: 'i' });

  it('refuses a finding without the inspector token (401), and accepts it with the token (control)', async () => {
    const { url } = await intake();
    const body = await fixture(osFinding);
    const without = await postAlert(url, 'inspector', body, { authorization: '' });
    expect(without.status).toBe(401);
    const withGuarddutyToken = await postAlert(url, 'inspector', body, { authorization: 'Bearer guardduty-token-0123456789abcdef' });
    expect(withGuarddutyToken.status).toBe(401);
    expect((await postAlert(url, 'inspector', body)).status).toBe(200);
  });

  it('opens an incident of the policy its vulnerability id routes to, targeting the image and the package', async () => {
    const { url, policies } = await intake();
    const r = await postAlert(url, 'inspector', await fixture(npmFinding));
    expect(r.status).toBe(200);
    const incident = r.body.alerts?.[0]?.incidents[0];
    expect(incident).toMatchObject({ runbook: policies.image.id, new: true, correlationKey: `image:shop/storefront@${digest}` });
    const status = await waitForStatus(client.workflow.getHandle(incident!.incidentId), awaiting('isolate'));
    expect(status.trigger).toMatchObject({ source: 'inspector', rule: 'CVE-2024-4068', severity: 'high' });
    expect(status.targets.map((t) => `${t.kind}:${t.id}`)).toEqual([`image:shop/storefront@${digest}`, 'package:pkg:npm/braces@3.0.2']);
  });

  it('answers an update of the same finding as a resend on the open incident, not a second alert', async () => {
    const { url } = await intake();
    const first = await postAlert(url, 'inspector', await fixture(npmFinding));
    const f = await finding(npmFinding);
    f.detail.updatedAt = 'Sun Nov 29 03:00:00.000 UTC 2026';
    const update = await postAlert(url, 'inspector', JSON.stringify(f));
    expect(update.body.alerts?.[0]?.incidents[0]).toMatchObject({ incidentId: first.body.alerts?.[0]?.incidents[0]?.incidentId, delivery: 'resend' });
    const status = await waitForStatus(client.workflow.getHandle(first.body.alerts![0]!.incidents[0]!.incidentId), awaiting('isolate'));
    expect(status.counts.alerts).toBe(1);
  });

  it('records a closed finding as resolved on the open incident\'s timeline', async () => {
    const { url } = await intake();
    const firing = await postAlert(url, 'inspector', await fixture(npmFinding));
    const incidentId = firing.body.alerts?.[0]?.incidents[0]?.incidentId;
    const closed = await finding(npmFinding);
    closed.detail.status = 'CLOSED';
    const resolved = await postAlert(url, 'inspector', JSON.stringify(closed));
    expect(resolved.body.alerts?.[0]?.incidents[0]).toMatchObject({ incidentId, recorded: true });
    const handle = client.workflow.getHandle(incidentId!);
    const deadline = Date.now() + 10_000;
    let events = await handle.query(timelineQuery);
    while (!events.some((e) => e.type === 'alert.resolved') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      events = await handle.query(timelineQuery);
    }
    expect(events.find((e) => e.type === 'alert.resolved')?.data).toMatchObject({ source: 'inspector', alertId: closed.detail.findingArn });
  });

  it('stores a code-vulnerability finding as unrouted with its reason, and opens no incident', async () => {
    const { url, service } = await intake();
    const r = await postAlert(url, 'inspector', await fixture(codeFinding));
    expect(r.status).toBe(200);
    const outcome = r.body.alerts?.[0] as { alertId: string; unrouted?: string; incidents: unknown[]; problems?: string[] };
    expect(outcome).toMatchObject({ unrouted: 'unsupported-finding', incidents: [] });
    expect(outcome.problems?.join('\n')).toContain('CODE_VULNERABILITY finding names no image or package');
    const stored = (await service.unrouted.list()).filter((s) => s.alert.id === outcome.alertId);
    expect(stored.map((s) => s.reason)).toEqual(['unsupported-finding']);
  });

  it('stores a package finding about an EC2 instance (no ECR image) as unrouted with its reason', async () => {
    const { url } = await intake();
    const f = await finding(npmFinding);
    f.detail.resources = [{ type: 'AWS_EC2_INSTANCE', id: 'i-12345678901234567', details: { awsEc2Instance: { platform: 'UBUNTU_22_04' } } }] as unknown as Finding['detail']['resources'];
    const r = await postAlert(url, 'inspector', JSON.stringify(f));
    expect(r.body.alerts?.[0]).toMatchObject({ unrouted: 'unsupported-finding', incidents: [] });
    expect((r.body.alerts?.[0] as { problems?: string[] }).problems?.join('\n')).toContain('no ECR container image (the finding is about AWS_EC2_INSTANCE)');
  });

  it.each([
    ['a repository name breaking ECR\'s rule', 'repositoryName', 'shop/../admin', 'ECR repository name'],
    ['an upper-case repository name', 'repositoryName', 'Shop/Storefront', 'ECR repository name'],
    ['a tag in place of the digest', 'imageHash', 'latest', 'image digest'],
    ['a registry that is not an account id', 'registry', 'evil.example.com', 'AWS account id'],
  ])('stores a finding with %s as unrouted (invalid-name), and opens no incident', async (_, field, value, says) => {
    const { url } = await intake();
    const f = await finding(npmFinding);
    ecrImageOf(f)[field] = value;
    const r = await postAlert(url, 'inspector', JSON.stringify(f));
    expect(r.status).toBe(200);
    expect(r.body.alerts?.[0]).toMatchObject({ unrouted: 'invalid-name', incidents: [] });
    expect((r.body.alerts?.[0] as { problems?: string[] }).problems?.join('\n')).toContain(says);
  });

  it('answers 400 with the field path for a finding without a severity', async () => {
    const { url } = await intake();
    const f = await finding(npmFinding);
    delete f.detail.severity;
    const r = await postAlert(url, 'inspector', JSON.stringify(f));
    expect(r.status).toBe(400);
    expect(r.body.problems?.[0]).toMatchObject({ path: 'detail.severity' });
  });
});

describe('firebreak route --source inspector', () => {
  // A policy of the shape the supply-chain runbook will have (no shipped policy takes Inspector findings yet).
  const policy = `id: vulnerable-image-test
version: 1
title: Vulnerable image (test)
summary: Find and block an image carrying a vulnerable package
workflow: engineTestWorkflow
triggers:
  - source: inspector
    rules: [CVE-2024-4068, "MAL-*"]
    minSeverity: high
steps:
  - { id: collect, description: seal evidence, gate: none }
  - id: isolate
    description: block the image
    gate: { approvers: [cli:alice], timeout: 30m, onTimeout: deny }
rollback: { gate: none }
`;
  let env: Record<string, string>;
  const fx = (f: string) => path.join(fixturesDir, f);

  beforeAll(async () => {
    env = await cliEnvWithPolicy('vulnerable-image.yaml', policy);
  });

  it('prints the runbook, the image correlation key and the image and package targets of the fixture', async () => {
    const r = await runFirebreak(['route', '--source', 'inspector', fx(npmFinding)], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Alert (inspector, firing, high)');
    expect(r.stdout).toContain('  rule        CVE-2024-4068\n');
    expect(r.stdout).toContain(`  entities    image=shop/storefront@${digest} account=123456789012 region=eu-west-1 packages=pkg:npm/braces@3.0.2\n`);
    expect(r.stdout).toContain('Runbook vulnerable-image-test v1 (workflow engineTestWorkflow)');
    expect(r.stdout).toContain(`  correlation key  image:shop/storefront@${digest}\n`);
    expect(r.stdout).toContain(`  targets          image:shop/storefront@${digest}, package:pkg:npm/braces@3.0.2\n`);
  });

  it('says a finding below the policy\'s minSeverity would be stored as unrouted', async () => {
    const r = await runFirebreak(['route', '--source', 'inspector', fx(osFinding)], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('No runbook matches: intake would accept it and store it as unrouted');
  });

  it('says a code-vulnerability finding would be stored as unrouted, with the reason', async () => {
    const r = await runFirebreak(['route', '--source', 'inspector', fx(codeFinding)], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Not routed: intake would store it as unrouted (unsupported-finding):\n  detail.type: a CODE_VULNERABILITY finding');
  });
});
