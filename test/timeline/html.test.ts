/**
 * `timeline --format html`: the post-incident report as one page, rendered
 * from the timeline of a real run (the chart drill's scorecard, whose alert
 * title carries a <script>) and opened in headless chromium.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Scorecard } from '../../src/drills/scorecard-types.ts';
import { renderHtml } from '../../src/timeline/render-html.ts';
import { renderMarkdown } from '../../src/timeline/render.ts';
import type { TimelineReport } from '../../src/timeline/report.ts';
import { countOf, loadInChromium, textsOf, titleOf, type Loaded } from '../support/chromium.ts';

const card = JSON.parse(readFileSync(new URL('../drills/report/chart-drill.scorecard.json', import.meta.url), 'utf8')) as Scorecard;
const report: TimelineReport = {
  schema: 'firebreak.timeline/v1',
  incidentId: card.incidentId,
  workflow: 'credentialCompromise',
  source: 'history',
  workflowStatus: 'running',
  events: card.timeline,
  generatedAt: '2026-12-04T09:00:00.000Z',
};

describe('the post-incident report as HTML', () => {
  it("has the Markdown report's sections in its order, with the time chart after the summary", () => {
    const md = [...renderMarkdown(report).matchAll(/^##+ (.+)$/gm)].map((m) => m[1]);
    const html = [...renderHtml(report).matchAll(/<h2>(.+?)<\/h2>/g)].map((m) => m[1]);
    expect(html).toEqual(['Summary', 'Time chart', ...md.slice(1)]);
  });

  it('shows the key times a Markdown reader sees: first contained, with its offset from detection', () => {
    const fc = card.metrics.firstContainedAt!;
    expect(renderHtml(report)).toContain(`<tr><td>First contained</td><td>${fc}</td><td>+35m33s</td></tr>`);
  });
});

describe('the post-incident HTML report in a browser', () => {
  let page: Loaded;
  beforeAll(async () => {
    page = await loadInChromium(renderHtml(report));
  });

  it("shows one chart lane per step, labelled with the step's name, after the alerts", () => {
    expect(textsOf(page.dom, 'text', 'lane-label')).toEqual([
      'Alerts (4)',
      'collect-evidence',
      'deactivate-access-key',
      'revoke-user-sessions',
      'revoke-role-sessions',
      'delete-login-profile',
      'eradicate-access-keys',
      'eradicate-principals',
      'restore-policies',
    ]);
  });

  it('draws one marker per alert event: the alert and its three repeats', () => {
    expect(countOf(page.dom, 'g', 'inject')).toBe(4);
  });

  it("leaves the alert summary's <script> inert: the title is unchanged and the markup is text in the summary", () => {
    expect(titleOf(page.dom)).toBe('Incident report: credential-compromise');
    expect(page.dom).not.toMatch(/<script|<img/i);
    expect(page.dom).toContain("used from external IP address &lt;script&gt;document.title='pwned'&lt;/script&gt;");
  });

  it('makes no network request: the recording proxy saw nothing from the page', () => {
    expect(page.requests).toEqual([]);
  });
});
