// Correlation across sources that name the cluster and sources that do not:
// with FIREBREAK_DEFAULT_CLUSTER, a Falco alert without k8s.cluster.name and a
// GuardDuty finding or Falcosidekick event naming that cluster are about the
// same pod, so they make one incident (and one auto-containment), not two.
import type { Client } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.ts';
import { normaliseBody } from '../../src/intake/normalise.ts';
import { awaiting, engineOnDevServer, newWorld, waitForStatus } from '../support/engine.ts';
import { temporalClient } from '../support/servers.ts';
import { fixture, fixtureJson, intakeWithOwnPolicies, postAlert } from './helpers.ts';

let client: Client;
let taskQueue: string;

beforeAll(async () => {
  client = await temporalClient();
  taskQueue = await engineOnDevServer(newWorld());
});

/** An intake with runbooks of its own, so each test's incidents are its own. */
const intake = (defaultCluster?: string) => intakeWithOwnPolicies({ client, taskQueue, prefix: 'c', ...(defaultCluster === undefined ? {} : { defaultCluster }) });

/** The Falco release_agent event (auto-contained at Critical) about the GuardDuty fixture's pod, naming no cluster. */
async function falcoWithoutCluster(): Promise<string> {
  const p = await fixtureJson('falco/release-agent-escape.json');
  delete p.uuid;
  return JSON.stringify(p);
}

const incidentOf = (r: Awaited<ReturnType<typeof postAlert>>) => r.body.alerts?.[0]?.incidents[0];

describe('with FIREBREAK_DEFAULT_CLUSTER set to the cluster GuardDuty names', () => {
  it('a Falco alert without a cluster and a GuardDuty finding about the same pod make one incident, counter 2, contained once', async () => {
    const { url } = await intake('prod-eu');
    const first = incidentOf(await postAlert(url, 'falco', await falcoWithoutCluster()));
    const second = incidentOf(await postAlert(url, 'guardduty', await fixture('guardduty/eks-runtime-host-mount.json')));
    expect(first).toMatchObject({ new: true, correlationKey: 'prod-eu:demo-shop:storefront-7d9c6b5f8-x7k2p', autoContain: ['isolate'] });
    expect(second).toMatchObject({ incidentId: first?.incidentId, new: false, autoContain: [] });
    const status = await waitForStatus(client.workflow.getHandle(first!.incidentId), (s) => s.counts.alerts === 2 && awaiting('cordon')(s));
    expect(status.counts.alerts).toBe(2);
    expect(status.targets[0]).toMatchObject({ kind: 'pod', id: 'demo-shop/storefront-7d9c6b5f8-x7k2p', attributes: { cluster: 'prod-eu' } });
  });

  it('a Falco alert without a cluster and a Falcosidekick event naming it join one incident, counter 2', async () => {
    const { url } = await intake('prod-eu');
    const sidekick = await fixtureJson('falco/release-agent-escape.json');
    sidekick.output_fields = { ...(sidekick.output_fields as object), 'k8s.cluster.name': 'prod-eu' };
    const first = incidentOf(await postAlert(url, 'falco', JSON.stringify(sidekick)));
    const second = incidentOf(await postAlert(url, 'falco', await falcoWithoutCluster()));
    expect(second).toMatchObject({ incidentId: first?.incidentId, new: false });
    const status = await waitForStatus(client.workflow.getHandle(first!.incidentId), (s) => s.counts.alerts === 2);
    expect(status.counts.alerts).toBe(2);
  });

  it('an alert naming another cluster keeps it, and opens an incident of its own', async () => {
    const { url } = await intake('prod-eu');
    const other = await fixtureJson('guardduty/eks-runtime-host-mount.json');
    (other.detail as { resource: { eksClusterDetails: { name: string } } }).resource.eksClusterDetails.name = 'prod-us';
    const first = incidentOf(await postAlert(url, 'falco', await falcoWithoutCluster()));
    const second = incidentOf(await postAlert(url, 'guardduty', JSON.stringify(other)));
    expect(second).toMatchObject({ new: true, correlationKey: 'prod-us:demo-shop:storefront-7d9c6b5f8-x7k2p' });
    expect(second?.incidentId).not.toBe(first?.incidentId);
  });
});

describe('without FIREBREAK_DEFAULT_CLUSTER (the default)', () => {
  it('a Falco alert without a cluster keeps none, so it joins only alerts that name none', async () => {
    const { url } = await intake();
    const first = incidentOf(await postAlert(url, 'falco', await falcoWithoutCluster()));
    const second = incidentOf(await postAlert(url, 'guardduty', await fixture('guardduty/eks-runtime-host-mount.json')));
    expect(first).toMatchObject({ correlationKey: '-:demo-shop:storefront-7d9c6b5f8-x7k2p' });
    expect(second?.incidentId).not.toBe(first?.incidentId);
  });
});

describe('the default cluster at normalisation', () => {
  it('is given to alerts about a pod, node or namespace only, not to an IAM finding', async () => {
    const [falco] = normaliseBody('falco', await falcoWithoutCluster(), new Date().toISOString(), { defaultCluster: 'prod-eu' });
    const [iam] = normaliseBody('guardduty', await fixture('guardduty/iam-credential-exfiltration.json'), new Date().toISOString(), { defaultCluster: 'prod-eu' });
    expect(falco?.entities.cluster).toBe('prod-eu');
    expect(iam?.entities.cluster).toBeUndefined();
  });

  it('is read from FIREBREAK_DEFAULT_CLUSTER, which refuses a value that is no cluster name', () => {
    expect(parseConfig({ FIREBREAK_DEFAULT_CLUSTER: 'prod-eu' }).FIREBREAK_DEFAULT_CLUSTER).toBe('prod-eu');
    expect(parseConfig({}).FIREBREAK_DEFAULT_CLUSTER).toBeUndefined();
    expect(() => parseConfig({ FIREBREAK_DEFAULT_CLUSTER: 'prod eu/1' })).toThrow(/FIREBREAK_DEFAULT_CLUSTER/);
  });
});
