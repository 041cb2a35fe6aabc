export { channelNameFor, SlackApi, type SlackMessage } from './api.ts';
export { slackFailure, toSlackFailure, type SlackFailureType } from './errors.ts';
