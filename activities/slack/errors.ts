import { webApi } from '@slack/bolt';
import { ApplicationFailure } from '@temporalio/common';
import { slackFailure, type SlackFailureType } from '../../domain/failures.ts';

export { slackFailure, type SlackFailureType };

/** Slack errors (the `error` field of an `ok: false` answer) that go away by themselves. */
const transient = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'ratelimited', 'team_added_to_org']);

const authErrors = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'no_permission']);

function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Turns an error from a Slack Web API call into a Temporal failure whose
 * retryability comes from what Slack said: a 429 is retried after its
 * Retry-After; network errors, 5xx and Slack's transient errors are retried;
 * a missing channel, a bot outside the channel, bad credentials or a missing
 * scope are not, and the message says what to fix.
 */
export function toSlackFailure(e: unknown, method: string, where: string): ApplicationFailure {
  if (e instanceof ApplicationFailure) return e;
  const code = codeOf(e);
  if (code === webApi.ErrorCode.RateLimitedError) {
    const retryAfter = Math.max(1, Number((e as { retryAfter?: unknown }).retryAfter) || 1);
    return ApplicationFailure.create({
      type: slackFailure.rateLimited,
      message: `Slack rate-limited ${method} ${where}; retrying after ${retryAfter} s as Slack asked (Retry-After).`,
      nextRetryDelay: `${retryAfter}s`,
      details: [{ method, retryAfter }],
    });
  }
  if (code === webApi.ErrorCode.PlatformError) {
    const data = (e as { data?: { error?: unknown; needed?: unknown } }).data;
    const error = typeof data?.error === 'string' ? data.error : 'unknown_error';
    const details = [{ method, error }];
    if (error === 'channel_not_found') {
      return ApplicationFailure.create({
        type: slackFailure.channelNotFound,
        nonRetryable: true,
        message: `Slack says the channel ${where} does not exist or the Firebreak app cannot see it (${method}: channel_not_found). Check the channel id or name in the runbook policy (escalateTo) and that the app was added to the workspace.`,
        details,
      });
    }
    if (error === 'not_in_channel' || error === 'is_archived') {
      return ApplicationFailure.create({
        type: slackFailure.notInChannel,
        nonRetryable: true,
        message: `The Firebreak app is not a member of the channel ${where} (${method}: ${error}). Invite it there (/invite @Firebreak) or unarchive the channel.`,
        details,
      });
    }
    if (authErrors.has(error)) {
      return ApplicationFailure.create({
        type: slackFailure.invalidAuth,
        nonRetryable: true,
        message: `Slack refused Firebreak's credentials (${method}: ${error}). Set SLACK_BOT_TOKEN to the app's current Bot User OAuth Token (xoxb-…, under OAuth & Permissions) and restart the worker.`,
        details,
      });
    }
    if (error === 'missing_scope') {
      const needed = typeof data?.needed === 'string' ? data.needed : 'the scope the method needs';
      return ApplicationFailure.create({
        type: slackFailure.missingScope,
        nonRetryable: true,
        message: `The Firebreak app lacks the scope ${needed} for ${method}. Add it under OAuth & Permissions (deploy/slack/app-manifest.yaml lists every scope), reinstall the app and update SLACK_BOT_TOKEN.`,
        details,
      });
    }
    if (transient.has(error)) {
      return ApplicationFailure.create({ type: slackFailure.unavailable, message: `Slack failed ${method} ${where} (${error}); retrying.`, details });
    }
    return ApplicationFailure.create({
      type: slackFailure.rejected,
      nonRetryable: true,
      message: `Slack rejected ${method} ${where}: ${error}. See https://api.slack.com/methods/${method} for what it means.`,
      details,
    });
  }
  if (code === webApi.ErrorCode.HTTPError) {
    const status = Number((e as { statusCode?: unknown }).statusCode);
    return ApplicationFailure.create({
      type: status >= 500 ? slackFailure.unavailable : slackFailure.rejected,
      nonRetryable: status < 500,
      message: `Slack answered ${method} ${where} with HTTP ${status}${status >= 500 ? '; retrying' : '; check SLACK_API_URL'}.`,
      details: [{ method, status }],
    });
  }
  return ApplicationFailure.create({
    type: slackFailure.unavailable,
    message: `Could not reach Slack for ${method} ${where}: ${e instanceof Error ? e.message : String(e)}; retrying.`,
    details: [{ method }],
  });
}
