import { describe, expect, it } from 'vitest';
import {
  awsAccountIdProblem,
  ecrRepositoryNameProblem,
  iamNameProblem,
  imageDigestProblem,
  iamPrincipalProblem,
  parseIamArn,
  podRefProblem,
  policyArnProblem,
  quoteName,
  targetIdProblem,
  targetProblem,
} from '../../domain/names.ts';

describe('Kubernetes names', () => {
  it.each(['demo-shop/storefront-7d9c6b5f8-x7k2p', 'kube-system/coredns.v1-abc'])('accepts the pod %s', (ref) => {
    expect(podRefProblem(ref)).toBeUndefined();
  });

  it.each([
    ['demo-shop/..', 'pod name ".."'],
    ['demo-shop/.', 'pod name "."'],
    ['../../x', 'expected namespace/pod'],
    ['demo-shop/Storefront', 'RFC 1123 subdomain'],
    ['demo_shop/storefront', 'RFC 1123 label'],
    ['demo-shop/a%2F..', 'RFC 1123 subdomain'],
    [`${'a'.repeat(64)}/pod`, 'RFC 1123 label'],
    ['demo-shop/', 'pod name is empty'],
  ])('refuses the pod %s, naming the rule', (ref, why) => {
    expect(podRefProblem(ref)).toContain(why);
  });

  it('refuses a node name with a slash', () => {
    expect(targetIdProblem('node', 'node-1/../x')).toContain('RFC 1123 subdomain');
  });
});

describe('AWS identifiers', () => {
  it('accepts an access key id and refuses one with lower-case letters', () => {
    expect(targetIdProblem('access-key', 'AKIARZPUZDIKBXOA5G73')).toBeUndefined();
    expect(targetIdProblem('access-key', 'AKIArzpuzdikbxoa5g73')).toContain('not valid');
  });

  it('accepts a role by name and by ARN with a path', () => {
    expect(iamPrincipalProblem('role', 'storefront-irsa')).toBeUndefined();
    expect(parseIamArn('arn:aws:iam::123456789012:role/service-role/storefront-irsa')).toEqual({
      partition: 'aws',
      account: '123456789012',
      kind: 'role',
      path: '/service-role/',
      name: 'storefront-irsa',
    });
  });

  it.each([
    ['role', 'a/b', 'IAM'],
    ['role', 'arn:aws:iam::123456789012:user/alice', 'names a user, not a role'],
    ['user', 'arn:aws:iam::12345:user/alice', '12-digit account'],
    ['user', 'x'.repeat(65), '1–64'],
  ] as const)('refuses the %s %s', (kind, value, why) => {
    expect(iamPrincipalProblem(kind, value)).toContain(why);
  });
});

describe('IAM names, policy ARNs and account ids', () => {
  it.each([
    ['user', 'demo-ci-deployer'],
    ['role', 'svc+backup=sync,eu.x@y_z'],
    ['group', 'g'.repeat(128)],
    ['policy', 'AWSRevokeOlderSessions'],
  ] as const)('accepts the %s name %s', (kind, value) => {
    expect(iamNameProblem(kind, value)).toBeUndefined();
  });

  it.each([
    ['user', '', '1–64'],
    ['user', 'alice/../bob', "IAM's rule for user names"],
    ['role', 'r'.repeat(65), '1–64'],
    ['group', 'g'.repeat(129), '1–128'],
    ['policy', 'has space', "IAM's rule for policy names"],
  ] as const)('refuses the %s name %j', (kind, value, why) => {
    expect(iamNameProblem(kind, value)).toContain(why);
  });

  it.each(['arn:aws:iam::aws:policy/AdministratorAccess', 'arn:aws:iam::123456789012:policy/team/allow-all', 'arn:aws-us-gov:iam::123456789012:policy/p'])(
    'accepts the policy ARN %s',
    (arn) => {
      expect(policyArnProblem(arn)).toBeUndefined();
    },
  );

  it.each(['AdministratorAccess', 'arn:aws:iam::123:policy/p', 'arn:aws:iam::123456789012:role/p', 'arn:aws:iam::aws:policy/'])('refuses the policy ARN %s', (arn) => {
    expect(policyArnProblem(arn)).toContain('expected arn:aws:iam::');
  });

  it('accepts a 12-digit account id and refuses anything else', () => {
    expect(awsAccountIdProblem('123456789012')).toBeUndefined();
    for (const bad of ['12345678901', '1234567890123', '12345678901a', '']) expect(awsAccountIdProblem(bad)).toContain('expected 12 digits');
  });
});

describe('targets', () => {
  it('accepts a pod with its node, container and cluster attributes (the control)', () => {
    expect(targetProblem({ kind: 'pod', id: 'demo-shop/web-1', attributes: { node: 'ip-10-0-0-1.eu-west-1.compute.internal', container: 'web', cluster: 'Prod EU' } })).toBeUndefined();
  });

  it.each([
    [{ kind: 'pod', id: 'demo-shop/..' }, 'pod name ".."'],
    [{ kind: 'pod', id: 'demo-shop/web-1', attributes: { node: '..' } }, 'attribute node: node name ".."'],
    [{ kind: 'pod', id: 'demo-shop/web-1', attributes: { container: 'web/../x' } }, 'attribute container: container name'],
    [{ kind: 'iam-user', id: 'alice', attributes: { account: 'x' } }, 'attribute account: AWS account id "x"'],
    [{ kind: 'role', id: 'arn:aws:iam::123456789012:user/alice' }, 'names a user, not a role'],
  ])('refuses %j, naming the rule', (target, why) => {
    expect(targetProblem(target)).toContain(why);
  });

  it('leaves kinds without a naming rule of their own to the runbook that reads them', () => {
    expect(targetProblem({ kind: 'other', id: 'anything/at all' })).toBeUndefined();
  });

  it('accepts an image pinned by digest, with or without a registry, port or tag', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    for (const image of [`ghcr.io/acme/web@${digest}`, `127.0.0.1:5000/shop/web@${digest}`, `nginx@${digest}`, `shop/web:1.4@${digest}`]) {
      expect(targetProblem({ kind: 'image', id: image }), image).toBeUndefined();
    }
  });

  it('refuses an image named by tag only, by a short digest, or with a dot-segment path', () => {
    for (const image of ['ghcr.io/acme/web:1.4', 'ghcr.io/acme/web@sha256:abc', `../web@sha256:${'a'.repeat(64)}`]) {
      expect(targetProblem({ kind: 'image', id: image }), image).toMatch(/repository@sha256/);
    }
  });

  it('accepts a package URL with an exact version and refuses one without', () => {
    expect(targetProblem({ kind: 'package', id: 'pkg:npm/event-stream@3.3.6' })).toBeUndefined();
    expect(targetProblem({ kind: 'package', id: 'pkg:npm/event-stream' })).toMatch(/exact version/);
  });

  it('accepts a CI action as uses: names it and refuses a ref with a dot segment', () => {
    expect(targetProblem({ kind: 'action', id: 'tj-actions/changed-files@v44' })).toBeUndefined();
    expect(targetProblem({ kind: 'action', id: 'github/codeql-action/init@v3' })).toBeUndefined();
    expect(targetProblem({ kind: 'action', id: 'tj-actions/changed-files@../../x' })).toMatch(/owner\/repo/);
  });

  it('quotes a name with control characters escaped and a long one cut', () => {
    expect(quoteName('a\u001b[31mb')).toBe('"a\\u001b[31mb"');
    expect(quoteName('x'.repeat(100))).toBe(`"${'x'.repeat(80)}…"`);
  });
});

describe('ECR repository names and image digests', () => {
  it.each(['inspector2', 'shop/storefront', 'amazon/amazon-ecs-sample', 'team_a/web.api/v2'])('accepts the repository %s', (name) => {
    expect(ecrRepositoryNameProblem(name)).toBeUndefined();
  });

  it.each([
    ['shop/../admin', 'a ".." part'],
    ['Shop/Storefront', 'upper case'],
    ['shop//storefront', 'an empty part'],
    ['/storefront', 'a leading slash'],
    ['shop/storefront-', 'a trailing separator'],
    ['a', 'one character'],
    ['a'.repeat(257), '257 characters'],
  ])('refuses the repository %s (%s), naming ECR\'s rule', (name) => {
    expect(ecrRepositoryNameProblem(name)).toContain("ECR's rule");
  });

  it('accepts a sha256 digest and refuses a tag, a short digest or upper-case hex in its place', () => {
    expect(imageDigestProblem(`sha256:${'9f86d081'.repeat(8)}`)).toBeUndefined();
    for (const bad of ['latest', 'sha256:abc', `sha256:${'9F86D081'.repeat(8)}`, `sha512:${'9f86d081'.repeat(8)}`]) {
      expect(imageDigestProblem(bad), bad).toContain('expected sha256: and 64 lowercase hex digits');
    }
  });
});
