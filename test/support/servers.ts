/**
 * Clients for the real servers the global setup started, for use in tests.
 * Every test file gets its own AWS account in moto and its own Kubernetes
 * namespaces, so files never see each other's state.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, inject } from 'vitest';
import type { SandboxInfo } from './sandbox-info.ts';

export function sandbox(): SandboxInfo {
  return inject('sandbox');
}

/** A name unique to this run, for workflow ids, task queues and namespaces. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

// ---------- Temporal ----------

/** A client of the dev server; closed after the file's tests. */
export async function temporalClient(): Promise<Client> {
  const info = sandbox();
  const connection = await Connection.connect({ address: info.temporalAddress });
  afterAll(() => connection.close());
  return new Client({ connection, namespace: info.temporalNamespace });
}

/** A time-skipping test server of its own, from the tools cache; torn down after the file. */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: sandbox().temporalTestServerPath } },
  });
  afterAll(() => env.teardown());
  return env;
}

// ---------- AWS (moto) ----------

/** This file's AWS account in moto: a fresh one per test file (module). */
export const testAccountId = String(randomInt(100_000_000_000, 999_999_999_999));

/** Settings that point a real AWS SDK v3 client at moto. */
export function awsTestConfig() {
  return {
    region: 'us-east-1',
    endpoint: sandbox().motoEndpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
}

interface WithMiddleware {
  middlewareStack: { add(middleware: unknown, options: unknown): void };
}
type Next = (args: { request: { headers: Record<string, string> } }) => Promise<unknown>;

/** Sends every request of the client to the given moto account (moto keeps accounts apart); this file's by default. */
export function inAccount<C extends WithMiddleware>(client: C, accountId = testAccountId): C {
  client.middlewareStack.add(
    (next: Next) => (args: Parameters<Next>[0]) => {
      args.request.headers['x-moto-account-id'] = accountId;
      return next(args);
    },
    { step: 'build', name: 'motoAccountIsolation' },
  );
  return client;
}

/**
 * A real AWS SDK client talking to moto, its calls landing in this file's own
 * account, so no file sees another's resources.
 */
export function awsClient<C extends WithMiddleware>(
  Ctor: new (config: ReturnType<typeof awsTestConfig>) => C,
  accountId = testAccountId,
): C {
  return inAccount(new Ctor(awsTestConfig()), accountId);
}

// ---------- Kubernetes ----------

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(sandbox().kubeconfigPath);
  return kc;
}

/** Creates a namespace for one test and deletes it after the file. */
export async function testNamespace(prefix = 'test'): Promise<string> {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const name = uniqueName(prefix).toLowerCase();
  await core.createNamespace({ body: { metadata: { name, labels: { 'firebreak.io/test': 'true' } } } });
  afterAll(async () => {
    try {
      await core.deleteNamespace({ name });
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 404)) throw e;
    }
  });
  return name;
}
