import { type CloudTrailClient, type Event, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { Context } from '@temporalio/activity';
import { aws } from './errors.ts';

/**
 * CloudTrail allows LookupEvents 2 requests per second per account and region.
 * Requests from one client go one at a time, the next at least this long after
 * the previous one was answered, so that no two arrive closer than that.
 */
const minIntervalMs = 520;
/** At most this many pages per lookup (50 events each); the evidence says when the cap was hit. */
export const maxPages = 40;

const queues = new WeakMap<CloudTrailClient, Promise<unknown>>();
const answeredAt = new WeakMap<CloudTrailClient, number>();

/** Runs one request of this client after the ones before it, keeping to 2 requests per second. */
function paced<T>(client: CloudTrailClient, send: () => Promise<T>): Promise<T> {
  const previous = queues.get(client) ?? Promise.resolve();
  const mine = previous
    .catch(() => undefined)
    .then(async () => {
      const wait = (answeredAt.get(client) ?? 0) + minIntervalMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      try {
        return await send();
      } finally {
        answeredAt.set(client, Date.now());
      }
    });
  queues.set(client, mine);
  return mine;
}

function heartbeat(detail: unknown): void {
  try {
    Context.current().heartbeat(detail);
  } catch {
    // Not running as an activity (a direct call): nothing to report to.
  }
}

export interface LookupResult {
  attribute: { key: string; value: string };
  start: string;
  end: string;
  pages: number;
  truncated: boolean;
  events: Event[];
}

/**
 * Every event matching one lookup attribute in the window, newest first,
 * following NextToken and pacing requests at CloudTrail's 2 per second (the
 * SDK's retry backs off further on ThrottlingException).
 */
export async function lookupEvents(client: CloudTrailClient, attribute: { key: string; value: string }, window: { start: Date; end: Date }): Promise<LookupResult> {
  const events: Event[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await aws('cloudtrail:LookupEvents', `events with ${attribute.key}=${attribute.value}`, () =>
      paced(client, () =>
        client.send(
          new LookupEventsCommand({
            LookupAttributes: [{ AttributeKey: attribute.key as 'AccessKeyId', AttributeValue: attribute.value }],
            StartTime: window.start,
            EndTime: window.end,
            MaxResults: 50,
            ...(token === undefined ? {} : { NextToken: token }),
          }),
        ),
      ),
    );
    pages += 1;
    events.push(...(page.Events ?? []));
    token = page.NextToken;
    heartbeat({ lookup: `${attribute.key}=${attribute.value}`, pages, events: events.length });
  } while (token !== undefined && pages < maxPages);
  return { attribute, start: window.start.toISOString(), end: window.end.toISOString(), pages, truncated: token !== undefined, events };
}
