import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { awsClient, testAccountId } from '../support/servers.ts';

describe('moto (AWS) in the test sandbox', () => {
  it('stores an IAM user and an access key that the real IAM client reads back', async () => {
    const iam = awsClient(IAMClient);
    await iam.send(new CreateUserCommand({ UserName: 'leaky-ci', Path: '/ci/' }));
    const created = await iam.send(new CreateAccessKeyCommand({ UserName: 'leaky-ci' }));

    const user = await iam.send(new GetUserCommand({ UserName: 'leaky-ci' }));
    expect(user.User?.Arn).toBe(`arn:aws:iam::${testAccountId}:user/ci/leaky-ci`);
    const keys = await iam.send(new ListAccessKeysCommand({ UserName: 'leaky-ci' }));
    expect(keys.AccessKeyMetadata).toEqual([
      expect.objectContaining({ AccessKeyId: created.AccessKey?.AccessKeyId, Status: 'Active', UserName: 'leaky-ci' }),
    ]);
    expect(created.AccessKey?.AccessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);
  });

  it("keeps each test file's resources in its own account", async () => {
    const ours = awsClient(IAMClient);
    const other = awsClient(IAMClient, '000011112222');
    await ours.send(new CreateUserCommand({ UserName: 'only-here' }));
    await expect(other.send(new GetUserCommand({ UserName: 'only-here' }))).rejects.toMatchObject({
      name: 'NoSuchEntityException',
    });
  });
});
