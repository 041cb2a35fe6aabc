import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { AdmissionregistrationV1Api, AppsV1Api, AuthorizationV1Api, BatchV1Api, CoreV1Api, KubeConfig, NetworkingV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { KubeClients } from '../../activities/kubernetes/index.ts';
import type { ActivityDeps } from '../../activities/index.ts';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { webApi } from '@slack/bolt';
import { SlackApi } from '../../activities/slack/index.ts';
import { reuseKubeConnections } from './kube-agents.ts';
import { logNotifier } from './log-notifier.ts';
import { slackNotifier } from '../slack/notifier.ts';

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

/** Every API client of the cluster a kubeconfig file names, built once and shared by the activities. */
export function kubeClients(path: string): KubeClients {
  const config = new KubeConfig();
  config.loadFromFile(path);
  return kubeClientsFor(config);
}

export function kubeClientsFor(config: KubeConfig): KubeClients {
  reuseKubeConnections(config);
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    apps: config.makeApiClient(AppsV1Api),
    batch: config.makeApiClient(BatchV1Api),
    net: config.makeApiClient(NetworkingV1Api),
    rbac: config.makeApiClient(RbacAuthorizationV1Api),
    authz: config.makeApiClient(AuthorizationV1Api),
    admission: config.makeApiClient(AdmissionregistrationV1Api),
  };
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

/** The S3 client the SBOM source of an S3 prefix reads with (activities/sbom/sources/s3.ts). */
export function sbomS3Client(config: Pick<Config, 'AWS_REGION' | 'AWS_ENDPOINT_URL'>, overrides: ClientOverrides = {}): S3Client {
  return new S3Client(awsClientConfig(config, overrides));
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
    // The supply-chain runbook's: ECR tags, Secrets Manager rotation, KMS signing keys.
    ecr: new ECRClient(aws),
    secrets: new SecretsManagerClient(aws),
    kms: new KMSClient(aws),
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

export interface SlackClientOptions {
  token: string;
  /** The Web API base URL; Slack's own by default (tests point it at a local stub). */
  apiUrl?: string;
  /** Per-request timeout in milliseconds. */
  timeoutMs?: number;
}

/**
 * A Web API client that fails fast: no retries of its own and rate-limited
 * calls rejected, so every failure reaches the activity, whose retry policy
 * (by failure type, Retry-After honoured) is the only one.
 */
export function slackWebClient(o: SlackClientOptions): webApi.WebClient {
  return new webApi.WebClient(o.token, {
    ...(o.apiUrl === undefined ? {} : { slackApiUrl: o.apiUrl.endsWith('/') ? o.apiUrl : `${o.apiUrl}/` }),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: o.timeoutMs ?? 10_000,
    logLevel: webApi.LogLevel.ERROR,
  });
}
