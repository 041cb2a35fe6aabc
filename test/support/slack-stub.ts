// The Slack Web API stub lives in src/sandbox (the chaos script uses it too); tests get one per file.
import { afterAll } from 'vitest';
import { SlackStub } from '../../src/sandbox/slack-stub.ts';

export * from '../../src/sandbox/slack-stub.ts';

/** A started stub, stopped after the test file. */
export async function slackStub(): Promise<SlackStub> {
  const stub = await new SlackStub().start();
  afterAll(() => stub.stop());
  return stub;
}
