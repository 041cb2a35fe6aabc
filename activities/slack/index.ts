export { channelNameFor, SlackApi, slackWebClient, type SlackClientOptions, type SlackMessage } from './api.ts';
export { slackFailure, toSlackFailure, type SlackFailureType } from './errors.ts';
