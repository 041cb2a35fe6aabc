/**
 * The real `firebreak serve` running the slack role alone, as the compose
 * file's `slack` service does: it loads the runbooks, verifies Slack's
 * signatures, answers `/incident` with the modal, and stops on SIGTERM.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/sandbox/processes.ts';
import { incidentModalCallbackId } from '../../src/slack/blocks.ts';
import { spawnServe } from '../support/serve.ts';
import { sandbox } from '../support/servers.ts';
import { postToSlackApp, signingSecret, slashCommand } from '../support/slack.ts';
import { slackStub, stubToken } from '../support/slack-stub.ts';


describe('firebreak serve with FIREBREAK_ROLES=slack', () => {
  it('serves signed Slack requests alone, refuses unsigned ones, and stops on SIGTERM', async () => {
    const stub = await slackStub();
    const port = await freePort();
    const serve = spawnServe({
      FIREBREAK_ROLES: 'slack',
      SLACK_MODE: 'http',
      SLACK_BOT_TOKEN: stubToken,
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_API_URL: stub.url,
      FIREBREAK_SLACK_PORT: String(port),
      TEMPORAL_ADDRESS: sandbox().temporalAddress,
      FIREBREAK_RUNBOOKS_DIR: 'runbooks',
    });
    afterAll(() => serve.kill());
    const listening = await serve.log('Slack app listening', (l) => l.msg === 'Slack app listening', 30_000);
    const url = `http://127.0.0.1:${port}/slack/events`;
    expect(listening['url']).toBe(url);

    expect((await postToSlackApp(url, slashCommand({ user: 'U0ALICE', channel: 'C0SECURITY' }), { signature: null })).status).toBe(401);
    expect((await postToSlackApp(url, slashCommand({ user: 'U0ALICE', channel: 'C0SECURITY', text: 'pod:demo-shop/storefront-1' }))).status).toBe(200);
    const opened = await stub.waitFor('the /incident modal', () =>
      stub.callsOf('views.open').find((c) => (c.args['view'] as { callback_id?: string }).callback_id === incidentModalCallbackId),
    );
    expect(JSON.stringify(opened.args['view'])).toContain('"value":"container-escape"');

    expect(serve.child.kill('SIGTERM')).toBe(true);
    expect(await serve.exit(15_000)).toEqual({ code: 0, signal: null });
  });
});
