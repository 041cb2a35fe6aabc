// The credential-compromise runbook's notices go through the engine's one
// notice policy (retried until delivered, Retry-After honoured), not a
// five-attempt policy of its own: a Slack outage longer than five attempts
// delays the approval request; it does not drop it.
import { IAMClient } from '@aws-sdk/client-iam';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { SlackApi } from '../../activities/slack/index.ts';
import { slackWebClient } from '../../src/wiring/clients.ts';
import { slackNotifier } from '../../src/slack/notifier.ts';
import { awaiting, waitForStatus } from '../support/engine.ts';
import { awsClient, temporalClient } from '../support/servers.ts';
import { slackStub, stubToken } from '../support/slack-stub.ts';
import { startRunbookWorker, timeline } from '../kubernetes/support.ts';
import { awsDeps, cloudTrailServer, policy, seedUser, startCredentialIncident } from './support.ts';

const client = await temporalClient();
const iam = awsClient(IAMClient);
const stub = await slackStub();
let taskQueue: string;

beforeAll(async () => {
  const api = new SlackApi(slackWebClient({ token: stubToken, apiUrl: stub.url }));
  const deps = await awsDeps(await cloudTrailServer(), { notifier: slackNotifier(api, pino({ level: 'silent' })) });
  ({ taskQueue } = await startRunbookWorker(deps));
});

describe('credential-compromise notices during a Slack outage', () => {
  it('posts the approval request after Slack refused it six times (more than five attempts), recording no failed notice', async () => {
    const u = await seedUser(iam);
    const gate = { approvers: ['U0BOB'], required: 1, timeout: '30m', onTimeout: 'deny' };
    const p = await policy({ 'deactivate-access-key': gate, rollback: 'none' });
    const isRequest = (a: Record<string, unknown>) => typeof a['text'] === 'string' && a['text'].includes('deactivate-access-key');
    for (let i = 0; i < 6; i += 1) stub.failNext('chat.postMessage', { status: 429, retryAfter: 1, when: isRequest });

    const handle = await startCredentialIncident(client, taskQueue, { policy: p, targets: [{ kind: 'access-key', id: u.key }] });
    await waitForStatus(handle, awaiting('deactivate-access-key'));
    await stub.waitFor('the approval request after the outage', () => stub.messages.find((m) => m.text.includes(`(request ${handle.workflowId}#`)), 30_000);

    const attempts = stub.callsOf('chat.postMessage').filter((c) => isRequest(c.args));
    expect(attempts.map((a) => a.status)).toEqual([429, 429, 429, 429, 429, 429, 200]);
    expect((await timeline(handle)).filter((e) => e.type === 'notice.failed')).toEqual([]);
  });
});
