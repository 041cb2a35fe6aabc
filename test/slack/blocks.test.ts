import { describe, expect, it } from 'vitest';
import type { ApprovalRequestedNotice, NoticeIncident } from '../../activities/notify.ts';
import { channelNameFor } from '../../activities/slack/index.ts';
import { approvalMessage, limits, mrkdwn, summaryMessage, truncate, who } from '../../src/slack/blocks.ts';

const incident: NoticeIncident = {
  incidentId: 'container-escape.-:demo-shop:storefront-7d9c6b5f8-q9m4d-1a2b3c4d',
  title: 'Kubernetes container escape',
  runbook: 'container-escape',
  severity: 'critical',
  summary: 'x',
  mode: 'live',
  drill: false,
  requester: 'slack:U0ALICE',
  targets: ['pod:demo-shop/storefront-7d9c6b5f8-q9m4d'],
  responders: [],
};

function request(over: Partial<ApprovalRequestedNotice> = {}): ApprovalRequestedNotice {
  return {
    kind: 'approval-requested',
    incidentId: incident.incidentId,
    incident,
    step: 'delete-pod',
    description: 'Delete the pod',
    requestId: `${incident.incidentId}#0009`,
    to: ['slack:U0BOB', 'cli:carol'],
    required: 2,
    twoPerson: true,
    deadline: '2026-11-29T04:00:00.000Z',
    evidence: [{ name: 'pod.json', sha256: 'b'.repeat(64) }],
    ...over,
  };
}

/** Every mrkdwn or plain text in a message's blocks. */
function texts(blocks: unknown[]): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if ((o['type'] === 'mrkdwn' || o['type'] === 'plain_text') && typeof o['text'] === 'string') out.push(o['text']);
      Object.values(o).forEach(walk);
    }
  };
  walk(blocks);
  return out;
}

describe('Block Kit messages', () => {
  it('escapes &, < and > in untrusted text', () => {
    expect(mrkdwn('a & b <!channel> <@U1> <https://x|y>')).toBe('a &amp; b &lt;!channel&gt; &lt;@U1&gt; &lt;https://x|y&gt;');
  });

  it('cuts long text with a marker, never inside an escape', () => {
    const cut = truncate(mrkdwn('&'.repeat(5000)), 3000);
    expect(cut.length).toBeLessThanOrEqual(3000);
    expect(cut.endsWith('&amp;… [truncated]')).toBe(true);
  });

  it('keeps every text of an approval request within Block Kit limits, however long the alert', () => {
    const long = { ...incident, summary: '<!channel> '.repeat(2000), title: 'T'.repeat(500), targets: Array.from({ length: 500 }, (_, i) => `pod:ns/${'p'.repeat(60)}-${i}`) };
    const m = approvalMessage(request({ incident: long, description: 'd'.repeat(9000), evidence: Array.from({ length: 400 }, (_, i) => ({ name: `item-${i}.json`, sha256: 'c'.repeat(64) })) }));
    expect(m.blocks.length).toBeLessThanOrEqual(limits.blocks);
    for (const t of texts(m.blocks)) expect(t.length).toBeLessThanOrEqual(limits.section);
    const header = m.blocks.find((b) => b.type === 'header') as { text: { text: string } };
    expect(header.text.text.length).toBeLessThanOrEqual(limits.header);
    expect(JSON.stringify(m.blocks)).toContain('[truncated]');
    expect(JSON.stringify(m.blocks)).toContain('more');
    expect(JSON.stringify(m)).not.toContain('<!channel>');
    expect(m.text.length).toBeLessThanOrEqual(limits.fallback);
  });

  it("writes no raw '<' or '>' of its own, only Slack's mentions and dates", () => {
    for (const m of [summaryMessage(incident), approvalMessage(request())]) {
      for (const t of texts(m.blocks)) expect(t.replace(/<(@U[A-Z0-9]+|#C[A-Z0-9]+|!date\^[^>]+)>/g, '')).not.toMatch(/[<>]/);
    }
  });

  it('names Slack users as mentions and other principals as text', () => {
    expect(who('slack:U0BOB')).toBe('<@U0BOB>');
    expect(who('cli:<carol>')).toBe('`cli:&lt;carol&gt;`');
    expect(who('C0SECURITY')).toBe('<#C0SECURITY>');
  });

  it('marks a drill on the summary and on approval requests', () => {
    const drill = { ...incident, drill: true };
    for (const m of [summaryMessage(drill), approvalMessage(request({ incident: drill }))]) {
      expect(m.text.startsWith('[DRILL] ')).toBe(true);
      expect(JSON.stringify(m.blocks)).toContain('*DRILL*: an exercise; nothing real is touched.');
    }
  });

  it('names the incident channel after the incident id, within Slack rules', () => {
    const name = channelNameFor(incident.incidentId);
    expect(name).toMatch(/^inc-container-escape-demo-shop-storefront-7d9c6b5f8-q9m4d-1a2b3c4d-[0-9a-f]{6}$/);
    expect(channelNameFor(`x.${'y'.repeat(200)}`)).toMatch(/^[a-z0-9_-]{1,80}$/);
  });
});
