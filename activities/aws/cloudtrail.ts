import { type CloudTrailClient, type Event, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { Context } from '@temporalio/activity';
import { aws } from './errors.ts';

/** CloudTrail allows LookupEvents 2 requests per second per account and region. */
const minIntervalMs = 500;
/** At most this many pages per lookup (50 events each); the evidence says when the cap was hit. */
export const maxPages = 40;

const lastRequest = new WeakMap<CloudTrailClient, Promise<number>>();

/** Waits until a request may go out without exceeding 2 requests per second from this client. */
async function paced(client: CloudTrailClient): Promise<void> {
  const previous = lastRequest.get(client) ?? Promise.resolve(0);
  const mine = previous.then(async (last) => {
    const wait = last + minIntervalMs - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    return Date.now();
  });
  lastRequest.set(client, mine);
  await mine;
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
    await paced(client);
    const page = await aws('cloudtrail:LookupEvents', `events with ${attribute.key}=${attribute.value}`, () =>
      client.send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: attribute.key as 'AccessKeyId', AttributeValue: attribute.value }],
          StartTime: window.start,
          EndTime: window.end,
          MaxResults: 50,
          ...(token === undefined ? {} : { NextToken: token }),
        }),
      ),
    );
    pages += 1;
    events.push(...(page.Events ?? []));
    token = page.NextToken;
    heartbeat({ lookup: `${attribute.key}=${attribute.value}`, pages, events: events.length });
  } while (token !== undefined && pages < maxPages);
  return { attribute, start: window.start.toISOString(), end: window.end.toISOString(), pages, truncated: token !== undefined, events };
}
