/**
 * The pieces every Firebreak HTML report shares (the drill's after-action
 * report, `timeline --format html`): escaping, tables, and one page shell
 * that opens from disk or an attachment with nothing to fetch and nothing
 * that can run.
 */
import { printable } from '../text/terminal.ts';
import type { PlainTable } from './render.ts';

/** Text as HTML (or SVG): every character that could open markup or leave an attribute, escaped. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A table, every cell escaped; `None.` when it has no rows. `bad` marks cells a reader must not miss. */
export function htmlTable(t: PlainTable, bad: (cell: string) => boolean = () => false): string {
  if (t.rows.length === 0) return '<p><em>None.</em></p>';
  const head = `<thead><tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>`;
  const body = `<tbody>${t.rows.map((r) => `<tr>${r.map((c) => `<td${bad(c) ? ' class="bad"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('\n')}</tbody>`;
  return `<table>${head}\n${body}</table>`;
}

/** A bulleted list, every item escaped. */
export function htmlList(items: readonly string[]): string {
  return `<ul>${items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>`;
}

// Inline and fixed: the file is opened from disk or an attachment, with nothing to fetch.
const style = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1d232a; }
.verdict { font-size: 1.25rem; padding: .6rem 1rem; border-radius: 6px; }
.verdict.pass { background: #e3f6e8; border-left: 6px solid #1f8a3b; }
.verdict.fail { background: #fde8e8; border-left: 6px solid #c62828; }
.drill { font-weight: 700; letter-spacing: .02em; color: #7a4b00; background: #fff4d6; padding: .4rem 1rem; border-radius: 6px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
table { border-collapse: collapse; margin: .5rem 0 1rem; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: .3rem .5rem; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #f3f5f7; }
td.bad { color: #c62828; font-weight: 700; }
code { font: 13px ui-monospace, monospace; }
`;

/** The policy every report carries: no script, no fetch of any kind, inline style only. */
export const reportCsp = "default-src 'none'; style-src 'unsafe-inline'";

/** One self-contained page: `title` is text (escaped here), `body` is markup already escaped by its builder. */
export function htmlPage(title: string, body: readonly string[]): string {
  const html = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // Defence in depth: even an escaping bug could neither run a script nor load anything.
    `<meta http-equiv="Content-Security-Policy" content="${reportCsp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title>`,
    `<style>${style}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ];
  // Names, summaries and details come from alerts and the world: attacker-shaped text, no raw control character.
  return printable(html.join('\n'));
}
