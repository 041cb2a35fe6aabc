import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * Dry-run by construction: lint refuses a Kubernetes or AWS write that does
 * not go through the one place that applies the mode (activities/kubernetes/
 * writes.ts, activities/aws/writes.ts). Snippets are linted as files of the
 * repository with its own rules; the probes exist only in memory.
 */
const probes = ['activities/kubernetes/probe.ts', 'activities/aws/probe.ts'];
const eslint = new ESLint({
  cwd: process.cwd(),
  overrideConfig: { languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.js', ...probes] } } } },
});

async function restricted(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => m.message);
}

const kubeWrite = `import type { CoreV1Api } from '@kubernetes/client-node';
export async function f(core: CoreV1Api): Promise<void> {
  await core.deleteNamespacedPod({ name: 'p', namespace: 'n' });
}
`;
const kubeRead = `import type { CoreV1Api } from '@kubernetes/client-node';
export async function f(core: CoreV1Api): Promise<void> {
  await core.readNamespacedPod({ name: 'p', namespace: 'n' });
}
`;

describe('lint keeps every write behind the dry-run switch', () => {
  it('rejects a Kubernetes write called outside activities/kubernetes/writes.ts', async () => {
    for (const call of ['deleteNamespacedPod', 'patchNamespacedPod', 'createNamespacedNetworkPolicy', 'replaceNamespacedPod', 'patchNode']) {
      expect(await restricted('activities/kubernetes/probe.ts', kubeWrite.replace('deleteNamespacedPod', call)), call).toEqual([expect.stringContaining('KubeWriter')]);
    }
  });

  it('allows Kubernetes reads anywhere in activities/kubernetes, and writes in writes.ts (control)', async () => {
    expect(await restricted('activities/kubernetes/probe.ts', kubeRead)).toEqual([]);
    expect(await restricted('activities/kubernetes/writes.ts', kubeWrite)).toEqual([]);
  });

  it('rejects an AWS write command, or a whole SDK package, imported outside activities/aws/writes.ts', async () => {
    for (const command of ['UpdateAccessKeyCommand', 'DeleteLoginProfileCommand', 'PutRolePolicyCommand', 'CreateAccessKeyCommand', 'TagUserCommand']) {
      const code = `import { ${command} } from '@aws-sdk/client-iam';\nexport const c = ${command};\n`;
      expect(await restricted('activities/aws/probe.ts', code), command).toEqual([expect.stringContaining('IamWriter')]);
    }
    expect(await restricted('activities/aws/probe.ts', "import * as iam from '@aws-sdk/client-iam';\nexport const c = iam;\n")).toEqual([
      expect.stringContaining('Import AWS SDK commands by name'),
    ]);
  });

  it('allows AWS read commands anywhere in activities/aws, and write commands in writes.ts (control)', async () => {
    const reads = "import { GetUserCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';\nimport { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';\nexport const c = [GetUserCommand, ListAccessKeysCommand, LookupEventsCommand];\n";
    expect(await restricted('activities/aws/probe.ts', reads)).toEqual([]);
    const write = "import { UpdateAccessKeyCommand } from '@aws-sdk/client-iam';\nexport const c = UpdateAccessKeyCommand;\n";
    expect(await restricted('activities/aws/writes.ts', write)).toEqual([]);
  });
});
