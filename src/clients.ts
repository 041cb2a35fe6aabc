import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { ActivityDeps } from '../activities/index.ts';
import type { Logger } from 'pino';
import type { Config } from './config/index.ts';
import { SlackApi, slackWebClient } from '../activities/slack/index.ts';
import { logNotifier } from './notifier.ts';
import { slackNotifier } from './slack/notifier.ts';

export interface StaticAwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface ClientOverrides {
  /** A kubeconfig file to use instead of KUBECONFIG. */
  kubeconfigPath?: string;
  /** An AWS endpoint to use instead of AWS_ENDPOINT_URL (the sandbox's moto). */
  awsEndpoint?: string;
  /** Static AWS credentials instead of the default provider chain (the sandbox's). */
  awsCredentials?: StaticAwsCredentials;
  /** A CloudTrail endpoint to use instead of AWS_ENDPOINT_URL_CLOUDTRAIL (the sandbox's LookupEvents server). */
  cloudTrailEndpoint?: string;
}

export function kubeClients(path: string): { config: KubeConfig; core: CoreV1Api } {
  const config = new KubeConfig();
  config.loadFromFile(path);
  return { config, core: config.makeApiClient(CoreV1Api) };
}

/** AWS client settings shared by every AWS client the worker makes. */
export function awsClientConfig(config: Pick<Config, 'AWS_REGION' | 'AWS_ENDPOINT_URL'>, overrides: ClientOverrides = {}) {
  const endpoint = overrides.awsEndpoint ?? config.AWS_ENDPOINT_URL;
  return {
    region: config.AWS_REGION,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(overrides.awsCredentials === undefined ? {} : { credentials: overrides.awsCredentials }),
    maxAttempts: 3,
  };
}

/**
 * CloudTrail's own endpoint: moto has no LookupEvents, so the sandbox points
 * CloudTrail elsewhere with the SDK's service-specific variable
 * AWS_ENDPOINT_URL_CLOUDTRAIL. Throttling (2 requests/s) is retried by the
 * SDK with backoff, a few more times than other calls.
 */
export function cloudTrailClientConfig(config: Pick<Config, 'AWS_REGION' | 'AWS_ENDPOINT_URL' | 'AWS_ENDPOINT_URL_CLOUDTRAIL'>, overrides: ClientOverrides = {}) {
  const base = awsClientConfig(config, overrides);
  const endpoint = overrides.cloudTrailEndpoint ?? config.AWS_ENDPOINT_URL_CLOUDTRAIL;
  return { ...base, ...(endpoint === undefined ? {} : { endpoint }), maxAttempts: 6 };
}

/** The real clients the activities use, built from configuration. */
export function createClients(config: Config, log: Logger, overrides: ClientOverrides = {}): Omit<ActivityDeps, 'evidence'> {
  const kubeconfigPath = overrides.kubeconfigPath ?? config.KUBECONFIG;
  const aws = awsClientConfig(config, overrides);
  return {
    kube: kubeconfigPath === undefined ? undefined : kubeClients(kubeconfigPath),
    sts: new STSClient(aws),
    iam: new IAMClient(aws),
    cloudtrail: new CloudTrailClient(cloudTrailClientConfig(config, overrides)),
    cloudTrailLookbackMs: config.FIREBREAK_CLOUDTRAIL_LOOKBACK.ms,
    // The worker posts to Slack with the bot token alone; the Slack app (SLACK_MODE) answers the clicks.
    notifier: config.SLACK_BOT_TOKEN === undefined ? logNotifier(log) : slackNotifier(slackApi(config), log),
  };
}

/** The Slack Web API as activities use it (fails fast; the activity retries), from configuration. */
export function slackApi(config: Pick<Config, 'SLACK_BOT_TOKEN' | 'SLACK_API_URL'>): SlackApi {
  if (config.SLACK_BOT_TOKEN === undefined) throw new Error('SLACK_BOT_TOKEN is not set: Slack is not configured.');
  return new SlackApi(slackWebClient({ token: config.SLACK_BOT_TOKEN, ...(config.SLACK_API_URL === undefined ? {} : { apiUrl: config.SLACK_API_URL }) }));
}
