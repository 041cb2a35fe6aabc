import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The lint configuration guards the architecture. These tests lint snippets as
 * if they were files in the repository, with the repository's own rules; the
 * only addition lets the type-aware parser accept the probe files, which exist
 * only in memory.
 */
const probes = ['workflows/probe.ts', 'activities/probe.ts', 'src/probe.ts'];
const eslint = new ESLint({
  cwd: process.cwd(),
  overrideConfig: {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.js', ...probes] } },
    },
  },
});

async function lint(filePath: string, code: string) {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => ({ rule: m.ruleId, message: m.message }));
}

describe('lint rules that guard the architecture', () => {
  it('rejects a Node built-in imported by workflow code', async () => {
    const problems = await lint('workflows/probe.ts', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n");
    expect(problems).toContainEqual(
      expect.objectContaining({ rule: '@typescript-eslint/no-restricted-imports', message: expect.stringContaining('Node built-ins') }),
    );
  });

  it('rejects an SDK client imported by workflow code', async () => {
    const problems = await lint(
      'workflows/probe.ts',
      "import { IAMClient } from '@aws-sdk/client-iam';\nexport const c = IAMClient;\n",
    );
    expect(problems.map((p) => p.rule)).toContain('@typescript-eslint/no-restricted-imports');
  });

  it('rejects the Temporal client, worker and activity packages in workflow code', async () => {
    for (const pkg of ['@temporalio/client', '@temporalio/worker', '@temporalio/activity']) {
      const problems = await lint('workflows/probe.ts', `import * as m from '${pkg}';\nexport const x = m;\n`);
      expect(problems.map((p) => p.rule), pkg).toContain('@typescript-eslint/no-restricted-imports');
    }
  });

  it('rejects a value import from activities/ or src/ in workflow code', async () => {
    const fromActivities = await lint(
      'workflows/probe.ts',
      "import { createActivities } from '../activities/index.ts';\nexport const x = createActivities;\n",
    );
    expect(fromActivities).toContainEqual(expect.objectContaining({ message: expect.stringContaining('import type') }));
    const fromSrc = await lint('workflows/probe.ts', "import { getConfig } from '../src/config/index.ts';\nexport const x = getConfig;\n");
    expect(fromSrc.map((p) => p.rule)).toContain('@typescript-eslint/no-restricted-imports');
  });

  it('allows a type-only import from activities/ in workflow code', async () => {
    const problems = await lint(
      'workflows/probe.ts',
      "import type { Activities } from '../activities/index.ts';\nexport type A = Activities;\n",
    );
    expect(problems).toEqual([]);
  });

  it('rejects reading the clock, randomness and the environment in workflow code', async () => {
    const problems = await lint(
      'workflows/probe.ts',
      'export const a = Date.now();\nexport const b = Math.random();\nexport const c = new Date();\nexport const d = process.env;\n',
    );
    expect(problems.map((p) => p.rule).sort()).toEqual([
      'no-restricted-globals',
      'no-restricted-properties',
      'no-restricted-properties',
      'no-restricted-syntax',
    ]);
  });

  it('rejects activities importing workflows/ or src/', async () => {
    const problems = await lint(
      'activities/probe.ts',
      "import { preflight } from '../workflows/preflight.ts';\nimport { getConfig } from '../src/config/index.ts';\nexport const x = [preflight, getConfig];\n",
    );
    expect(problems.filter((p) => p.rule === 'no-restricted-imports')).toHaveLength(2);
  });

  it('rejects a floating promise', async () => {
    const problems = await lint(
      'src/probe.ts',
      'async function work(): Promise<void> {}\nexport function f(): void {\n  work();\n}\n',
    );
    expect(problems.map((p) => p.rule)).toContain('@typescript-eslint/no-floating-promises');
  });

  it('rejects an import cycle', async () => {
    // src/config/index.ts imports src/config/schema.ts; a schema importing the index closes a cycle.
    const source = "import { getConfig } from './index.ts';\nexport const x = getConfig;\n";
    const problems = await lint('src/config/schema.ts', source);
    expect(problems.map((p) => p.rule)).toContain('import-x/no-cycle');
  });

  it('rejects importing test/ from product code', async () => {
    const problems = await lint('src/probe.ts', "import { sandbox } from '../test/support/servers.ts';\nexport const x = sandbox;\n");
    expect(problems.map((p) => p.rule)).toContain('no-restricted-imports');
  });
});
