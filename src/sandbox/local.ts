/**
 * `firebreak local`: Firebreak on one machine with embedded defaults. It starts
 * the Temporal dev server (state kept in a SQLite file in the data folder),
 * a sandbox of real servers for whatever is not configured (moto for AWS,
 * etcd + kube-apiserver seeded with a demo workload for Kubernetes), and the
 * worker; it stops everything on Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsClientConfig, kubeClients, type ClientOverrides } from '../wiring/clients.ts';
import { createActivityDeps } from '../wiring/deps.ts';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { startCloudTrailServer } from './cloudtrail.ts';
import { demoCloudTrailEvents, seedAws, seedKubernetes, seedRegistry } from './demo.ts';
import { preferredPort } from './processes.ts';
import { startSandbox } from './servers.ts';
import { seedSupplyChain } from './supply-chain-demo.ts';
import { ensureTools } from './tools.ts';
import { createWorker } from '../worker/index.ts';
import type { Worker } from '@temporalio/worker';
import { asStartupError, intakeListener, listening, slackListener, StartedParts } from '../startup.ts';
import { intakeAuthFromConfig, type IntakeAuth } from '../intake/auth.ts';
import { alertSources } from '../intake/alert.ts';
import { localIntakeToken, startIntake } from '../intake/index.ts';
import type { RunningSlackApp } from '../slack/index.ts';

/** Credentials moto accepts; they reach only the sandbox on loopback. */
const sandboxAwsCredentials = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' };

/** A path relative to the current directory when inside it (for commands to copy). */
function displayLocal(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

export function sandboxParts(config: Pick<Config, 'FIREBREAK_SANDBOX' | 'KUBECONFIG' | 'AWS_ENDPOINT_URL'>) {
  const parts = config.FIREBREAK_SANDBOX ?? [
    ...(config.KUBECONFIG === undefined ? (['kubernetes'] as const) : []),
    ...(config.AWS_ENDPOINT_URL === undefined ? (['aws'] as const) : []),
    'registry' as const,
  ];
  return { kubernetes: parts.includes('kubernetes'), aws: parts.includes('aws'), registry: parts.includes('registry') };
}

export interface LocalOptions {
  /** How long each sandbox server may take to answer (default: servers.ts's 90 s). */
  readyTimeoutMs?: number;
}

export async function runLocal(config: Config, log: Logger, print: (line: string) => void, opts: LocalOptions = {}): Promise<void> {
  const dataDir = resolve(config.FIREBREAK_DATA_DIR);
  const sandboxDir = join(dataDir, 'sandbox');
  await mkdir(dataDir, { recursive: true });
  // Kubernetes and moto state is a demo, re-seeded on each start; Temporal's state persists.
  await rm(sandboxDir, { recursive: true, force: true });
  await mkdir(sandboxDir, { recursive: true });

  const parts = sandboxParts(config);
  const embeddedTemporal = config.TEMPORAL_ADDRESS === undefined;
  const started = new StartedParts(log);
  let running;
  try {
    running = await startLocal(config, log, print, { dataDir, sandboxDir, parts, embeddedTemporal, started, ...opts });
  } catch (e) {
    await started.stopAll();
    throw asStartupError(e);
  }
  const { worker, lines } = running;
  for (const line of lines) print(line);
  log.info({ taskQueue: config.FIREBREAK_TASK_QUEUE }, 'worker started');
  try {
    // Resolves after SIGINT/SIGTERM: the worker drains in-flight work first.
    await worker.run();
  } finally {
    print('Stopping the local servers…');
    await started.stopAll();
  }
}

/** Starts every part, each added to `started` as it comes up; returns the worker (not yet running) and what to print. */
async function startLocal(
  config: Config,
  log: Logger,
  print: (line: string) => void,
  o: LocalOptions & { dataDir: string; sandboxDir: string; parts: ReturnType<typeof sandboxParts>; embeddedTemporal: boolean; started: StartedParts },
): Promise<{ worker: Worker; lines: string[] }> {
  const { dataDir, sandboxDir, parts, embeddedTemporal, started } = o;
  print('Firebreak local: preparing tools (first run builds them; later runs use the cache)…');
  const tools = await ensureTools((line) => print(`  ${line}`), { temporalServer: false });

  const sandbox = await startSandbox({
    tools,
    ownerId: `local-${process.pid}-${randomBytes(4).toString('hex')}`,
    workDir: sandboxDir,
    removeWorkDir: false,
    ...(o.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: o.readyTimeoutMs }),
    temporal: embeddedTemporal
      ? {
          dbFile: join(dataDir, 'temporal.sqlite'),
          ui: true,
          port: await preferredPort(7233),
          uiPort: await preferredPort(8233),
        }
      : false,
    moto: parts.aws,
    kubernetes: parts.kubernetes,
    registry: parts.registry,
  });
  started.add('the sandbox servers', () => sandbox.stop());
  // moto has no CloudTrail LookupEvents: the sandbox serves it (demo events of the demo user's key).
  const cloudTrail = sandbox.moto ? await startCloudTrailServer() : undefined;
  if (cloudTrail !== undefined) started.add('the sandbox CloudTrail', () => cloudTrail.close());
  const overrides: ClientOverrides = {
    ...(sandbox.kubernetes ? { kubeconfigPath: sandbox.kubernetes.kubeconfigPath } : {}),
    ...(sandbox.moto ? { awsEndpoint: sandbox.moto.endpoint, awsCredentials: sandboxAwsCredentials } : {}),
    ...(cloudTrail ? { cloudTrailEndpoint: cloudTrail.endpoint } : {}),
  };
  const workload = sandbox.kubernetes
    ? await seedKubernetes(kubeClients(sandbox.kubernetes.kubeconfigPath).config)
    : undefined;
  const demoImages = sandbox.registry ? await seedRegistry(sandbox.registry.url) : undefined;
  const demoAws = sandbox.moto ? await seedAws(new IAMClient(awsClientConfig(config, overrides))) : undefined;
  if (demoAws !== undefined) cloudTrail?.seed(demoCloudTrailEvents(demoAws), demoAws.account);
  const supplyChain = sandbox.registry
    ? await seedSupplyChain({
        kc: sandbox.kubernetes ? kubeClients(sandbox.kubernetes.kubeconfigPath).config : undefined,
        registryUrl: sandbox.registry.url,
        dir: sandboxDir,
        ...(sandbox.moto ? { secrets: new SecretsManagerClient(awsClientConfig(config, overrides)), kms: new KMSClient(awsClientConfig(config, overrides)) } : {}),
      })
    : undefined;
  // The sandbox's scope unless the user gave one: a real scope names real registries, never the sandbox's.
  const workerConfig = supplyChain === undefined || config.FIREBREAK_SUPPLY_CHAIN_SCOPE !== undefined ? config : { ...config, FIREBREAK_SUPPLY_CHAIN_SCOPE: supplyChain.scopeFile };

  const effective = { ...config, TEMPORAL_ADDRESS: sandbox.temporal?.address ?? config.TEMPORAL_ADDRESS };

  // Intake: sources without configured credentials accept the local token (data/intake/local-token).
  const local = await localIntakeToken(dataDir);
  const configured = intakeAuthFromConfig(config);
  const auth: IntakeAuth = Object.fromEntries(alertSources.map((s) => [s, configured[s] ?? { mode: 'bearer', token: local.token }]));
  const intake = await listening(intakeListener(config), () => startIntake({ ...effective, FIREBREAK_DATA_DIR: dataDir }, log, { auth }));
  started.add('the alert intake', () => intake.close());
  // Slack, when configured (SLACK_MODE and its tokens): the app answers clicks and /incident; the worker posts.
  let slack: RunningSlackApp | undefined;
  if (config.SLACK_MODE !== undefined) {
    const { startSlack } = await import('../slack/index.ts');
    const app = await listening(slackListener(config), () => startSlack(effective, log));
    started.add('the Slack app', () => app.stop());
    slack = app;
  }

  // The worker comes last: one created but never run cannot be shut down, and keeps its connection open.
  const { worker, connection } = await createWorker({
    config: effective,
    deps: createActivityDeps(workerConfig, log, overrides),
    onTimelineEvent: (event, incidentId) => log.info({ incidentId, event }, `timeline ${event.type}`),
  });
  started.add('the Temporal connection', () => connection.close());

  const envForCli = [
    `TEMPORAL_ADDRESS=${effective.TEMPORAL_ADDRESS ?? '127.0.0.1:7233'}`,
    ...(effective.TEMPORAL_NAMESPACE === 'default' ? [] : [`TEMPORAL_NAMESPACE=${effective.TEMPORAL_NAMESPACE}`]),
  ].join(' ');
  const lines = [
    '',
    'Firebreak is running locally.',
    `  Temporal        ${effective.TEMPORAL_ADDRESS ?? ''} (namespace ${effective.TEMPORAL_NAMESPACE}, task queue ${config.FIREBREAK_TASK_QUEUE})`,
    ...(sandbox.temporal?.uiUrl ? [`  Temporal UI     ${sandbox.temporal.uiUrl}`] : []),
    ...(embeddedTemporal ? [`  Temporal state  ${join(dataDir, 'temporal.sqlite')}`] : []),
    ...(sandbox.kubernetes
      ? [
          `  kube-apiserver  ${sandbox.kubernetes.server} (sandbox; demo workload in namespace ${workload?.namespace})`,
          `  kubeconfig      ${sandbox.kubernetes.kubeconfigPath}`,
        ]
      : [`  Kubernetes      ${config.KUBECONFIG ?? '(not configured)'}`]),
    ...(sandbox.moto
      ? [
          `  AWS (moto)      ${sandbox.moto.endpoint} (sandbox; demo IAM user ${demoAws?.user}, key ${demoAws?.accessKeyId})`,
          `  CloudTrail      ${cloudTrail?.endpoint ?? ''} (sandbox LookupEvents; demo events of key ${demoAws?.accessKeyId})`,
        ]
      : [`  AWS             ${config.AWS_ENDPOINT_URL ?? 'default credential chain'}, region ${config.AWS_REGION}`]),
    ...(sandbox.registry && demoImages
      ? [`  OCI registry    ${sandbox.registry.url} (sandbox; ${demoImages.description})`]
      : []),
    ...(supplyChain ? [`  Supply chain    ${supplyChain.description}; scope ${displayLocal(workerConfig.FIREBREAK_SUPPLY_CHAIN_SCOPE ?? supplyChain.scopeFile)}`] : []),
    `  Alert intake    ${intake.url}/v1/alerts/{${alertSources.join(',')}} (runbooks: ${intake.runbooks.join(', ') || 'none'}; token ${displayLocal(local.file)})`,
    slack === undefined
      ? '  Slack           not configured (approve from the CLI; see the README, "Slack")'
      : `  Slack           ${slack.mode === 'http' ? `${slack.url} (point the app's Request URLs here)` : 'Socket Mode, connected'}`,
    `  Logs            ${sandboxDir}`,
    '',
    'Try next:',
    ...(sandbox.kubernetes
      ? [`  ${tools.kubectl} --kubeconfig ${sandbox.kubernetes.kubeconfigPath} get pods -A`]
      : []),
    `  ${envForCli} npx firebreak doctor      # can the worker reach Kubernetes and AWS?`,
    ...(demoAws ? [`  ${envForCli} FIREBREAK_OPERATOR=alice npx firebreak start credential-compromise --target ${demoAws.accessKeyId}`] : []),
    ...(supplyChain ? [`  ${envForCli} FIREBREAK_OPERATOR=alice npx firebreak start supply-chain --advisory test/sbom/fixtures/advisories/npm-qix-compromise-2025-09-08.json --clean-image ${supplyChain.cleanImage}`] : []),
    `  curl -sS ${intake.url}/v1/alerts/falco -H "Authorization: Bearer $(cat ${displayLocal(local.file)})" -H 'Content-Type: application/json' --data @test/intake/fixtures/falco/release-agent-escape.json`,
    '',
    'Press Ctrl-C to stop.',
  ];
  return { worker, lines };
}
