/** Shapes of the supply-chain runbook's scope (workflows import these as types only). */
import type { SealedItem } from '../evidence/index.ts';

/** A secret of the inventory: which workloads and CI workflows can read it, and whether Firebreak can reissue it. */
export interface InventorySecret {
  /** How people name it in the report, e.g. `shop/stripe-key`. */
  name: string;
  store: 'aws-secrets-manager' | 'kubernetes' | 'third-party';
  /** Secrets Manager: its name or ARN; Kubernetes: `<namespace>/<secret>`. Defaults to `name`. */
  id?: string;
  /** `generate`: Firebreak puts a new random value (Secrets Manager only); `manual`: a follow-up names it for a person to reissue. */
  rotation: 'generate' | 'manual';
  /**
   * Who can read it: `workload:<namespace>/<Kind>/<name>`, `serviceaccount:<namespace>/<name>`,
   * `workflow:<checkout>/<file>` (a CI workflow file under a configured checkout), or
   * `secret:<namespace>/<name>` (read through that Kubernetes Secret).
   */
  usedBy: string[];
  /** Where a person reissues a third-party credential (shown in the follow-up). */
  issuer?: string;
}

export type SbomSourceConfig =
  | { directory: string }
  | { s3: string }
  | { registry: string; images: { repository: string; reference: string }[] };

/** Where the supply-chain runbook looks, from FIREBREAK_SUPPLY_CHAIN_SCOPE (src/config/scope.ts validates it). */
export interface SupplyChainScope {
  sbomSources: SbomSourceConfig[];
  /** OCI registries whose tags are checked (and untagged) for the affected digests. */
  registries: { url: string; repositories: string[] }[];
  /** ECR repositories made tag-immutable. */
  ecr?: { repositories: string[] };
  /** Repository checkouts whose `.github/workflows` are searched for a compromised action. */
  checkouts: string[];
  secrets: InventorySecret[];
  /** KMS keys that sign images: disabled when one of their repositories is affected. */
  signingKeys: { keyId: string; repositories: string[] }[];
  /** Namespace of the block policy's parameter objects (created when missing). */
  blockNamespace: string;
  /** Namespace the canary and control pods are dry-run in. */
  canaryNamespace: string;
  /** An image the block does not list, for the control pod (dry-run only: never pulled). */
  controlImage: string;
}

/** An image the scope found affected, with every digest that names it and why. */
export interface AffectedImage {
  label: string;
  /** `registry/repository` when known (from the SBOM subject or the target), for re-pinning and signing keys. */
  repository?: string;
  digests: string[];
  /** What matched: `<advisory> <package>@<version>` or `image digest …`. */
  why: string[];
  /** The SBOM that said so, when one did. */
  sbom?: string;
}

/** What matching found: images by digest, images nobody can vouch for, and the evidence sealed while reading. */
export interface MatchScope {
  advisories: string[];
  images: AffectedImage[];
  /** Every affected digest, sorted. */
  digests: string[];
  /** Images the sources listed with no SBOM: not known to be clean. */
  unknown: { name: string; label: string; digests: string[] }[];
  unreadable: { sbom: string; problem: string }[];
  undecidable: { sbom: string; subject: string; name: string; version: string | null; advisory: string; reason: string }[];
  /** Clean images of an affected repository (an SBOM not affected), by repository: re-pin candidates. */
  clean: Record<string, string>;
  /** The advisory documents and the matched SBOMs, sealed as read. */
  refs: SealedItem[];
  counts: { sboms: number; components: number };
}

/** What the runbook acts on for matching: advisories (OSV JSON), exact packages, image digests, CI actions. */
export interface MatchInput {
  incidentId: string;
  /** OSV advisory documents as the responder gave them. */
  advisories: { name: string; text: string }[];
  packages: string[];
  /** `[registry/]repository@sha256:…` */
  images: string[];
  /** `owner/repo@ref`: matched as the GitHub Actions ecosystem against SBOMs, and searched for in workflow files by the CI activities. */
  actions: string[];
}
