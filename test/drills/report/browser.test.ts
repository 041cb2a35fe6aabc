/**
 * The drill HTML report as a reader sees it: rendered from the scorecard of a
 * real run (chart-drill.yaml, whose alert title carries a <script> and an
 * <img onerror>) and opened in headless chromium.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderScorecardHtml } from '../../../src/drills/report.ts';
import type { Scorecard } from '../../../src/drills/scorecard-types.ts';
import { countOf, loadInChromium, textsOf, titleOf, type Loaded } from '../../support/chromium.ts';

const card = JSON.parse(readFileSync(new URL('./chart-drill.scorecard.json', import.meta.url), 'utf8')) as Scorecard;
const expectedTitle = 'PASS — Drill after-action report: Stolen role session, repeated alerts, IAM throttling, escalation';

/** A lane's markup in the dumped DOM: from its opening <g> to the next lane. */
function lane(dom: string, step: string): string {
  const start = dom.indexOf(`<g class="lane step" data-step="${step}"`);
  expect(start, `no lane for ${step}`).toBeGreaterThanOrEqual(0);
  return dom.slice(start, dom.indexOf('<g class="lane', start + 1));
}

/** Where a marker's shape starts on the x axis (its first coordinate). */
function xOf(laneDom: string, kind: string): number {
  const m = new RegExp(`<g class="marker ${kind}"><title>[^<]*</title><(?:circle cx="|path d="M)([\\d.]+)`).exec(laneDom);
  expect(m, `no ${kind} marker`).not.toBeNull();
  return Number(m![1]);
}

describe('the drill HTML report in a browser', () => {
  let page: Loaded;
  beforeAll(async () => {
    page = await loadInChromium(renderScorecardHtml(card));
  });

  it("shows one lane per step of the run, each labelled with the step's name, between the alerts and the adversary", () => {
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
      'Adversary: 7 succeeded, 29 refused',
    ]);
  });

  it('draws one marker per inject: the alert and its three repeats', () => {
    const injects = card.timeline.filter((e) => e.type === 'alert.received' || e.type === 'alert.repeated');
    expect(injects).toHaveLength(4);
    expect(countOf(page.dom, 'g', 'inject')).toBe(4);
  });

  it("tells the adversary's successes from its refusals by shape, not colour alone: 7 crosses, 29 circles", () => {
    expect(card.adversary.filter((a) => a.succeeded)).toHaveLength(7);
    expect([...page.dom.matchAll(/<g class="marker adversary-succeeded"><title>[^<]*succeeded[^<]*<\/title><path /g)]).toHaveLength(7);
    expect([...page.dom.matchAll(/<g class="marker adversary-refused"><title>[^<]*refused[^<]*<\/title><circle /g)]).toHaveLength(29);
  });

  it("shows the escalated gate's moments left to right: requested, escalated, decided, and the action ran", () => {
    const gate = lane(page.dom, 'revoke-role-sessions');
    expect(xOf(gate, 'requested')).toBeLessThan(xOf(gate, 'escalated'));
    expect(xOf(gate, 'escalated')).toBeLessThan(xOf(gate, 'decided'));
    expect(textsOf(gate, 'text', 'mark-label')).toEqual(['approve', 'escalated', 'done']);
  });

  it('leaves the <script> of the alert title inert: the title is unchanged, no script or img element, the markup shown as text', () => {
    expect(card.timeline[1]!.type === 'alert.received' && card.timeline[1].data.summary).toContain("<script>document.title='pwned'</script>");
    expect(titleOf(page.dom)).toBe(expectedTitle);
    expect(page.dom).not.toMatch(/<script|<img/i);
    expect(page.dom).toContain('&lt;script&gt;document.title=\'pwned\'&lt;/script&gt;');
  });

  it('makes no network request: the recording proxy saw nothing from the page', () => {
    expect(page.requests).toEqual([]);
  });

  it('names the chart for assistive technology: an img role with a title, and a description naming the lanes', () => {
    expect(page.dom).toContain('<svg viewBox="0 0 960 ');
    expect(page.dom).toMatch(/<svg [^>]*role="img" aria-labelledby="time-chart-title time-chart-desc"/);
    expect(page.dom).toContain('<title id="time-chart-title">Time chart: what happened when, from the first alert</title>');
    expect(page.dom).toMatch(/<desc id="time-chart-desc">Time runs left to right from [^<]*Lanes: Alerts \(4\); collect-evidence; [^<]*revoke-role-sessions;/);
  });
});

describe('the browser check itself (control cases)', () => {
  it('runs a script in a page without the CSP (so an unchanged title above means the report ran none)', async () => {
    const { dom } = await loadInChromium("<!doctype html><title>before</title><script>document.title='pwned'</script>");
    expect(titleOf(dom)).toBe('pwned');
  });

  it("blocks even an unescaped <script> with the report's CSP alone", async () => {
    // An escaping bug, simulated: raw markup put into the rendered page.
    const broken = renderScorecardHtml(card).replace('<h1>', "<script>document.title='pwned'</script><h1>");
    const { dom } = await loadInChromium(broken);
    expect(titleOf(dom)).toBe(expectedTitle);
  });

  it('records a page that fetches: an external image and stylesheet reach the proxy (so an empty record above means nothing was fetched)', async () => {
    const { requests } = await loadInChromium('<!doctype html><title>x</title><img src="http://firebreak-probe.test/x.png"><link rel="stylesheet" href="https://fonts.firebreak-probe.test/x.css">');
    expect(requests).toEqual(expect.arrayContaining(['http://firebreak-probe.test/x.png', 'CONNECT fonts.firebreak-probe.test:443']));
  });
});
