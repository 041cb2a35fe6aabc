// The supply-chain runbook: an advisory, a malicious package, a poisoned
// image or a compromised CI action → the digests it reaches, sealed as found;
// new pulls of them denied at admission (proved by a canary); tags moved off
// them; running pods quarantined and workloads scaled down; templates
// re-pinned to a clean digest; reachable secrets rotated or handed to people;
// signing keys disabled; a rescan; and an undo of everything but what the
// policy keeps.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { AffectedWorkload, ImageUsage, WorkloadRef } from '../activities/kubernetes/index.ts';
import type { TagRef } from '../activities/registry/index.ts';
import { credentialCompromiseRunbook, supplyChainRunbook } from './catalog.ts';
import { Incident } from './engine/incident.ts';
import type { IncidentStatus } from './engine/messages.ts';
import { refuseTargets } from './engine/targets.ts';
import type { IncidentInput } from './engine/types.ts';
import { secretsReached } from './secretReach.ts';

const reads = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});
const writes = proxyActivities<Activities>({
  startToCloseTimeout: '60 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 8 },
});

/** Shown in lists on the timeline: the first few, and how many more. */
function some(items: readonly string[], n = 5): string {
  return items.length <= n ? items.join(', ') : `${items.slice(0, n).join(', ')} and ${items.length - n} more`;
}

const workloadName = (w: WorkloadRef) => `${w.kind.toLowerCase()}:${w.namespace}/${w.name}`;
const tagName = (t: TagRef) => `${t.registry === 'ecr' ? 'ecr' : new URL(t.registry).host}/${t.repository}:${t.tag}`;

function what(input: IncidentInput) {
  const of = (kind: string) => input.targets.filter((t) => t.kind === kind && t.attributes?.['use'] !== 'clean').map((t) => t.id);
  const advisories = (input.documents ?? []).filter((d) => d.kind === 'osv-advisory').map((d) => ({ name: d.name, text: d.text }));
  const found = { advisories, packages: of('package'), images: of('image'), actions: of('action') };
  if (found.advisories.length + found.packages.length + found.images.length + found.actions.length === 0) {
    refuseTargets(
      `The supply-chain runbook needs something to look for: an OSV advisory (--advisory file.json), or a target package:<purl with version>, image:<repo>@sha256:… or action:<owner>/<repo>@<ref>; got ${
        input.targets.map((t) => `${t.kind}:${t.id}`).join(', ') || 'none'
      }.`,
      { expected: ['package', 'image', 'action', 'advisory document'], got: input.targets.map((t) => t.kind) },
    );
  }
  const clean = input.targets.filter((t) => t.kind === 'image' && t.attributes?.['use'] === 'clean').map((t) => t.id);
  return { ...found, clean };
}

/** `host/repo@sha256:…` or `host/repo:tag` → `host/repo`. */
function repositoryOf(image: string): string {
  const ref = image.includes('@') ? image.slice(0, image.lastIndexOf('@')) : image;
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? ref.slice(0, colon) : ref;
}

export async function supplyChain(input: IncidentInput): Promise<IncidentStatus> {
  const wanted = what(input);
  const incident = Incident.open(input, supplyChainRunbook);
  const { incidentId, mode } = input;

  // 1. Scope: read-only, ungated.
  const scope = await incident.read('scope', {
    action: 'match advisories against SBOMs, registries, clusters and CI workflows',
    target: some([...wanted.advisories.map((a) => a.name), ...wanted.packages, ...wanted.images, ...wanted.actions]),
    run: async () => {
      const matched = await reads.matchSupplyChain({ incidentId, ...wanted });
      const { settings } = matched;
      const [usage, tags] = await Promise.all([
        reads.findImageUsage({ digests: matched.digests }),
        reads.findTags({ registries: settings.registries, ...(settings.ecr === undefined ? {} : { ecr: settings.ecr }), digests: matched.digests }),
      ]);
      // A tag resolving to a bad digest is blocked by name too, as it resolves now.
      const tagImages = tags.tags.filter((t) => t.registry !== 'ecr').map(tagName);
      const byTag: ImageUsage = tagImages.length === 0 ? usage : await reads.findImageUsage({ digests: matched.digests, images: tagImages });
      return { matched, usage: byTag, tags, tagImages };
    },
  });
  if (scope === undefined) {
    incident.stopAfter('scope', 'the scope could not be read, so nothing is known to be affected');
    return incident.finish();
  }
  const { matched, usage, tags, tagImages } = scope;
  const { settings } = matched;
  const workflowFiles = [...new Map(matched.actions.uses.map((u) => [`${u.checkout}/${u.file}`, u])).values()];
  const reached = secretsReached({
    pods: usage.pods,
    workloads: usage.workloads,
    workflows: workflowFiles.map((u) => ({ file: `${u.checkout}/${u.file}`, secrets: matched.actions.uses.filter((x) => x.file === u.file && x.checkout === u.checkout).flatMap((x) => x.secrets) })),
    inventory: settings.secrets,
  });
  incident.found(
    'scope',
    'scope',
    `${matched.digests.length} affected digest(s) in ${matched.images.length} image(s) (${matched.counts.sboms} SBOMs read); ${matched.unknown.length} image(s) with no SBOM, not known to be clean${
      matched.unknown.length === 0 ? '' : ` (${some(matched.unknown.map((u) => u.label))})`
    }; ${tags.tags.length} tag(s), ${usage.pods.length} pod(s) of ${usage.scanned.pods} and ${usage.workloads.length} workload(s) of ${usage.scanned.workloads}, ${matched.actions.uses.length} CI workflow use(s), ${reached.length} secret(s) reachable`,
  );
  for (const u of matched.unknown) incident.followUp('scope', 'Find or produce an SBOM', `image ${u.label} has no SBOM in the configured sources, so it is not known to be clean`, u.name);
  for (const u of matched.actions.undecidable) incident.followUp('scope', 'Check a CI workflow by hand', `${u.uses} in ${u.checkout}/${u.file}:${u.line}: ${u.reason}`, u.advisory);
  if (matched.digests.length === 0 && matched.actions.uses.length === 0) {
    incident.stopAfter('scope', 'nothing the configured sources know is affected');
    return incident.finish();
  }

  // 2. Preserve: sealed before any change; the advisories and matched SBOMs were sealed as they were read.
  const preserved = await incident.capture('preserve-evidence', {
    action: 'seal the advisory, matched SBOMs, image manifests, tags, pods, templates, CI workflow files and the secret inventory (names and versions only)',
    target: `${usage.pods.length} pod(s), ${usage.workloads.length} workload(s), ${tags.tags.length} tag(s)`,
    run: async () => {
      const smIds = reached.filter((s) => s.store === 'aws-secrets-manager').map((s) => s.id);
      const [kube, registry, ci, versions] = await Promise.all([
        reads.captureSupplyChainKubeEvidence({
          incidentId,
          pods: usage.pods.map((p) => ({ namespace: p.namespace, pod: p.pod })),
          workloads: usage.workloads.map((w) => ({ kind: w.kind, namespace: w.namespace, name: w.name })),
          blockNamespace: settings.blockNamespace,
        }),
        reads.captureRegistryEvidence({
          incidentId,
          tags: tags.tags,
          digests: manifestsOf(matched.images, settings.registries),
        }),
        workflowFiles.length === 0
          ? Promise.resolve({ refs: [] })
          : reads.captureWorkflowEvidence({ incidentId, files: workflowFiles.map((u) => ({ checkout: u.checkout, file: u.file })) }),
        smIds.length === 0 ? Promise.resolve({ secrets: [] }) : reads.describeSecrets({ incidentId, secretIds: smIds }),
      ]);
      const inventory = await reads.sealEvidence({
        incidentId,
        name: 'secret-inventory.json',
        mediaType: 'application/json',
        content: JSON.stringify({ reached, versions: versions.secrets }, null, 2),
      });
      const summary = await reads.sealEvidence({
        incidentId,
        name: 'scope.json',
        mediaType: 'application/json',
        content: JSON.stringify({ advisories: matched.advisories, images: matched.images, digests: matched.digests, unknown: matched.unknown, unreadable: matched.unreadable, undecidable: matched.undecidable, tags: tags.tags, tagImages, problems: [...tags.problems, ...matched.actions.problems], actions: matched.actions }, null, 2),
      });
      return { refs: [...matched.refs, ...kube.refs, ...registry.refs, ...ci.refs, inventory, summary], versions: versions.secrets };
    },
  });
  if (preserved === undefined) return incident.finish();

  const proveBlock = async (): Promise<string> => {
    const digest = matched.digests[0]!;
    const image = matched.images.find((i) => i.repository !== undefined && i.digests.includes(digest));
    const proof = await reads.proveBlock({
      incidentId,
      digest,
      image: `${image?.repository ?? 'firebreak.invalid/canary'}@${digest}`,
      controlImage: settings.controlImage,
      namespace: settings.canaryNamespace,
    });
    return `denied after ${proof.elapsedMs} ms (${proof.attempts} attempt${proof.attempts === 1 ? '' : 's'}), control allowed${proof.message === undefined ? '' : `: ${proof.message}`}`;
  };

  // 3. Block new pulls by digest (and by the tags that resolve to them now), proved by a canary.
  if (matched.digests.length === 0) incident.skip('block-digests', 'block digests at admission', 'no image digest is affected (only CI workflows)');
  else {
    await incident.gated('block-digests', async () => {
      const blocked = await incident.act('block-digests', {
        action: 'deny pods and workload templates using the affected digests (ValidatingAdmissionPolicy)',
        target: some(matched.digests.map((d) => d.slice(0, 19))),
        run: async () => {
          const r = await writes.blockImages({ incidentId, digests: matched.digests, images: tagImages, blockNamespace: settings.blockNamespace, mode });
          return tagImages.length === 0
            ? r
            : { ...r, detail: `${r.detail}; tags resolved at block time are blocked by name too (${some(tagImages)}): a tag moved onto a bad digest later is caught only by its digest` };
        },
        compensate: { action: 'lift this incident\'s block entries', run: () => writes.unblockImages({ incidentId, blockNamespace: settings.blockNamespace, mode }) },
      });
      if (blocked === undefined) return;
      if (mode === 'dry-run') {
        incident.note('block-digests', 'prove the block with a canary', 'dry-run: the API server validated the block (dryRun=All) but it is not in force, so there is nothing to prove');
        return;
      }
      await incident.check('block-digests', {
        check: 'a canary pod on a blocked digest is denied, a control pod allowed (server-side dry-run)',
        target: matched.digests[0]!,
        run: proveBlock,
      });
    });
  }

  // 4. Registry: tags off the bad digests (OCI), tag immutability (ECR).
  const ociTags = tags.tags.filter((t) => t.registry !== 'ecr');
  const ecrRepositories = [...new Set(tags.tags.filter((t) => t.registry === 'ecr').map((t) => t.repository))];
  if (ociTags.length === 0 && ecrRepositories.length === 0) incident.skip('registry-tags', 'move tags off the affected digests', 'no registry tag points at an affected digest');
  else {
    await incident.gated('registry-tags', async () => {
      for (const tag of ociTags) {
        await incident.act('registry-tags', {
          action: 'untag the affected digest',
          target: `${tagName(tag)} → ${tag.digest.slice(0, 19)}`,
          run: () => writes.untagImage({ incidentId, tag, mode }),
          compensate: { action: 'put the tag back', run: () => writes.restoreTag({ incidentId, tag, mode }) },
        });
      }
      for (const repository of ecrRepositories) {
        let previous: 'MUTABLE' | 'IMMUTABLE' = 'MUTABLE';
        await incident.act('registry-tags', {
          action: 'make the repository\'s tags immutable',
          target: `ecr:${repository}`,
          run: async () => {
            const r = await writes.setEcrTagImmutability({ incidentId, repository, mode });
            previous = r.previous ?? previous;
            return r;
          },
          compensate: { action: 'restore tag mutability', run: () => writes.restoreEcrTagImmutability({ incidentId, repository, previous, mode }) },
        });
      }
    });
  }

  // 5. Running workloads: quarantine the pods (the container-escape isolation), then scale their workloads down.
  if (usage.pods.length === 0) incident.skip('quarantine-pods', 'quarantine affected pods', 'no running pod uses an affected image');
  else {
    await incident.gated('quarantine-pods', async () => {
      for (const p of usage.pods) {
        const ref = { incidentId, namespace: p.namespace, pod: p.pod, mode };
        await incident.act('quarantine-pods', {
          action: 'quarantine pod (label + deny-all NetworkPolicy)',
          target: `pod:${p.namespace}/${p.pod}`,
          run: () => writes.quarantinePod(ref),
          compensate: { action: 'release pod from quarantine', run: () => writes.releasePod(ref) },
        });
      }
    });
  }
  const scalable = usage.workloads.filter((w) => w.kind !== 'DaemonSet');
  for (const w of usage.workloads.filter((x) => x.kind === 'DaemonSet')) {
    incident.followUp('scale-down-workloads', 'Remove or re-pin a DaemonSet', `a DaemonSet cannot be scaled down; its pods are quarantined and its template re-pinned when a clean image is known`, workloadName(w));
  }
  if (scalable.length === 0) incident.skip('scale-down-workloads', 'scale down affected workloads', 'no scalable workload uses an affected image');
  else {
    await incident.gated('scale-down-workloads', async () => {
      for (const w of scalable) {
        const workload: WorkloadRef = { kind: w.kind, namespace: w.namespace, name: w.name };
        let previous = w.replicas ?? 1;
        await incident.act('scale-down-workloads', {
          action: w.kind === 'Job' || w.kind === 'CronJob' ? 'suspend' : 'scale to 0 replicas (scale subresource)',
          target: workloadName(w),
          run: async () => {
            const r = await writes.scaleWorkload({ incidentId, workload, replicas: 0, mode });
            previous = r.previousReplicas ?? previous;
            return r;
          },
          compensate: { action: 'restore the replica count', run: () => writes.restoreWorkloadScale({ incidentId, workload, replicas: previous, mode }) },
        });
      }
    });
  }

  // 6. Re-pin templates to a clean digest: the responder's (--clean-image) or an unaffected SBOM'd image of the same repository.
  const repins = repinPlan(usage.workloads, wanted.clean, matched.clean, new Set(matched.digests));
  for (const m of repins.missing) incident.followUp('repin-workloads', 'Re-pin a workload to a clean image', `no clean image of ${m.repository} is known: start the incident with --clean-image ${m.repository}@sha256:… or push one with an SBOM`, m.target);
  if (repins.planned.length === 0) incident.skip('repin-workloads', 're-pin workload templates', 'no clean image is known for any affected workload');
  else {
    await incident.gated('repin-workloads', async () => {
      for (const r of repins.planned) {
        let previous = r.from;
        await incident.act('repin-workloads', {
          action: `re-pin container ${r.container} to a clean digest`,
          target: `${workloadName(r.workload)} → ${r.image}`,
          run: async () => {
            const result = await writes.repinWorkload({ incidentId, workload: r.workload, container: r.container, image: r.image, blockNamespace: settings.blockNamespace, mode });
            previous = result.previousImage ?? previous;
            return result;
          },
          compensate: { action: 'restore the previous image', run: () => writes.restoreWorkloadImage({ incidentId, workload: r.workload, container: r.container, image: previous, mode }) },
        });
      }
    });
  }

  // 7. Secrets the affected images could read: rotate what Firebreak can reissue, hand the rest to people.
  for (const s of reached.filter((x) => x.plan === 'follow-up')) {
    incident.followUp(
      'rotate-secrets',
      `Rotate ${s.name}`,
      `${s.store === 'kubernetes' ? 'a Kubernetes Secret' : s.store === 'third-party' ? 'a third-party credential' : 'a manually rotated secret'} readable by ${some(s.usedBy)}${s.issuer === undefined ? '' : `; reissue it at ${s.issuer}`}`,
      s.id,
    );
  }
  const rotations = reached.filter((x) => x.plan === 'rotate');
  if (rotations.length === 0) incident.skip('rotate-secrets', 'rotate reachable secrets', 'no reachable secret is one Firebreak can reissue (follow-ups name the others)');
  else {
    await incident.gated('rotate-secrets', async () => {
      for (const s of rotations) {
        let version: { versionId?: string; previousVersionId?: string } = {};
        await incident.act('rotate-secrets', {
          action: 'put a new random value (Secrets Manager)',
          target: `secret:${s.name}`,
          run: async () => {
            const r = await writes.rotateSecret({ incidentId, secretId: s.id, mode });
            version = r;
            return r;
          },
          compensate: {
            action: 'move AWSCURRENT back to the leaked version',
            run: () => writes.undoSecretRotation({ incidentId, secretId: s.id, versionId: version.versionId ?? '', previousVersionId: version.previousVersionId ?? '', mode }),
          },
        });
      }
    });
  }

  // IRSA roles the affected workloads run as: offered to the credential-compromise runbook, as container escape does.
  const roles = [...new Map([...usage.pods, ...usage.workloads].filter((x) => x.awsRoleArn !== undefined).map((x) => [x.awsRoleArn!, x])).entries()];
  if (roles.length === 0) incident.skip('offer-credential-compromise', 'offer credential-compromise runbook', 'no affected workload runs as an AWS role (IRSA)');
  else {
    await incident.offerChildren(
      'offer-credential-compromise',
      roles.map(([role, x], i) => ({
        workflow: credentialCompromiseRunbook.workflow,
        runbook: 'credential-compromise',
        targets: [{ kind: 'role' as const, id: role }],
        why: `service account ${x.namespace}/${x.serviceAccount} of an affected workload maps to AWS role ${role} (IRSA)`,
        summary: `IRSA role of a workload running an affected image: ${input.trigger.summary}`,
        ...(roles.length === 1 ? {} : { instance: `r${i + 1}` }),
      })),
    );
  }

  // 8. Signing keys of the affected repositories. Digests they signed stay blocked: disabling a key does not void old signatures.
  const affectedRepos = new Set(matched.images.flatMap((i) => (i.repository === undefined ? [] : [i.repository, i.repository.slice(i.repository.indexOf('/') + 1)])));
  const keys = settings.signingKeys.filter((k) => k.repositories.some((r) => affectedRepos.has(r)));
  if (keys.length === 0) incident.skip('disable-signing-keys', 'disable signing keys', 'no configured signing key signs an affected repository');
  else {
    await incident.gated('disable-signing-keys', async () => {
      for (const k of keys) {
        await incident.act('disable-signing-keys', {
          action: 'disable the KMS signing key (digests it signed stay blocked)',
          target: `kms:${k.keyId}`,
          run: () => writes.disableSigningKey({ incidentId, keyId: k.keyId, mode }),
          compensate: { action: 'enable the signing key', run: () => writes.enableSigningKey({ incidentId, keyId: k.keyId, mode }) },
        });
      }
    });
  }

  // 9. Verify: rescan, and the canary still denied.
  const after = await incident.read('verify', {
    action: 'rescan the cluster for the affected images',
    target: some(matched.digests.map((d) => d.slice(0, 19))),
    run: () => reads.findImageUsage({ digests: matched.digests, images: tagImages }),
  });
  if (after !== undefined) {
    const quarantined = new Set(usage.pods.map((p) => `${p.namespace}/${p.pod}`));
    const still = after.pods.filter((p) => !quarantined.has(`${p.namespace}/${p.pod}`));
    const templates = after.workloads.map(workloadName);
    incident.found(
      'verify',
      'rescan',
      `${after.pods.length} pod(s) still run an affected image (${after.pods.length - still.length} of them quarantined by this incident); ${templates.length} workload template(s) still name one`,
    );
    for (const p of still) incident.followUp('verify', 'Contain a pod the block did not cover', 'it runs an affected image and is not quarantined by this incident (started before the block, or its quarantine was not approved or failed)', `pod:${p.namespace}/${p.pod}`);
    for (const t of templates) incident.followUp('verify', 'Re-pin or remove a workload', 'its template still names an affected image (new pods of it are denied at admission while the block holds)', t);
  }
  if (after !== undefined && mode === 'live' && incident.status().steps.find((s) => s.id === 'block-digests')?.status === 'succeeded') {
    await incident.check('verify', { check: 'the canary is still denied', target: matched.digests[0]!, run: proveBlock });
  }

  // 10. Rollback (saga, newest first; the policy's rollback.keep stays) until the incident is closed.
  return incident.finish();
}

/** The affected images' manifests in the configured registries, by digest: `host/repo` names the registry whose URL has that host. */
function manifestsOf(images: readonly { repository?: string; digests: readonly string[] }[], registries: readonly { url: string }[]) {
  return images.flatMap((i) => {
    const repository = i.repository ?? '';
    const slash = repository.indexOf('/');
    const registry = slash < 0 ? undefined : registries.find((r) => new URL(r.url).host === repository.slice(0, slash));
    return registry === undefined ? [] : i.digests.map((digest) => ({ registry: registry.url, repository: repository.slice(slash + 1), digest }));
  });
}

/** Each affected container of each workload, with the clean image to re-pin it to, or why there is none. */
function repinPlan(workloads: readonly AffectedWorkload[], given: readonly string[], fromSboms: Readonly<Record<string, string>>, blocked: ReadonlySet<string>) {
  const byRepository = new Map<string, string>(Object.entries(fromSboms));
  for (const image of given) byRepository.set(repositoryOf(image), image);
  const planned: { workload: WorkloadRef; container: string; image: string; from: string }[] = [];
  const missing: { repository: string; target: string }[] = [];
  for (const w of workloads) {
    for (const use of w.images) {
      const repository = repositoryOf(use.image);
      const image = byRepository.get(repository);
      if (image === undefined || blocked.has(image.slice(image.lastIndexOf('@') + 1))) missing.push({ repository, target: `${workloadName(w)} container ${use.container}` });
      else planned.push({ workload: { kind: w.kind, namespace: w.namespace, name: w.name }, container: use.container, image, from: use.image });
    }
  }
  return { planned, missing };
}
