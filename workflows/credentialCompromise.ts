// The credential-compromise runbook (AWS): resolve the key or session to its
// principal, seal evidence (authorization details, keys, login profile, MFA,
// CloudTrail) before anything changes, deactivate the key, revoke older
// sessions with a deny on aws:TokenIssueTime, delete the console password only
// with two approvals, offer to undo what the attacker created or changed, and
// roll back on request — refusing to lift a revocation while sessions issued
// before it may still be valid.
import { patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { AttackerChange, AwsActionResult, CredentialEvidenceFacts, CredentialFacts, PolicyHolder, Principal } from '../activities/aws/index.ts';
import { credentialCompromiseRunbook } from './catalog.ts';
import { workflowNowIso } from './engine/clock.ts';
import { Incident } from './engine/incident.ts';
import type { IncidentStatus } from './engine/messages.ts';
import { refuseTargets } from './engine/targets.ts';
import type { IncidentInput } from './engine/types.ts';

const reads = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});
const writes = proxyActivities<Activities>({
  startToCloseTimeout: '60 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

function checkTargets(input: IncidentInput): void {
  if (!input.targets.some((t) => t.kind === 'access-key' || t.kind === 'iam-user' || t.kind === 'role')) {
    refuseTargets(
      `The credential-compromise runbook needs an access key, IAM user or role target (e.g. --target AKIAIOSFODNN7EXAMPLE, --target iam-user:deployer, --target role:arn:aws:iam::123456789012:role/app); got ${
        input.targets.map((t) => `${t.kind}:${t.id}`).join(', ') || 'none'
      }.`,
      { expected: ['access-key', 'iam-user', 'role'], got: input.targets.map((t) => t.kind) },
    );
  }
}

const holderName = (h: PolicyHolder) => `${h.kind}:${h.name}`;

export async function credentialCompromise(input: IncidentInput): Promise<IncidentStatus> {
  checkTargets(input);
  const incident = Incident.open(input, credentialCompromiseRunbook);
  const { incidentId, mode } = input;
  const skip = incident.skip.bind(incident);
  const targetName = input.targets.map((t) => `${t.kind}:${t.id}`).join(', ');

  // 1. Triage (read-only): who is behind the key or session.
  const facts = await incident.read('triage', {
    action: 'resolve the principal',
    target: targetName,
    run: () => reads.triageCredential({ incidentId, targets: input.targets }),
  });
  if (facts === undefined) {
    skip('collect-evidence', 'capture evidence', 'triage failed: the principal is unknown');
    incident.stopAfter('collect-evidence', 'no evidence could be captured, so nothing is changed');
    return incident.finish();
  }
  // 2. Evidence first: nothing below changes anything before this is sealed.
  const captured = await incident.capture('collect-evidence', {
    action: 'capture evidence',
    target: targetName,
    run: () => reads.captureCredentialEvidence({ incidentId, facts, windowEnd: workflowNowIso() }),
  });
  if (captured === undefined) return incident.finish();
  const f: CredentialFacts = facts;
  const ev: CredentialEvidenceFacts = captured.facts;
  const principal: Principal | undefined = f.principal;
  const missing = f.notFound.length === 0 ? '' : ` (not found: ${f.notFound.join('; ')})`;

  // 3. Contain: deactivate the key (never delete it).
  const key = f.accessKeyId;
  if (key === undefined) skip('deactivate-access-key', 'deactivate access key', 'no access key is named by the incident');
  else if (f.keyType === 'temporary') {
    skip('deactivate-access-key', `deactivate access key ${key}`, `${key} is a session key: it cannot be deactivated; the sessions of its principal are revoked instead`);
  } else if (principal?.kind !== 'user' || f.keyStatus === undefined) {
    skip('deactivate-access-key', `deactivate access key ${key}`, `access key ${key} was not found${missing}; the incident continues with what exists`);
  } else {
    const keyInput = { incidentId, userName: principal.name, accessKeyId: key, mode, statusAtEvidence: ev.keys.find((k) => k.accessKeyId === key)?.status ?? f.keyStatus };
    await incident.gated('deactivate-access-key', async () => {
      await incident.act('deactivate-access-key', {
        action: 'deactivate access key',
        target: `access-key:${key}`,
        run: () => writes.deactivateAccessKey(keyInput),
        compensate: { action: 'reactivate access key', run: () => writes.reactivateAccessKey(keyInput) },
      });
    });
  }

  // Revoke sessions: an inline deny of everything to tokens issued before now.
  const revoke = async (step: 'revoke-user-sessions' | 'revoke-role-sessions', p: Principal) => {
    await incident.gated(step, async () => {
      const revokeInput = { incidentId, principal: p, notBefore: workflowNowIso(), mode, ...(ev.revokePolicy === undefined ? {} : { priorDocument: ev.revokePolicy }) };
      const target = `${p.kind === 'user' ? 'iam-user' : 'role'}:${p.name}`;
      await incident.act(step, {
        action: `revoke sessions issued before ${revokeInput.notBefore}`,
        target,
        run: () => writes.revokeOlderSessions(revokeInput),
        // Refused as RollbackUnsafe while older sessions may still be valid: the engine keeps it owed.
        compensate: { action: 'remove the session revocation', run: () => writes.restoreRevokePolicy(revokeInput) },
      });
    });
  };

  if (principal?.kind === 'user') await revoke('revoke-user-sessions', principal);
  else skip('revoke-user-sessions', 'revoke user sessions', principal === undefined ? `no IAM user was found${missing}` : `the principal is role ${principal.name}`);
  if (principal?.kind === 'role') await revoke('revoke-role-sessions', principal);
  else skip('revoke-role-sessions', 'revoke role sessions', principal === undefined ? `no IAM role was found${missing}` : `the principal is user ${principal.name}`);

  // Delete the console password: two-person gate, evidence sealed (act refuses otherwise).
  if (principal?.kind !== 'user') skip('delete-login-profile', 'delete login profile', 'only IAM users have a login profile');
  else if (!ev.loginProfile) skip('delete-login-profile', 'delete login profile', `user ${principal.name} has no login profile (evidence: login-profile.json)`);
  else {
    const userName = principal.name;
    await incident.gated('delete-login-profile', async () => {
      await incident.act('delete-login-profile', {
        action: 'delete login profile (console password)',
        target: `iam-user:${userName}`,
        run: () => writes.deleteLoginProfile({ incidentId, userName, mode }),
      });
    });
  }

  // 4. Eradicate what the compromised credentials created or changed (from CloudTrail evidence).
  // No await unless patched: an extra await reorders the commands of open incidents' concurrent gates.
  const er = patched('eradication-rereads-cloudtrail') && !incident.halted ? await rereadEvidence() : ev;
  const changes = dedupe(er.changes);
  const none = (what: string) => `CloudTrail evidence (${er.window.start} to ${er.window.end}) shows no ${what} by the compromised credentials`;

  const keys = changes.filter((c) => c.kind === 'access-key' && c.accessKeyId !== key);
  if (keys.length === 0) skip('eradicate-access-keys', 'deactivate access keys the attacker created', none('access key created'));
  else {
    await incident.gated('eradicate-access-keys', async () => {
      for (const c of keys) {
        const status = er.keys.find((k) => k.accessKeyId === c.accessKeyId)?.status;
        const keyInput = { incidentId, userName: c.userName!, accessKeyId: c.accessKeyId!, mode, ...(status === undefined ? {} : { statusAtEvidence: status }) };
        await incident.act('eradicate-access-keys', {
          action: `deactivate access key created at ${c.eventTime} (${c.eventName})`,
          target: `access-key:${c.accessKeyId}`,
          run: () => writes.deactivateAccessKey(keyInput),
          compensate: { action: 'reactivate access key', run: () => writes.reactivateAccessKey(keyInput) },
        });
      }
    });
  }

  const principals = changes.filter((c) => c.kind === 'user' || c.kind === 'role');
  if (principals.length === 0) skip('eradicate-principals', 'quarantine users and roles the attacker created', none('user or role created'));
  else {
    await incident.gated('eradicate-principals', async () => {
      for (const c of principals) {
        const on = c.on as PolicyHolder;
        await incident.act('eradicate-principals', {
          action: `deny everything to ${on.kind} created at ${c.eventTime} (${c.eventName})`,
          target: holderName(on),
          run: () => writes.quarantinePrincipal({ incidentId, on, mode }),
          compensate: { action: 'remove the deny-all policy', run: () => writes.releasePrincipal({ incidentId, on, mode }) },
        });
      }
    });
  }

  const policies = changes.filter((c) => c.kind === 'attached-policy' || c.kind === 'inline-policy' || c.kind === 'trust-policy');
  if (policies.length === 0) skip('restore-policies', 'undo policy changes the attacker made', none('policy attached, put or trust policy changed'));
  else {
    await incident.gated('restore-policies', async () => {
      for (const c of policies) await restorePolicy(c);
    });
  }

  async function restorePolicy(c: AttackerChange): Promise<AwsActionResult | undefined> {
    const on = c.on as PolicyHolder;
    const step = 'restore-policies';
    if (c.kind === 'attached-policy') {
      const arn = c.policyArn!;
      return incident.act(step, {
        action: `detach ${arn} (${c.eventName} at ${c.eventTime})`,
        target: holderName(on),
        run: () => writes.detachAttackerPolicy({ incidentId, on, policyArn: arn, mode }),
        compensate: { action: `re-attach ${arn}`, run: () => writes.reattachPolicy({ incidentId, on, policyArn: arn, mode }) },
      });
    }
    if (c.kind === 'inline-policy') {
      const name = c.policyName!;
      const document = er.inlinePolicies[`${on.kind}/${on.name}/${name}`];
      return incident.act(step, {
        action: `delete inline policy ${name} (${c.eventName} at ${c.eventTime})`,
        target: holderName(on),
        run: () => writes.removeAttackerInlinePolicy({ incidentId, on, policyName: name, mode }),
        ...(document === undefined
          ? {}
          : { compensate: { action: `put inline policy ${name} back`, run: () => writes.restoreInlinePolicy({ incidentId, on, policyName: name, document, mode }) } }),
      });
    }
    const previous = c.previousDocument;
    const current = er.trustPolicies[on.name];
    if (previous === undefined) {
      incident.note(step, `restore the trust policy of role ${on.name}`, `CloudTrail evidence holds no earlier trust policy of the role than the attacker's ${c.eventName} at ${c.eventTime}; review it by hand (changed-roles.json)`);
      return undefined;
    }
    return incident.act(step, {
      action: `restore the trust policy from before ${c.eventName} at ${c.eventTime}`,
      target: `role:${on.name}`,
      run: () => writes.setTrustPolicy({ incidentId, roleName: on.name, document: previous, mode, why: 'the document before the attacker changed it' }),
      ...(current === undefined
        ? {}
        : {
            compensate: {
              action: 'restore the trust policy evidence recorded',
              run: async () => (await writes.setTrustPolicy({ incidentId, roleName: on.name, document: current, mode, why: 'the document evidence recorded' })).detail,
            },
          }),
    });
  }

  /**
   * CloudTrail as it is now, sealed before eradication changes anything: the
   * gates above may have waited hours, and an attacker who minted a key or
   * attached a policy meanwhile would otherwise keep it. (Open incidents
   * started before this read keep eradicating from the first evidence.)
   */
  async function rereadEvidence(): Promise<CredentialEvidenceFacts> {
    try {
      const again = await reads.captureCredentialEvidence({ incidentId, facts: f, windowEnd: workflowNowIso(), beforeEradication: true });
      // No step: the evidence step's own items are the ones sealed before containment.
      for (const item of again.refs) incident.recordEvidence(item);
      const known = new Set(ev.changes.map((c) => c.eventId));
      const fresh = again.facts.changes.filter((c) => !known.has(c.eventId)).length;
      incident.found('collect-evidence', 'CloudTrail re-read before eradication', `${again.facts.changes.length} change(s) by the compromised credentials from ${again.facts.window.start} to ${again.facts.window.end}${fresh > 0 ? `, ${fresh} made since the first capture` : ''}`);
      return again.facts;
    } catch (e) {
      incident.note('collect-evidence', 'read CloudTrail again before eradication', `the read failed (${e instanceof Error ? e.message : String(e)}); eradicating what the first evidence shows`);
      return ev;
    }
  }

  // 5. Rollback (saga, newest first) until the incident is closed; an undo refused as unsafe for now stays owed.
  return incident.finish();
}

/** One entry per thing to undo: the latest change wins for the same target. */
function dedupe(changes: readonly AttackerChange[]): AttackerChange[] {
  const byKey = new Map<string, AttackerChange>();
  for (const c of changes) {
    const key = [c.kind, c.accessKeyId ?? '', c.on?.kind ?? '', c.on?.name ?? '', c.policyArn ?? '', c.policyName ?? ''].join('|');
    if (c.kind === 'trust-policy' && byKey.has(key)) continue; // the first change holds the document from before the attack
    byKey.set(key, c);
  }
  return [...byKey.values()];
}
