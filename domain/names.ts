/**
 * The naming rules of the systems Firebreak acts on, checked wherever a name
 * enters (CLI, Slack, intake, workflow input) and again before an activity acts.
 * A name that breaks its system's rule is refused, never repaired: `..` as a pod
 * name resolves to the namespace's URL, so a trimmed-but-unchecked name can
 * steer a write onto another object.
 *
 * Pure functions with no imports: workflows, activities and src/ all use them.
 */

/** Why a name is not valid, or undefined when it is. */
export type NameProblem = string | undefined;

const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function show(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/** A name as messages quote it: JSON-escaped (no control characters reach a terminal or log) and cut at 80 characters. */
export const quoteName = show;

/** RFC 1123 label (Kubernetes namespaces): at most 63 of [a-z0-9-], starting and ending alphanumeric. */
export function dnsLabelProblem(what: string, value: string): NameProblem {
  if (value.length === 0) return `${what} is empty`;
  if (value.length > 63 || !label.test(value)) {
    return `${what} ${show(value)} is not a valid Kubernetes name: expected at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit (RFC 1123 label)`;
  }
  return undefined;
}

/** RFC 1123 subdomain (pods, nodes, service accounts): at most 253 characters of dot-separated labels. */
export function dnsSubdomainProblem(what: string, value: string): NameProblem {
  if (value.length === 0) return `${what} is empty`;
  if (value.length > 253 || !subdomain.test(value)) {
    return `${what} ${show(value)} is not a valid Kubernetes name: expected at most 253 lowercase letters, digits, '-' or '.', each dot-separated part starting and ending with a letter or digit (RFC 1123 subdomain)`;
  }
  return undefined;
}

export const namespaceProblem = (value: string): NameProblem => dnsLabelProblem('namespace', value);
export const podNameProblem = (value: string): NameProblem => dnsSubdomainProblem('pod name', value);
export const nodeNameProblem = (value: string): NameProblem => dnsSubdomainProblem('node name', value);
export const serviceAccountProblem = (value: string): NameProblem => dnsSubdomainProblem('service account name', value);
export const containerNameProblem = (value: string): NameProblem => dnsLabelProblem('container name', value);

/** `namespace/pod`, both parts valid. */
export function podRefProblem(value: string): NameProblem {
  const parts = value.split('/');
  if (parts.length !== 2) return `pod ${show(value)}: expected namespace/pod, e.g. demo-shop/storefront-7d9c6b5f8-x7k2p`;
  return namespaceProblem(parts[0] ?? '') ?? podNameProblem(parts[1] ?? '');
}

/** AWS access key id: AKIA… (long-term) or ASIA… (session), upper-case letters and digits (IAM allows 16–128 characters). */
export const accessKeyIdPattern = /^A[KS]IA[A-Z0-9]{12,124}$/;

export function accessKeyIdProblem(value: string): NameProblem {
  return accessKeyIdPattern.test(value)
    ? undefined
    : `access key id ${show(value)} is not valid: expected AKIA… or ASIA… followed by 12–124 upper-case letters or digits`;
}

// IAM's documented rule for user, role, group and policy names: [\w+=,.@-], 1–64 characters (users, roles) or 1–128 (groups, policies).
const iamNameChars = /^[\w+=,.@-]+$/;
const iamNameMax = { user: 64, role: 64, group: 128, policy: 128 } as const;
// arn:partition:iam::account:user|role/optional/path/name
const iamArn = /^arn:aws(-[a-z]+)*:iam::(\d{12}):(user|role)((?:\/[\x21-\x7e]+)*)\/([\w+=,.@-]{1,64})$/;
// arn:partition:iam::account-or-aws:policy/optional/path/name (AWS managed policies have "aws" as their account)
const policyArn = /^arn:aws(-[a-z]+)*:iam::(\d{12}|aws):policy((?:\/[\x21-\x7e]+)*)\/([\w+=,.@-]{1,128})$/;

/** An IAM user, role, group or inline policy name, by IAM's rule. */
export function iamNameProblem(kind: keyof typeof iamNameMax, value: string): NameProblem {
  const max = iamNameMax[kind];
  return value.length >= 1 && value.length <= max && iamNameChars.test(value)
    ? undefined
    : `${kind} name ${show(value)} is not valid: expected 1–${max} letters, digits or + = , . @ _ - (IAM's rule for ${kind} names)`;
}

/** A managed policy's ARN (customer managed, or AWS managed with "aws" as the account). */
export function policyArnProblem(value: string): NameProblem {
  return policyArn.test(value) ? undefined : `policy ARN ${show(value)} is not valid: expected arn:aws:iam::<12-digit account or aws>:policy/<optional path/>name`;
}

export interface IamArn {
  partition: string;
  account: string;
  kind: 'user' | 'role';
  path: string;
  name: string;
}

export function parseIamArn(value: string): IamArn | undefined {
  const m = iamArn.exec(value);
  if (m === null) return undefined;
  const [, , account, kind, path, name] = m;
  return { partition: value.split(':')[1] ?? 'aws', account: account ?? '', kind: kind === 'role' ? 'role' : 'user', path: `${path ?? ''}/`, name: name ?? '' };
}

/** An IAM user or role named by its name or its ARN. */
export function iamPrincipalProblem(kind: 'user' | 'role', value: string): NameProblem {
  if (value.startsWith('arn:')) {
    const arn = parseIamArn(value);
    if (arn === undefined) return `${kind} ARN ${show(value)} is not valid: expected arn:aws:iam::<12-digit account>:${kind}/<optional path/>name`;
    if (arn.kind !== kind) return `ARN ${show(value)} names a ${arn.kind}, not a ${kind}`;
    return undefined;
  }
  const problem = iamNameProblem(kind, value);
  return problem === undefined ? undefined : `${problem}, or its ARN`;
}

/**
 * The problem with a target attribute that names something an activity acts
 * on or reads: `node` (the pod's node, read and cordoned when the pod does not
 * say), `container` (whose logs are read), `account`. Other attributes (e.g.
 * `cluster`, `region`) only label the incident and have no rule here.
 */
export function targetAttributeProblem(name: string, value: string): NameProblem {
  switch (name) {
    case 'node':
      return nodeNameProblem(value);
    case 'container':
      return containerNameProblem(value);
    case 'account':
      return awsAccountIdProblem(value);
    default:
      return undefined;
  }
}

/** The first problem with a target: its id by its kind's rule, then the attributes that name things. */
export function targetProblem(target: { kind: string; id: string; attributes?: Readonly<Record<string, string>> | undefined }): NameProblem {
  const idProblem = targetIdProblem(target.kind, target.id);
  if (idProblem !== undefined) return idProblem;
  for (const [name, value] of Object.entries(target.attributes ?? {})) {
    const problem = targetAttributeProblem(name, value);
    if (problem !== undefined) return `attribute ${name}: ${problem}`;
  }
  return undefined;
}

/** The problem with a target id of the given kind, by the rule of the system it names. */
export function targetIdProblem(kind: string, id: string): NameProblem {
  switch (kind) {
    case 'pod':
      return podRefProblem(id);
    case 'node':
      return nodeNameProblem(id);
    case 'namespace':
      return namespaceProblem(id);
    case 'access-key':
      return accessKeyIdProblem(id);
    case 'iam-user':
      return iamPrincipalProblem('user', id);
    case 'role':
      return iamPrincipalProblem('role', id);
    case 'image':
      return pinnedImageProblem(id);
    case 'package':
      return purlShapeProblem(id);
    case 'action':
      return actionRefProblem(id);
    case 'advisory':
      return /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(id) ? undefined : `advisory id ${show(id)} is not valid: expected an OSV id such as GHSA-mrrh-fwg8-r2c3, CVE-2025-30066 or MAL-2025-1234`;
    default:
      return undefined;
  }
}

// The OCI distribution grammar of a repository path, optionally behind a registry host[:port].
const imageRepository =
  /^(?:(?:localhost|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+)(?::\d{1,5})?\/|[a-zA-Z0-9-]+:\d{1,5}\/)?[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

/** An image pinned by digest, `[registry/]repository@sha256:<64 hex>`: the supply-chain runbook blocks digests, never tags. */
export function pinnedImageProblem(value: string): NameProblem {
  const at = value.lastIndexOf('@');
  let repository = at < 0 ? value : value.slice(0, at);
  // A tag before the digest (`repo:1.4@sha256:…`) is allowed and ignored; a port is in the host part, before the first '/'.
  const lastPart = repository.slice(repository.lastIndexOf('/') + 1);
  if (repository.includes('/') && lastPart.includes(':')) repository = repository.slice(0, repository.length - lastPart.length + lastPart.indexOf(':'));
  if (at < 0 || imageDigestProblem(value.slice(at + 1)) !== undefined || !imageRepository.test(repository)) {
    return `image ${show(value)} is not valid: expected [registry/]repository@sha256:<64 hex digits>, e.g. 127.0.0.1:5000/shop/web@sha256:3f…`;
  }
  return undefined;
}

/** The shape of a package URL with an exact version (`pkg:type/namespace/name@version`); src/ parses it fully with packageurl-js. */
export function purlShapeProblem(value: string): NameProblem {
  return /^pkg:[a-zA-Z][a-zA-Z0-9.+-]*\/[^@\s]+@[^@\s?#]+(?:[?#]\S*)?$/.test(value) && value.length <= 1024
    ? undefined
    : `package ${show(value)} is not valid: expected a package URL with an exact version, e.g. pkg:npm/event-stream@3.3.6`;
}

/** A CI action as workflows name it in `uses:`: `owner/repo[/path]@ref`. */
export function actionRefProblem(value: string): NameProblem {
  return /^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._/-]+)?@[A-Za-z0-9._/-]{1,255}$/.test(value) && !value.includes('..')
    ? undefined
    : `action ${show(value)} is not valid: expected owner/repo[/path]@ref as a workflow's uses: names it, e.g. tj-actions/changed-files@v44`;
}

/** AWS account id: exactly 12 digits (IAM ARNs and policies are built from it). */
export function awsAccountIdProblem(value: string): NameProblem {
  return /^\d{12}$/.test(value) ? undefined : `AWS account id ${show(value)} is not valid: expected 12 digits`;
}

// ECR's documented repository-name rule: slash-separated parts of [a-z0-9] joined by single '.', '_' or '-', 2–256 characters.
const ecrRepositoryName = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** An Amazon ECR repository name, by ECR's rule (it becomes part of an image reference a runbook blocks). */
export function ecrRepositoryNameProblem(value: string): NameProblem {
  return value.length >= 2 && value.length <= 256 && ecrRepositoryName.test(value)
    ? undefined
    : `ECR repository name ${show(value)} is not valid: expected 2–256 lowercase letters or digits in '/'-separated parts, joined by single '.', '_' or '-' (ECR's rule)`;
}

/** An image manifest digest as registries name images: sha256 and 64 lowercase hex digits (images are blocked by digest). */
export function imageDigestProblem(value: string): NameProblem {
  return /^sha256:[a-f0-9]{64}$/.test(value) ? undefined : `image digest ${show(value)} is not valid: expected sha256: and 64 lowercase hex digits`;
}
