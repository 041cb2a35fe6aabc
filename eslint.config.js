// ESLint flat config. Besides the usual checks, it guards the architecture of
// ../shared/ARCHITECTURE.md: workflow code stays deterministic and imports only
// types from activities, activities never reach into workflows or src, nothing
// imports test/, and there are no import cycles or floating promises.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const nodeBuiltins = [...new Set(builtinModules.flatMap((m) => [m, `node:${m}`]))];

/** Packages that do I/O or talk to other systems: never in workflow code. */
const sdkClients = [
  '@aws-sdk/*',
  '@smithy/*',
  '@kubernetes/*',
  '@slack/*',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
  'pino',
  'pino-*',
  'commander',
  'yaml',
  'tsx',
  'tsx/*',
];

const importTestMessage = 'Nothing imports test/: move what you need into src/, workflows/ or activities/.';

const sdkClientMessage = 'SDK clients are built once, in the composition root (src/wiring/clients.ts): receive them through deps.';
const sdkClientConstruction = [
  { selector: 'NewExpression[callee.name=/Client$/]', message: sdkClientMessage },
  { selector: "NewExpression[callee.property.name='WebClient']", message: sdkClientMessage },
  { selector: "NewExpression[callee.name='KubeConfig']", message: sdkClientMessage },
  { selector: "CallExpression[callee.property.name='makeApiClient']", message: sdkClientMessage },
];

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'dist/**', 'data/**', 'coverage/**', 'test/tools/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['*.js', 'bin/*.js'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    settings: {
      // Without these, import-x does not parse .ts modules and cannot follow cycles through them.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/test/**', '../test/*', './test/*'], message: importTestMessage }] },
      ],
    },
  },
  {
    files: ['test/**'],
    rules: {
      // test/ may import test/support; it is the only folder that may.
      'no-restricted-imports': 'off',
      // vitest's asymmetric matchers (expect.stringContaining, …) are typed `any`.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflow code is deterministic and runs in a sandbox: no Node built-ins. Do I/O in an activity.',
          })),
          patterns: [
            {
              group: sdkClients,
              message:
                'Workflow code may not use SDK clients or I/O libraries: call an activity through proxyActivities instead.',
            },
            {
              group: ['**/src', '**/src/**', '**/activities', '**/activities/**'],
              allowTypeImports: true,
              message:
                'Workflows may import only types from activities/ and nothing from src/: use `import type`, and call activities through proxyActivities.',
            },
            { group: ['**/test/**'], message: importTestMessage },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'Workflow code may not read the environment: pass values in the workflow input.' },
        { name: 'require', message: 'Use ESM imports.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Workflow time comes from the workflow: use workflowInfo() or pass it in.' },
        { object: 'Math', property: 'random', message: 'Randomness breaks replay: use uuid4() from @temporalio/workflow.' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'Workflow code may not read the clock: use workflow time from @temporalio/workflow.',
        },
      ],
    },
  },
  {
    // The sanctioned accessor of Temporal's deterministic workflow clock.
    files: ['workflows/engine/clock.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    // domain/: rules and values shared by workflows, activities and src/. Pure: nothing of ours, no Node, no SDK.
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'domain/ is imported by workflow code: no Node built-ins.' })),
          patterns: [
            { group: sdkClients, message: 'domain/ is imported by workflow code: no SDK clients or I/O libraries.' },
            {
              group: ['**/src', '**/src/**', '**/activities', '**/activities/**', '**/workflows', '**/workflows/**'],
              message: 'domain/ is the bottom layer: it imports nothing of ours.',
            },
            { group: ['**/test/**'], message: importTestMessage },
          ],
        },
      ],
    },
  },
  {
    files: ['activities/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/workflows', '**/workflows/**', '**/src', '**/src/**'],
              message: 'activities/ may not import workflows/ or src/: receive what you need through createActivities(deps).',
            },
            { group: ['**/test/**'], message: importTestMessage },
          ],
        },
      ],
    },
  },
  {
    // One composition root (src/wiring/): it builds every SDK client once; activities and adapters receive them.
    // The sandbox builds its own, for the simulated world it seeds; so does a drill's world, whose clients answer from memory.
    files: ['src/**/*.ts', 'activities/**/*.ts'],
    ignores: ['src/wiring/**', 'src/sandbox/**', 'src/drills/world/**'],
    rules: { 'no-restricted-syntax': ['error', ...sdkClientConstruction] },
  },
  {
    // Dry-run by construction (issue #11): every Kubernetes write goes through activities/kubernetes/writes.ts,
    // which builds its dry-run options (query and DeleteOptions body) from the mode.
    files: ['activities/kubernetes/**/*.ts'],
    ignores: ['activities/kubernetes/writes.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...sdkClientConstruction,
        {
          selector: 'CallExpression > MemberExpression.callee[property.name=/^(create|patch|replace|delete)[A-Z]/]',
          message:
            'Kubernetes writes go through KubeWriter (activities/kubernetes/writes.ts), which sends dryRun=All in dry-run: add the write there.',
        },
      ],
    },
  },
  {
    // Dry-run by construction (issue #11): every AWS write goes through activities/aws/writes.ts, which records instead of
    // sending in dry-run. Elsewhere in activities/aws only read commands may be imported.
    files: ['activities/aws/**/*.ts'],
    ignores: ['activities/aws/writes.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...sdkClientConstruction,
        {
          selector:
            'ImportDeclaration[source.value=/^@aws-sdk.client-/] > ImportSpecifier[imported.name=/Command$/][imported.name!=/^(Get|List|Lookup|Head|Describe)[A-Z]/]',
          message:
            'AWS writes go through IamWriter (activities/aws/writes.ts), which records instead of sending in dry-run: add the write there.',
        },
        {
          selector: 'ImportDeclaration[source.value=/^@aws-sdk.client-/] > ImportNamespaceSpecifier',
          message: 'Import AWS SDK commands by name, so lint can tell reads from writes (writes go through activities/aws/writes.ts).',
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly' },
    },
  },
);
