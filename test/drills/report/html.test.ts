import { describe, expect, it } from 'vitest';
import { renderScorecardHtml, renderScorecardMarkdown } from '../../../src/drills/report.ts';
import { at } from '../../timeline/build.ts';
import { failingCard, passingCard } from './fixture.ts';

const payload = '<img src=x onerror=alert(document.cookie)>';

/** A failing card whose attacker-chosen strings carry markup: an action name, a detail, an expectation, a residue line, a scenario title. */
function hostileCard() {
  const card = failingCard();
  card.scenario = { ...card.scenario, title: `Leaked key ${payload}` };
  card.adversary[0] = { ...card.adversary[0]!, name: `exfil ${payload}`, detail: '"><script>alert(1)</script>' };
  card.expectations[0] = { ...card.expectations[0]!, detail: `found ${payload}` };
  card.rollback = { ...card.rollback!, residue: [`user ${payload}`] };
  card.realCallTargets = ["evil.example:443' onmouseover='x"];
  card.realCalls = 1;
  return card;
}

describe('the drill after-action report (HTML)', () => {
  it('shows markup in a name as text: an <img onerror=…> appears escaped, never as an element', () => {
    const html = renderScorecardHtml(hostileCard());
    expect(html).toContain('exfil &lt;img src=x onerror=alert(document.cookie)&gt;');
    expect(html).toContain('<h1>Drill after-action report: Leaked key &lt;img src=x onerror=alert(document.cookie)&gt;</h1>');
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toContain("' onmouseover='");
  });

  it('has no script and fetches nothing: no <script, no src or href, no url(), no @import, a CSP that forbids all but inline style', () => {
    const html = renderScorecardHtml(hostileCard());
    expect(html).not.toMatch(/<script/i);
    // Inside a tag: escaped text may say "src=", an element may not.
    expect(html).not.toMatch(/<[^>]*\s(src|href)=/i);
    expect(html).not.toMatch(/url\(|@import/i);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
  });

  it('opens with the verdict, then the drill mark', () => {
    const body = renderScorecardHtml(failingCard()).split('<body>\n')[1]!;
    expect(body.split('\n')[0]).toMatch(/^<p class="verdict fail"><strong>FAIL<\/strong> — drill leaked-ci-key: 3 of 4 thresholds missed/);
    expect(body.split('\n')[1]).toBe('<p class="drill">DRILL — simulated, nothing real was touched.</p>');
    expect(renderScorecardHtml(passingCard())).toContain('<p class="verdict pass"><strong>PASS</strong>');
  });

  it('has the time chart, then the same sections as the Markdown report, in the same order', () => {
    const card = failingCard();
    const mdHeadings = [...renderScorecardMarkdown(card).matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    const htmlHeadings = [...renderScorecardHtml(card).matchAll(/<h2>(.+?)<\/h2>/g)].map((m) => m[1]);
    expect(htmlHeadings).toEqual(['Time chart', ...mdHeadings]);
    expect(htmlHeadings).toEqual(['Time chart', 'Thresholds', 'Expectations', 'Key times', 'Gates', 'Adversary actions', 'Evidence', 'Rollback', 'Real systems', 'Faults injected', 'Notices']);
  });

  it('shows the figures the Markdown shows: a threshold row, the key times and a gate', () => {
    const html = renderScorecardHtml(failingCard());
    expect(html).toContain('<tr><td>timeToFirstContainment</td><td>&lt;= 3m</td><td>4m05s</td><td>no</td></tr>');
    expect(html).toContain(`<tr><td>First contained</td><td>${at(245)}</td><td>+4m05s</td></tr>`);
    expect(html).toContain(`<tr><td>delete-login-profile</td><td>approve</td><td>cli:alice, cli:bob</td><td>${at(247)}</td><td>30m00s</td><td>1</td><td>no</td></tr>`);
    expect(html).toContain('<td class="bad">MISSED</td>');
  });
});
