/**
 * An Amazon Inspector finding as EventBridge delivers it (source
 * "aws.inspector2", detail-type "Inspector2 Finding"), sent once when the
 * finding is created, on each update, and when it is closed. Firebreak acts on
 * package-vulnerability findings about ECR images
 * (`detail.resources[].details.awsEcrContainerImage`): the image by digest, and
 * the vulnerable packages as purls.
 *
 * A finding Firebreak has no target for (code vulnerabilities, network
 * reachability, EC2 instances, Lambda functions) is valid, and accepted: it is
 * stored as unrouted (`unsupported-finding`) with the reason, rather than
 * refused, since EventBridge does not retry a 400 and the finding would be lost.
 */
import { PackageURL } from 'packageurl-js';
import { z } from 'zod';
import { awsAccountIdProblem, ecrRepositoryNameProblem, imageDigestProblem } from '../../../domain/names.ts';
import { compactEntities, type Alert, type Severity } from '../alert.ts';
import { contentId, eventBridgeEvent, isoTime, loose, type SourceAdapter } from './common.ts';

const optionalText = z.string().nullish();

const vulnerablePackage = loose({
  name: z.string().min(1),
  version: z.string().min(1),
  epoch: z.number().int().min(0).nullish(),
  release: optionalText,
  arch: optionalText,
  packageManager: optionalText,
  fixedInVersion: optionalText,
  filePath: optionalText,
});
export type InspectorPackage = z.output<typeof vulnerablePackage>;

const ecrImage = loose({
  imageHash: z.string().min(1),
  repositoryName: z.string().min(1),
  registry: z.string().min(1),
  imageTags: z.array(z.string()).nullish(),
  platform: optionalText,
  architecture: optionalText,
});

const finding = loose({
  awsAccountId: optionalText,
  findingArn: z.string().min(1),
  // Not an enum: a finding type AWS adds later is stored as unsupported, not refused.
  type: z.string().min(1),
  severity: z.enum(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL', 'UNTRIAGED'], {
    error: 'expected an Inspector severity: INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL or UNTRIAGED',
  }),
  status: z.enum(['ACTIVE', 'SUPPRESSED', 'CLOSED'], { error: 'expected an Inspector finding status: ACTIVE, SUPPRESSED or CLOSED' }),
  title: optionalText,
  description: optionalText,
  // Inspector writes these as "Wed Sep 04 16:55:38.411 UTC 2024", not ISO 8601: kept as text.
  firstObservedAt: optionalText,
  updatedAt: optionalText,
  fixAvailable: optionalText,
  exploitAvailable: optionalText,
  packageVulnerabilityDetails: loose({
    vulnerabilityId: z.string().min(1),
    source: optionalText,
    vulnerablePackages: z.array(vulnerablePackage).default([]),
  }).optional(),
  codeVulnerabilityDetails: loose({ ruleId: optionalText, detectorId: optionalText }).optional(),
  resources: z
    .array(
      loose({
        type: z.string().min(1),
        id: optionalText,
        region: optionalText,
        details: loose({ awsEcrContainerImage: ecrImage.optional() }).optional(),
      }),
    )
    .min(1, 'expected at least one resource'),
});

export const inspectorPayload = eventBridgeEvent({
  detailType: 'Inspector2 Finding',
  source: 'aws.inspector2',
  what: 'an EventBridge Amazon Inspector finding event',
  detail: finding,
});
export type InspectorPayload = z.output<typeof inspectorPayload>;

const severities: Record<InspectorPayload['detail']['severity'], Severity> = {
  INFORMATIONAL: 'info',
  LOW: 'low',
  MEDIUM: 'medium',
  HIGH: 'high',
  CRITICAL: 'critical',
  // Not yet scored by Inspector: neither dismissed as info nor raised to high.
  UNTRIAGED: 'medium',
};

/** Inspector's package managers → purl type; OS packages take theirs from the image's platform. */
const purlTypes: Record<string, string> = {
  NPM: 'npm',
  YARN: 'npm',
  NODEPKG: 'npm',
  PIP: 'pypi',
  PIPENV: 'pypi',
  POETRY: 'pypi',
  PYTHONPKG: 'pypi',
  JAR: 'maven',
  POM: 'maven',
  GOBINARY: 'golang',
  GOMOD: 'golang',
  BUNDLER: 'gem',
  GEMSPEC: 'gem',
  NUGET: 'nuget',
  DOTNET_CORE: 'nuget',
  CARGO: 'cargo',
};

/** An ECR image's platform (UBUNTU_24_04, AMAZON_LINUX_2, ALPINE_3_19, …) → purl type and namespace of its OS packages. */
const platforms: [RegExp, 'deb' | 'rpm' | 'apk', string][] = [
  [/^UBUNTU_(.+)$/, 'deb', 'ubuntu'],
  [/^DEBIAN_(.+)$/, 'deb', 'debian'],
  [/^ALPINE(?:_LINUX)?_(.+)$/, 'apk', 'alpine'],
  [/^AMAZON_LINUX_(.+)$/, 'rpm', 'amzn'],
  [/^(?:RHEL|REDHAT(?:_ENTERPRISE_LINUX)?)_(.+)$/, 'rpm', 'redhat'],
  [/^CENTOS_(.+)$/, 'rpm', 'centos'],
  [/^ORACLE(?:_LINUX)?_(.+)$/, 'rpm', 'oracle'],
  [/^ROCKY(?:_LINUX)?_(.+)$/, 'rpm', 'rocky'],
  [/^ALMA(?:_LINUX)?_(.+)$/, 'rpm', 'almalinux'],
  [/^FEDORA_(.+)$/, 'rpm', 'fedora'],
  [/^OPENSUSE(?:_LEAP)?_(.+)$/, 'rpm', 'opensuse'],
  [/^(?:SUSE|SLES)_(.+)$/, 'rpm', 'suse'],
];

function osPurl(p: InspectorPackage, platform: string | null | undefined): string | undefined {
  for (const [pattern, type, namespace] of platforms) {
    const m = pattern.exec(platform ?? '');
    if (m === null) continue;
    const release = p.release ? `-${p.release}` : '';
    const epoch = p.epoch ?? 0;
    const qualifiers: Record<string, string> = { distro: `${namespace}-${(m[1] ?? '').toLowerCase().replace(/_/g, '.')}` };
    if (p.arch) qualifiers.arch = p.arch.toLowerCase();
    // dpkg writes the epoch in the version; rpm's purl has it as a qualifier; apk has none.
    if (type === 'rpm' && epoch > 0) qualifiers.epoch = String(epoch);
    const version = `${type === 'deb' && epoch > 0 ? `${epoch}:` : ''}${p.version}${release}`;
    return new PackageURL(type, namespace, p.name, version, qualifiers, undefined).toString();
  }
  return undefined;
}

/** Splits a name at its last separator into purl namespace and name. */
function split(name: string, separator: RegExp): [string | undefined, string] {
  const m = separator.exec(name);
  return m === null ? [undefined, name] : [name.slice(0, m.index), name.slice(m.index + m[0].length)];
}

/** The package as a purl where its package manager has a purl type, else name@version. */
export function packageRef(p: InspectorPackage, platform?: string | null): string {
  const manager = (p.packageManager ?? '').toUpperCase();
  const type = purlTypes[manager];
  try {
    if (manager === 'OS') return osPurl(p, platform) ?? `${p.name}@${p.version}`;
    if (type === undefined) return `${p.name}@${p.version}`;
    let [namespace, name]: [string | undefined, string] = [undefined, p.name];
    if (type === 'npm' && p.name.startsWith('@')) [namespace, name] = split(p.name, /\//);
    // Inspector names Maven packages groupId:artifactId (some tools write groupId/artifactId).
    if (type === 'maven') [namespace, name] = split(p.name, /[:/](?=[^:/]*$)/);
    if (type === 'golang') [namespace, name] = split(p.name, /\/(?=[^/]*$)/);
    // The purl spec's PyPI name is lower-case with '-' for '_'.
    if (type === 'pypi') name = p.name.toLowerCase().replace(/_/g, '-');
    return new PackageURL(type, namespace, name, p.version, undefined, undefined).toString();
  } catch {
    // A name packageurl-js refuses (e.g. an empty namespace part) is named as Inspector gave it.
    return `${p.name}@${p.version}`;
  }
}

/** What makes a valid finding one Firebreak has no target for; undefined when it has one. */
function unsupportedReason(d: InspectorPayload['detail'], hasImage: boolean): string | undefined {
  if (d.type !== 'PACKAGE_VULNERABILITY') {
    return `detail.type: a ${d.type} finding names no image or package a runbook acts on; only PACKAGE_VULNERABILITY findings about ECR images are routed`;
  }
  if (!hasImage) {
    const kinds = [...new Set(d.resources.map((r) => r.type))].join(', ');
    return `detail.resources: no ECR container image (the finding is about ${kinds}); only findings about ECR images are routed`;
  }
  if (d.packageVulnerabilityDetails === undefined) return 'detail.packageVulnerabilityDetails: missing, so the finding names no vulnerability';
  return undefined;
}

function shortImage(repository: string, digest: string, tags: readonly string[] | null | undefined): string {
  const tag = tags?.[0];
  return tag === undefined ? `${repository}@${digest.slice(0, 19)}…` : `${repository}:${tag}`;
}

export const inspector: SourceAdapter<InspectorPayload> = {
  source: 'inspector',
  schema: inspectorPayload,
  normalise(p, receivedAt) {
    const d = p.detail;
    const resource = d.resources.find((r) => r.details?.awsEcrContainerImage !== undefined);
    const image = resource?.details?.awsEcrContainerImage;
    const vulnerability = d.packageVulnerabilityDetails;
    const unsupported = unsupportedReason(d, image !== undefined);
    // Images are named by digest (a tag can be moved): repository@sha256:…, the registry's account beside it.
    const names = image === undefined ? [] : [ecrRepositoryNameProblem(image.repositoryName), imageDigestProblem(image.imageHash), awsAccountIdProblem(image.registry)];
    const problems = [unsupported, ...names].filter((x): x is string => x !== undefined);
    const packages = unsupported === undefined ? [...new Set((vulnerability?.vulnerablePackages ?? []).map((pkg) => packageRef(pkg, image?.platform)))] : [];
    const region = p.region ?? (resource?.region && resource.region !== 'N/A' ? resource.region : undefined);
    const rule = vulnerability?.vulnerabilityId ?? d.codeVulnerabilityDetails?.ruleId ?? d.codeVulnerabilityDetails?.detectorId ?? d.type;
    const title = d.title ?? rule;
    const updated = d.updatedAt ? Date.parse(d.updatedAt) : Number.NaN;
    const alert: Alert = {
      source: 'inspector',
      // The finding ARN identifies the finding across its created, updated and closed events.
      id: d.findingArn,
      time: p.time !== undefined ? isoTime(p.time) : Number.isNaN(updated) ? receivedAt : new Date(updated).toISOString(),
      receivedAt,
      // A closed finding (fixed, image deleted) or a suppressed one is no longer a reason to act.
      status: d.status === 'ACTIVE' ? 'firing' : 'resolved',
      severity: severities[d.severity],
      rule,
      summary: image === undefined ? title : `${title} in ${shortImage(image.repositoryName, image.imageHash, image.imageTags)}`,
      labels: Object.fromEntries(
        Object.entries({
          findingType: d.type,
          status: d.status,
          inspectorSeverity: d.severity,
          repository: image?.repositoryName,
          platform: image?.platform,
          vulnerabilitySource: vulnerability?.source,
          fixAvailable: d.fixAvailable,
          exploitAvailable: d.exploitAvailable,
        }).filter((kv): kv is [string, string] => typeof kv[1] === 'string' && kv[1] !== ''),
      ),
      entities: {
        ...compactEntities({
          image: image === undefined ? undefined : `${image.repositoryName}@${image.imageHash}`,
          account: image?.registry ?? d.awsAccountId ?? p.account,
          region,
        }),
        ...(packages.length === 0 ? {} : { packages }),
      },
      raw: p,
      // Inspector sends the finding again on every update (rescans, score changes): one finding counts once.
      ...(d.status === 'ACTIVE' ? { occurrence: `${d.findingArn}@${d.firstObservedAt ?? contentId(d.findingArn)}` } : {}),
      ...(problems.length === 0 ? {} : { problems }),
      ...(unsupported === undefined ? {} : { unsupported: true as const }),
    };
    return [alert];
  },
};
