/**
 * ECR for the supply-chain runbook: which tags point at affected digests (a
 * read, used by the registry activities' findTags) and tag immutability, so a
 * tag on a bad digest cannot be moved onto another bad push while the
 * incident is open. ECR has no untag by digest that keeps the image, so
 * immutability is the block here; undone on rollback to what it was.
 */
import { DescribeRepositoriesCommand, ListImagesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { ApplicationFailure } from '@temporalio/common';
import type { ActionResult } from '../../domain/actions.ts';
import { awsFailure, orMissing } from './errors.ts';
import type { AwsMode } from './types.ts';
import { SupplyChainWriter } from './writes.ts';

export type TagMutability = 'MUTABLE' | 'IMMUTABLE';

export interface EcrTag {
  repository: string;
  tag: string;
  digest: string;
}

/** The tags of one repository that point at any of the digests; undefined when the repository does not exist. */
export async function ecrTagsAt(ecr: ECRClient, repository: string, digests: ReadonlySet<string>): Promise<EcrTag[] | undefined> {
  const found: EcrTag[] = [];
  let nextToken: string | undefined;
  do {
    const page = await orMissing('ecr:ListImages', `ECR repository ${repository}`, () =>
      ecr.send(new ListImagesCommand({ repositoryName: repository, filter: { tagStatus: 'TAGGED' }, maxResults: 1000, ...(nextToken === undefined ? {} : { nextToken }) })),
    );
    if (page === undefined) return undefined;
    for (const id of page.imageIds ?? []) {
      if (id.imageDigest !== undefined && id.imageTag !== undefined && digests.has(id.imageDigest)) found.push({ repository, tag: id.imageTag, digest: id.imageDigest });
    }
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return found;
}

async function mutabilityOf(ecr: ECRClient, repository: string): Promise<TagMutability | undefined> {
  const res = await orMissing('ecr:DescribeRepositories', `ECR repository ${repository}`, () => ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repository] })));
  const repo = res?.repositories?.find((r) => r.repositoryName === repository);
  if (repo === undefined) return undefined;
  // IMMUTABLE_WITH_EXCLUSION still lets excluded tags move: only plain IMMUTABLE counts as done.
  return repo.imageTagMutability === 'IMMUTABLE' ? 'IMMUTABLE' : 'MUTABLE';
}

export async function setEcrTagImmutability(
  ecr: ECRClient,
  input: { incidentId: string; repository: string; mode: AwsMode },
): Promise<ActionResult & { previous?: TagMutability }> {
  const { repository } = input;
  const previous = await mutabilityOf(ecr, repository);
  if (previous === undefined) return { outcome: 'target-gone', detail: `ECR repository ${repository} does not exist` };
  if (previous === 'IMMUTABLE') return { outcome: 'already-done', detail: `ECR repository ${repository} already has immutable tags`, previous };
  const w = new SupplyChainWriter({ ecr }, input.mode);
  await w.setTagMutability(repository, 'IMMUTABLE');
  return { outcome: 'changed', detail: w.said(`made the tags of ECR repository ${repository} immutable (they were mutable)`), previous };
}

export async function restoreEcrTagImmutability(ecr: ECRClient, input: { incidentId: string; repository: string; previous: TagMutability; mode: AwsMode }): Promise<string> {
  const { repository, previous } = input;
  if (previous !== 'MUTABLE' && previous !== 'IMMUTABLE') {
    throw ApplicationFailure.create({ type: awsFailure.invalidTarget, nonRetryable: true, message: `Refused before any call to AWS: previous is ${JSON.stringify(previous)}, not MUTABLE or IMMUTABLE.` });
  }
  const now = await mutabilityOf(ecr, repository);
  if (now === undefined) return `ECR repository ${repository} no longer exists: nothing to restore`;
  if (now === previous) return `ECR repository ${repository} already has ${previous.toLowerCase()} tags`;
  const w = new SupplyChainWriter({ ecr }, input.mode);
  await w.setTagMutability(repository, previous);
  return w.said(`restored ${previous.toLowerCase()} tags on ECR repository ${repository}`);
}
