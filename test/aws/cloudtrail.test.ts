/**
 * The sandbox CloudTrail LookupEvents endpoint (src/sandbox/cloudtrail.ts)
 * against the real CloudTrailClient: the JSON 1.1 wire protocol, lookup
 * attributes, the time window, NextToken pagination, and the 2 requests/s
 * limit, which the activities' lookups pace themselves for and the client
 * backs off from.
 */
import { randomBytes } from 'node:crypto';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { describe, expect, it } from 'vitest';
import { lookupEvents } from '../../activities/aws/cloudtrail.ts';
import { cloudTrailClientConfig } from '../../src/wiring/clients.ts';
import { inAccount, uniqueName } from '../support/servers.ts';
import { cloudTrailServer, userEvent } from './support.ts';

const trail = await cloudTrailServer();
const account = '301234567890';
const config = { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ENDPOINT_URL_CLOUDTRAIL: trail.endpoint };
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
/** A client configured as the worker configures it (src/wiring/clients.ts), on this file's trail account. */
const newClient = () => inAccount(new CloudTrailClient({ ...cloudTrailClientConfig(config, { awsCredentials: credentials }) }), account);
const sleepPastWindow = () => new Promise((r) => setTimeout(r, 1100));

function seedKey(count: number, minutesAgo = (i: number) => i + 1) {
  const u = { user: uniqueName('u'), key: `AKIA${randomBytes(8).toString('hex').toUpperCase()}` };
  trail.seed(Array.from({ length: count }, (_, i) => userEvent(u, 'ListBuckets', minutesAgo(i), { eventSource: 's3.amazonaws.com' })), account);
  return u;
}

describe('sandbox CloudTrail LookupEvents with the real CloudTrailClient', () => {
  it('is reached through AWS_ENDPOINT_URL_CLOUDTRAIL, not AWS_ENDPOINT_URL', () => {
    expect(cloudTrailClientConfig(config).endpoint).toBe(trail.endpoint);
    expect(cloudTrailClientConfig({ ...config, AWS_ENDPOINT_URL_CLOUDTRAIL: undefined }).endpoint).toBe('http://127.0.0.1:9');
  });

  it('answers one lookup attribute, newest first, with the record as the CloudTrailEvent JSON string', async () => {
    await sleepPastWindow();
    const u = seedKey(3);
    seedKey(2);
    const r = await newClient().send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'AccessKeyId', AttributeValue: u.key }] }));
    expect(r.Events).toHaveLength(3);
    expect(r.NextToken).toBeUndefined();
    const times = r.Events!.map((e) => e.EventTime!.getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const e = r.Events![0]!;
    expect(e).toMatchObject({ EventName: 'ListBuckets', AccessKeyId: u.key, Username: u.user, EventSource: 's3.amazonaws.com' });
    expect(JSON.parse(e.CloudTrailEvent!)).toMatchObject({ eventID: e.EventId, userIdentity: { accessKeyId: u.key } });
  });

  it('keeps to the StartTime–EndTime window', async () => {
    await sleepPastWindow();
    const u = seedKey(5, (i) => i * 60);
    const now = Date.now();
    const r = await newClient().send(
      new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'Username', AttributeValue: u.user }], StartTime: new Date(now - 150 * 60_000), EndTime: new Date(now - 30 * 60_000) }),
    );
    expect(r.Events).toHaveLength(2);
  });

  it('refuses two lookup attributes and MaxResults over 50 as AWS does', async () => {
    await sleepPastWindow();
    const c = newClient();
    await expect(
      c.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'Username', AttributeValue: 'a' }, { AttributeKey: 'EventName', AttributeValue: 'b' }] })),
    ).rejects.toMatchObject({ name: 'InvalidLookupAttributesException' });
    await expect(c.send(new LookupEventsCommand({ MaxResults: 51 }))).rejects.toMatchObject({ name: 'InvalidMaxResultsException' });
  });

  it('pages with NextToken, 50 events a page, and the lookup follows every page at no more than 2 requests a second', async () => {
    await sleepPastWindow();
    const u = seedKey(120);
    const before = trail.requests.length;
    const end = new Date();
    const result = await lookupEvents(newClient(), { key: 'AccessKeyId', value: u.key }, { start: new Date(end.getTime() - 86_400_000), end });
    expect(result.events).toHaveLength(120);
    expect(new Set(result.events.map((e) => e.EventId)).size).toBe(120);
    expect(result).toMatchObject({ pages: 3, truncated: false });
    const mine = trail.requests.slice(before);
    expect(mine.map((r) => [r.status, r.returned, r.nextToken])).toEqual([
      [200, 50, true],
      [200, 50, true],
      [200, 20, false],
    ]);
    for (let i = 1; i < mine.length; i++) expect(mine[i]!.at - mine[i - 1]!.at).toBeGreaterThanOrEqual(500);
  });

  it('answers a third request within a second with ThrottlingException, which the client retries with backoff until it succeeds', async () => {
    await sleepPastWindow();
    const u = seedKey(1);
    const before = trail.requests.length;
    const c = newClient();
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => c.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'AccessKeyId', AttributeValue: u.key }] }))),
    );
    expect(answers.map((a) => a.Events?.length)).toEqual([1, 1, 1, 1, 1]);
    const mine = trail.requests.slice(before);
    expect(mine.filter((r) => r.error === 'ThrottlingException').length).toBeGreaterThan(0);
    expect(mine.filter((r) => r.status === 200)).toHaveLength(5);
    const ok = mine.filter((r) => r.status === 200).map((r) => r.at);
    for (let i = 2; i < ok.length; i++) expect(ok[i]! - ok[i - 2]!).toBeGreaterThanOrEqual(1000);
  });
});
