/**
 * A CloudTrail `LookupEvents` endpoint for the sandbox and the tests (moto has
 * none). It speaks the AWS JSON 1.1 protocol the real `CloudTrailClient` uses:
 * `POST /` with `X-Amz-Target: CloudTrail_20131101.LookupEvents` and
 * `Content-Type: application/x-amz-json-1.1`; one lookup attribute at most,
 * StartTime/EndTime as epoch seconds, MaxResults 1–50 (default 50), NextToken
 * pagination, newest events first, and AWS's limit of 2 requests per second
 * (per account and region), answered with `ThrottlingException` beyond it.
 * Events are seeded per account (the `x-moto-account-id` header the tests send,
 * or the default account) with `seed`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

export const cloudTrailTargetPrefix = 'CloudTrail_20131101';
export const defaultSandboxAccount = '123456789012';

/** One CloudTrail record as `CloudTrailEvent` carries it (the fields Firebreak reads; the rest is kept). */
export interface CloudTrailRecord {
  eventVersion?: string;
  eventTime: string;
  eventSource: string;
  eventName: string;
  awsRegion?: string;
  sourceIPAddress?: string;
  userAgent?: string;
  readOnly?: boolean;
  userIdentity: {
    type: string;
    principalId?: string;
    arn?: string;
    accountId?: string;
    accessKeyId?: string;
    userName?: string;
    sessionContext?: { sessionIssuer?: { type?: string; principalId?: string; arn?: string; accountId?: string; userName?: string } };
  };
  requestParameters?: Record<string, unknown> | null;
  responseElements?: Record<string, unknown> | null;
  eventID?: string;
  [key: string]: unknown;
}

export interface SeededEvent {
  record: CloudTrailRecord;
  /** Resources as LookupEvents lists them (type + name); derived from the request when omitted. */
  resources?: { ResourceType?: string; ResourceName?: string }[];
}

const attributeKeys = ['EventId', 'EventName', 'ReadOnly', 'Username', 'ResourceType', 'ResourceName', 'EventSource', 'AccessKeyId'] as const;

const lookupRequest = z
  .object({
    LookupAttributes: z.array(z.object({ AttributeKey: z.string(), AttributeValue: z.string() }).strict()).optional(),
    StartTime: z.number().optional(),
    EndTime: z.number().optional(),
    EventCategory: z.string().optional(),
    MaxResults: z.number().int().optional(),
    NextToken: z.string().optional(),
  })
  .strict();

export interface StoredEvent {
  id: string;
  time: number;
  record: CloudTrailRecord;
  resources: { ResourceType?: string; ResourceName?: string }[];
  username: string | undefined;
}

/** What one request was and how it was answered, for tests that check pacing and pagination. */
export interface LookupRequestLog {
  at: number;
  account: string;
  status: number;
  error?: string;
  attribute?: string;
  returned: number;
  nextToken: boolean;
}

export interface CloudTrailServer {
  endpoint: string;
  /** Adds events to an account's trail (the default account when omitted). */
  seed(events: readonly (SeededEvent | CloudTrailRecord)[], account?: string): void;
  /** Makes every request of the account fail with this error (e.g. AccessDeniedException), or stops doing so. */
  failWith(error: { code: string; message: string; status: number } | undefined, account?: string): void;
  requests: LookupRequestLog[];
  close(): Promise<void>;
}

/** The CloudTrail "Username" of a record: the IAM user, or the session name of an assumed role. */
export function usernameOf(r: CloudTrailRecord): string | undefined {
  const u = r.userIdentity;
  if (u.userName !== undefined) return u.userName;
  if (u.type === 'AssumedRole' && u.arn !== undefined) return u.arn.split('/').at(-1);
  return undefined;
}

/** LookupEvents' resource list, from the request parameters of the IAM calls Firebreak looks at. */
export function resourcesOf(r: CloudTrailRecord): { ResourceType?: string; ResourceName?: string }[] {
  const p = r.requestParameters ?? {};
  const out: { ResourceType: string; ResourceName: string }[] = [];
  const add = (type: string, v: unknown) => {
    if (typeof v === 'string') out.push({ ResourceType: type, ResourceName: v });
  };
  add('AWS::IAM::User', p['userName']);
  add('AWS::IAM::Role', p['roleName']);
  add('AWS::IAM::Group', p['groupName']);
  add('AWS::IAM::Policy', p['policyArn']);
  add('AWS::IAM::AccessKey', p['accessKeyId']);
  const created = (r.responseElements as { accessKey?: { accessKeyId?: unknown } } | null | undefined)?.accessKey?.accessKeyId;
  add('AWS::IAM::AccessKey', created);
  return out;
}

export async function startCloudTrailServer(opts: { port?: number; host?: string; requestsPerSecond?: number } = {}): Promise<CloudTrailServer> {
  const limit = opts.requestsPerSecond ?? 2;
  const trails = new Map<string, StoredEvent[]>();
  const failures = new Map<string, { code: string; message: string; status: number }>();
  const recent = new Map<string, number[]>();
  const requests: LookupRequestLog[] = [];

  const trailOf = (account: string) => {
    let t = trails.get(account);
    if (t === undefined) {
      t = [];
      trails.set(account, t);
    }
    return t;
  };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID(), 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const error = (res: ServerResponse, status: number, code: string, message: string, log: Omit<LookupRequestLog, 'status' | 'returned' | 'nextToken'>) => {
    requests.push({ ...log, status, error: code, returned: 0, nextToken: false });
    send(res, status, { __type: code, message });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const account = String(req.headers['x-moto-account-id'] ?? defaultSandboxAccount);
    const now = Date.now();
    const log = { at: now, account };
    const target = String(req.headers['x-amz-target'] ?? '');
    if (req.method !== 'POST' || target !== `${cloudTrailTargetPrefix}.LookupEvents`) {
      return error(res, 400, 'UnknownOperationException', `This endpoint serves only ${cloudTrailTargetPrefix}.LookupEvents; got ${req.method} ${target || '(no X-Amz-Target)'}.`, log);
    }
    // 2 requests per second per account: a sliding one-second window.
    const window = (recent.get(account) ?? []).filter((t) => now - t < 1000);
    if (window.length >= limit) {
      recent.set(account, window);
      return error(res, 429, 'ThrottlingException', 'Rate exceeded', log);
    }
    window.push(now);
    recent.set(account, window);
    const failure = failures.get(account);
    if (failure !== undefined) return error(res, failure.status, failure.code, failure.message, log);

    let body: z.output<typeof lookupRequest>;
    try {
      const parsed = lookupRequest.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
      if (!parsed.success) return error(res, 400, 'SerializationException', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), log);
      body = parsed.data;
    } catch {
      return error(res, 400, 'SerializationException', 'The request body is not JSON.', log);
    }
    const attrs = body.LookupAttributes ?? [];
    const attribute = attrs[0];
    const logged = { ...log, ...(attribute === undefined ? {} : { attribute: `${attribute.AttributeKey}=${attribute.AttributeValue}` }) };
    if (attrs.length > 1) return error(res, 400, 'InvalidLookupAttributesException', 'You cannot specify more than one lookup attribute.', logged);
    if (attribute !== undefined && !(attributeKeys as readonly string[]).includes(attribute.AttributeKey)) {
      return error(res, 400, 'InvalidLookupAttributesException', `Unknown lookup attribute ${attribute.AttributeKey}.`, logged);
    }
    const max = body.MaxResults ?? 50;
    if (max < 1 || max > 50) return error(res, 400, 'InvalidMaxResultsException', 'MaxResults must be from 1 to 50.', logged);
    const start = body.StartTime === undefined ? now - 90 * 86_400_000 : body.StartTime * 1000;
    const end = body.EndTime === undefined ? now : body.EndTime * 1000;
    if (start > end) return error(res, 400, 'InvalidTimeRangeException', 'StartTime must be before EndTime.', logged);
    let offset = 0;
    if (body.NextToken !== undefined) {
      const decoded = decodeToken(body.NextToken);
      if (decoded === undefined || decoded.query !== queryKey(attribute, start, end)) {
        return error(res, 400, 'InvalidNextTokenException', 'The NextToken is invalid or belongs to another query.', logged);
      }
      offset = decoded.offset;
    }
    const matching = trailOf(account)
      .filter((e) => e.time >= start && e.time <= end && matchesAttribute(e, attribute))
      .sort((a, b) => b.time - a.time || (a.id < b.id ? -1 : 1));
    const page = matching.slice(offset, offset + max);
    const more = offset + max < matching.length;
    requests.push({ ...logged, status: 200, returned: page.length, nextToken: more });
    send(res, 200, {
      Events: page.map((e) => ({
        EventId: e.id,
        EventName: e.record.eventName,
        ReadOnly: String(e.record.readOnly ?? false),
        ...(e.record.userIdentity.accessKeyId === undefined ? {} : { AccessKeyId: e.record.userIdentity.accessKeyId }),
        EventTime: e.time / 1000,
        EventSource: e.record.eventSource,
        ...(e.username === undefined ? {} : { Username: e.username }),
        Resources: e.resources,
        CloudTrailEvent: JSON.stringify(e.record),
      })),
      ...(more ? { NextToken: encodeToken({ query: queryKey(attribute, start, end), offset: offset + max }) } : {}),
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, { __type: 'InternalFailure', message: e instanceof Error ? e.message : String(e) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    seed(events, account = defaultSandboxAccount) {
      const trail = trailOf(account);
      for (const item of events) {
        const seeded: SeededEvent = 'record' in item ? (item as SeededEvent) : { record: item };
        const id = seeded.record.eventID ?? randomUUID();
        const record = { ...seeded.record, eventID: id };
        trail.push({ id, time: Date.parse(record.eventTime), record, resources: seeded.resources ?? resourcesOf(record), username: usernameOf(record) });
      }
    },
    failWith(failure, account = defaultSandboxAccount) {
      if (failure === undefined) failures.delete(account);
      else failures.set(account, failure);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function matchesAttribute(e: StoredEvent, a: { AttributeKey: string; AttributeValue: string } | undefined): boolean {
  if (a === undefined) return true;
  const v = a.AttributeValue;
  switch (a.AttributeKey) {
    case 'EventId':
      return e.id === v;
    case 'EventName':
      return e.record.eventName === v;
    case 'ReadOnly':
      return String(e.record.readOnly ?? false) === v;
    case 'Username':
      return e.username === v;
    case 'ResourceType':
      return e.resources.some((r) => r.ResourceType === v);
    case 'ResourceName':
      return e.resources.some((r) => r.ResourceName === v);
    case 'EventSource':
      return e.record.eventSource === v;
    case 'AccessKeyId':
      return e.record.userIdentity.accessKeyId === v;
    default:
      return false;
  }
}

function queryKey(a: { AttributeKey: string; AttributeValue: string } | undefined, start: number, end: number): string {
  return `${a?.AttributeKey ?? ''}=${a?.AttributeValue ?? ''}@${start}-${end}`;
}

function encodeToken(t: { query: string; offset: number }): string {
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

function decodeToken(token: string): { query: string; offset: number } | undefined {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { query?: unknown; offset?: unknown };
    return typeof t.query === 'string' && typeof t.offset === 'number' ? { query: t.query, offset: t.offset } : undefined;
  } catch {
    return undefined;
  }
}
