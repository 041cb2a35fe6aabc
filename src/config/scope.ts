/**
 * The supply-chain runbook's scope file (FIREBREAK_SUPPLY_CHAIN_SCOPE): where
 * the worker looks for SBOMs, which registries and CI checkouts it searches,
 * the secret inventory and the signing keys. Worker-side facts, so a file the
 * worker reads at start, validated here; a wrong file stops the worker with
 * every problem named, never a half-configured scope.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import type { SupplyChainScope } from '../../activities/supply-chain/index.ts';
import { dnsLabelProblem, ecrRepositoryNameProblem } from '../../domain/names.ts';

const url = z.url({ error: 'expected an http(s) URL such as http://127.0.0.1:5000' }).refine((u) => /^https?:\/\//.test(u), 'expected an http(s) URL');
const repository = z.string().regex(/^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/, 'expected a repository path such as shop/web');
const namespace = z.string().superRefine((v, ctx) => {
  const problem = dnsLabelProblem('namespace', v);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});
const usedBy = z
  .string()
  .regex(/^(workload:[a-z0-9-]+\/(Deployment|StatefulSet|DaemonSet|Job|CronJob)\/[a-z0-9.-]+|serviceaccount:[a-z0-9-]+\/[a-z0-9.-]+|secret:[a-z0-9-]+\/[a-z0-9.-]+|workflow:\S+)$/, {
    message: 'expected workload:<namespace>/<Kind>/<name>, serviceaccount:<namespace>/<name>, secret:<namespace>/<name> or workflow:<checkout>/<file>',
  });

const scopeFile = z
  .object({
    sbomSources: z
      .array(
        z.union([
          z.object({ directory: z.string().min(1) }).strict(),
          z.object({ s3: z.string().regex(/^s3:\/\/[a-z0-9.-]{3,63}(\/.*)?$/, 'expected s3://bucket/prefix') }).strict(),
          z
            .object({
              registry: url,
              images: z.array(z.object({ repository, reference: z.string().min(1) }).strict()).min(1),
            })
            .strict(),
        ]),
      )
      .default([]),
    registries: z.array(z.object({ url, repositories: z.array(repository).min(1) }).strict()).default([]),
    ecr: z
      .object({
        repositories: z.array(
          z.string().superRefine((v, ctx) => {
            const problem = ecrRepositoryNameProblem(v);
            if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
          }),
        ),
      })
      .strict()
      .optional(),
    checkouts: z.array(z.string().min(1)).default([]),
    secrets: z
      .array(
        z
          .object({
            name: z.string().min(1).max(512),
            store: z.enum(['aws-secrets-manager', 'kubernetes', 'third-party']),
            id: z.string().min(1).max(2048).optional(),
            rotation: z.enum(['generate', 'manual']).default('manual'),
            usedBy: z.array(usedBy).min(1),
            issuer: z.string().min(1).optional(),
          })
          .strict()
          .refine((s) => s.rotation !== 'generate' || s.store === 'aws-secrets-manager', {
            message: 'rotation: generate is only for Secrets Manager secrets: Firebreak cannot reissue a Kubernetes Secret or a third-party credential (use rotation: manual)',
          }),
      )
      .default([]),
    signingKeys: z.array(z.object({ keyId: z.string().min(1).max(2048), repositories: z.array(z.string().min(1)).min(1) }).strict()).default([]),
    blockNamespace: namespace.default('firebreak'),
    canaryNamespace: namespace.default('firebreak'),
    controlImage: z.string().min(1).default('registry.k8s.io/pause:3.10'),
  })
  .strict();

/** Scope problems, each with the field it is in. */
export class ScopeFileError extends Error {
  override readonly name = 'ScopeFileError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} (FIREBREAK_SUPPLY_CHAIN_SCOPE) is not a valid supply-chain scope:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** The scope when no file is given: the worker's own cluster, nothing else searched. */
export const emptyScope: SupplyChainScope = scopeFile.parse({});

/** Parses scope text; relative directories are taken from the file's own directory. */
export function parseScope(text: string, file: string): SupplyChainScope {
  let data: unknown;
  try {
    data = parse(text, { maxAliasCount: 100 }) ?? {};
  } catch (e) {
    throw new ScopeFileError(file, [`not YAML: ${(e as Error).message.split('\n')[0]}`]);
  }
  const r = scopeFile.safeParse(data);
  if (!r.success) throw new ScopeFileError(file, r.error.issues.slice(0, 50).map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`));
  const base = dirname(resolve(file));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  return {
    ...r.data,
    sbomSources: r.data.sbomSources.map((s) => ('directory' in s ? { directory: abs(s.directory) } : s)),
    checkouts: r.data.checkouts.map(abs),
  };
}

/** Read once when the worker's activities are built. */
export function loadScope(file: string | undefined): SupplyChainScope {
  if (file === undefined) return emptyScope;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ScopeFileError(file, [`cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
  }
  return parseScope(text, file);
}
