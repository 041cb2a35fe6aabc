/** The committed histories hold no secret: what the capture's sanitiser refuses is absent from every file. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { readableText, secretsIn } from './capture/sanitise.ts';
import { capturedHistoryFiles } from './support.ts';

const files = await capturedHistoryFiles();

describe('the committed histories', () => {
  it('hold no private key, Slack token or webhook, AWS secret key or bearer token, payloads decoded', async () => {
    for (const f of files) expect({ file: f, secrets: secretsIn(JSON.parse(await readFile(f, 'utf8'))) }).toEqual({ file: f, secrets: [] });
  });

  it('hold none of this machine\'s test paths or ports (control: the incident ids are there)', async () => {
    for (const f of files) {
      const file = JSON.parse(await readFile(f, 'utf8')) as { workflowId: string; history: unknown };
      const text = readableText(file.history);
      expect(text).not.toMatch(/firebreak-sandbox|\/work\/wt-/);
      expect(text).toContain(file.workflowId.split('.')[0]);
    }
  });
});
