import { describe, expect, it } from 'vitest';
import { iamPrincipalProblem, parseIamArn, podRefProblem, targetIdProblem } from '../../domain/names.ts';

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
