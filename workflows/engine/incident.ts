// The incident a runbook workflow composes: its steps behind their gates,
// evidence before change, actions with their undos, repeated alerts (and the
// gates a more severe one lifts), status, and — through Notices and
// Lifecycle — its room, rollback and close. A runbook gets one from
// `Incident.open(input, runbook)` and is then only its steps.
import { ApplicationFailure, ParentClosePolicy, setHandler, startChild } from '@temporalio/workflow';
import type { ActionResult } from '../../domain/actions.ts';
import { isDrill } from '../../domain/drills.ts';
import { engineFailure } from '../../domain/failures.ts';
import { policyFitProblem } from '../../domain/runbooks.ts';
import type { Gate } from '../../src/runbooks/schema.ts';
import type { RunbookDefinition } from '../catalog.ts';
import { Gates } from './gates.ts';
import { Lifecycle, rollbackStep } from './lifecycle.ts';
import { alertResolvedSignal, alertSignal, alertsSignal, decideUpdate, statusQuery, timelineQuery, type DecideInput, type IncidentStatus } from './messages.ts';
import { Notices } from './notices.ts';
import { describeFailure, Saga } from './saga.ts';
import { refuseInvalidTargets } from './targets.ts';
import { Timeline, type TimelineEventData } from './timeline.ts';
import type { EvidenceRefSummary, IncidentInput, StepState, Target, TriggerInfo } from './types.ts';

export interface ActionSpec {
  action: string;
  target?: string;
  /**
   * The evidence items this action would alter (by name), which must be
   * sealed before it runs; the engine refuses it otherwise. Without it the
   * action waits for the full evidence set, as anything destructive (delete,
   * cordon) must.
   */
  requires?: readonly string[];
  run: () => Promise<ActionResult>;
  /** The undo, registered when the action changed something. */
  compensate?: { action: string; run: () => Promise<string> };
}

type StartedEvidence = NonNullable<TimelineEventData['action.started']['evidence']>;

/** A child runbook a step offers: its workflow, the targets, and why. */
export interface ChildOffer {
  workflow: string;
  runbook: string;
  targets: Target[];
  why: string;
  summary: string;
  /** Tells apart several children of one step (one per role): [a-z0-9-]. */
  instance?: string;
}

/** A read-only step's work (triage, evidence): what it does, on what, and the activity call. */
export interface ReadSpec<T> {
  action: string;
  target: string;
  run: () => Promise<T>;
}

/** Evidence captured in two parts: what containment would alter first, the rest alongside containment. */
export interface PartedCaptureSpec<F, R> extends ReadSpec<F> {
  rest: { action: string; run: (first: F) => Promise<R> };
}

/**
 * One incident of a runbook whose step ids are `S`: a step id the runbook
 * does not declare is a compile error.
 */
export class Incident<S extends string = string> {
  readonly timeline: Timeline;
  private readonly gates: Gates;
  private readonly saga = new Saga();
  private readonly notices: Notices;
  private readonly lifecycle: Lifecycle;
  private readonly steps: readonly S[];
  private currentStep: S | undefined;
  private alerts = 1;
  private evidenceCount = 0;
  private readonly sealedNames = new Set<string>();
  /** The rest of a capture in parts, while it runs: resolves true once every item is sealed. */
  private evidencePending: Promise<boolean> | undefined;
  private actions = 0;
  private failures = 0;
  private startSignalSeen = false;

  /**
   * Checks the input (targets by their naming rules, the policy against the
   * runbook's steps), registers the incident's updates, signals and queries,
   * and records its opening. The first thing a runbook workflow does.
   */
  static open<const S extends string>(input: IncidentInput, runbook: Pick<RunbookDefinition<S>, 'steps'>): Incident<S> {
    refuseInvalidTargets(input);
    const incident = new Incident<S>(input, runbook.steps);
    incident.install();
    return incident;
  }

  private constructor(
    readonly input: IncidentInput,
    steps: readonly S[],
  ) {
    this.steps = steps;
    const policySteps = policyFitsWorkflow(input.policy, steps);
    policySteps.set(rollbackStep, input.policy.rollback.gate);
    this.timeline = new Timeline(input.incidentId);
    this.notices = new Notices(input, this.timeline);
    this.gates = new Gates({
      gates: policySteps,
      groups: input.groups,
      requester: input.requester,
      autoContain: new Map((input.autoContainSteps ?? []).map((s) => [s, 'an auto-containment rule of the policy matched the trigger'])),
      timeline: this.timeline,
      notify: (n) => {
        this.notices.announce(n);
        return Promise.resolve();
      },
      changed: (step) => this.notices.announceVotes(step),
    });
    this.lifecycle = new Lifecycle(input, this.timeline, this.gates, this.saga, () => this.status());
  }

  private install(): void {
    const { input, timeline } = this;
    timeline.append('incident.opened', {
      runbook: input.policy.id,
      version: input.policy.version,
      mode: input.mode,
      requester: input.requester,
      targets: input.targets.map((t) => `${t.kind}:${t.id}`),
      ...(isDrill(input) ? { drill: true } : {}),
    });
    timeline.append('alert.received', pickAlert(input.trigger));
    this.notices.open(this.gates);
    setHandler(decideUpdate, (d) => this.gates.apply(d), { validator: (d: DecideInput) => this.gates.validate(d) });
    setHandler(alertSignal, (alert) => this.recordAlerts([alert]));
    setHandler(alertsSignal, (alerts) => this.recordAlerts(alerts));
    setHandler(alertResolvedSignal, (alert) => {
      timeline.append('alert.resolved', { source: alert.source, summary: alert.summary, ...(alert.alertId ? { alertId: alert.alertId } : {}) });
    });
    setHandler(timelineQuery, () => [...timeline.all()]);
    setHandler(statusQuery, () => this.status());
    this.lifecycle.install();
  }

  /**
   * Counts alerts that joined the incident, with one timeline event per
   * delivery. Signal-with-start delivers the starting alert as a signal too:
   * it is counted already, once. An alert whose auto-containment rules name
   * steps lifts their gates, for steps not yet decided.
   */
  private recordAlerts(alerts: readonly TriggerInfo[]): void {
    let last: TriggerInfo | undefined;
    for (const alert of alerts) {
      if (!this.startSignalSeen && sameAlert(alert, this.input.trigger)) {
        this.startSignalSeen = true;
        continue;
      }
      this.alerts += 1;
      last = alert;
      if (alert.autoContainSteps !== undefined && alert.autoContainSteps.length > 0) {
        const by = `${alert.source}${alert.rule === undefined ? '' : ` "${alert.rule}"`} (${alert.severity})`;
        this.gates.lift(alert.autoContainSteps, `an auto-containment rule of the policy matched a later alert of the incident: ${by}, received ${alert.receivedAt}`);
      }
    }
    if (last === undefined) return;
    this.timeline.append('alert.repeated', {
      source: last.source,
      summary: last.summary,
      count: this.alerts,
      ...(last.alertId ? { alertId: last.alertId } : {}),
    });
  }

  status(): IncidentStatus {
    const { input } = this;
    const steps = this.gates.all();
    return {
      incidentId: input.incidentId,
      runbook: { id: input.policy.id, version: input.policy.version, title: input.policy.title },
      mode: input.mode,
      requester: input.requester,
      targets: input.targets,
      trigger: input.trigger,
      phase: this.lifecycle.phase,
      ...(this.currentStep === undefined ? {} : { currentStep: this.currentStep }),
      pendingApprovals: steps
        .filter((s) => s.status === 'awaiting-approval' && typeof s.gate !== 'string')
        .map((s) => {
          const gate = s.gate as Exclude<StepState['gate'], string>;
          return {
            step: s.id,
            approvers: this.gates.approversOf(gate),
            required: gate.required,
            approvals: s.approvals.length,
            twoPerson: gate.twoPerson,
            escalated: s.escalated,
            ...(s.deadline === undefined ? {} : { deadline: s.deadline }),
          };
        }),
      steps: steps.map((s) => ({ ...s })),
      counts: {
        alerts: this.alerts,
        evidence: this.evidenceCount,
        actions: this.actions,
        failures: this.failures,
        events: this.timeline.all().length,
      },
    };
  }

  /** Whether the incident was rolled back: nothing more is done. */
  get halted(): boolean {
    return this.lifecycle.halted;
  }

  /** Seals one piece of evidence (through an activity) and records it. */
  async evidence(seal: () => Promise<EvidenceRefSummary>, step?: S): Promise<EvidenceRefSummary> {
    return this.recordEvidence(await seal(), step);
  }

  /** Records evidence an activity has sealed already (one that captures several items at once). */
  recordEvidence(ref: EvidenceRefSummary, step?: S): EvidenceRefSummary {
    this.evidenceCount += 1;
    this.sealedNames.add(ref.name);
    this.timeline.append(
      'evidence.sealed',
      { name: ref.name, sha256: ref.sha256, bytes: ref.bytes, uri: ref.uri },
      step === undefined ? {} : { step },
    );
    return ref;
  }

  /** Marks a step skipped, with the reason on the timeline. */
  skip(step: S, action: string, why: string): void {
    this.gates.state(step).status = 'skipped';
    this.timeline.append('action.skipped', { action, why }, { step });
  }

  /** Records something a step did not do and why, without settling the step. */
  note(step: S, action: string, why: string): void {
    this.timeline.append('action.skipped', { action, why }, { step });
  }

  /** Records what a read-only step found (a scope's size, a rescan's result), without settling the step. */
  found(step: S, what: string, detail: string): void {
    this.timeline.append('finding.recorded', { what, detail }, { step });
  }

  /** Records work Firebreak cannot do itself for a person to do (reissue a third-party credential), on the timeline and the report. */
  followUp(step: S, what: string, why: string, target?: string): void {
    this.timeline.append('follow-up.raised', { what, why, ...(target === undefined ? {} : { target }) }, { step });
  }

  /** Marks a step failed, with the failure on the timeline. */
  fail(step: S, action: string, target: string, e: unknown): void {
    this.gates.state(step).status = 'failed';
    this.timeline.append('action.failed', { action, target, ...describeFailure(e) }, { step });
  }

  /** Skips every step after `step` that has not started, for the same reason. */
  stopAfter(step: S, why: string): void {
    for (const later of this.steps.slice(this.steps.indexOf(step) + 1)) {
      if (this.gates.state(later).status === 'not-started') this.skip(later, later, why);
    }
  }

  /**
   * A read-only step behind its gate (triage): resolves with what it found,
   * or undefined when the gate was not passed or the read failed (recorded,
   * the step failed).
   */
  async read<T>(step: S, spec: ReadSpec<T>): Promise<T | undefined> {
    let found: T | undefined;
    await this.gated(step, async () => {
      try {
        found = await spec.run();
      } catch (e) {
        this.fail(step, spec.action, spec.target, e);
      }
    });
    return found;
  }

  /**
   * The evidence step: captures and seals evidence behind the step's gate and
   * records every item. When nothing could be captured (the gate was not
   * passed, or the capture failed), the step is failed or skipped, every later
   * step is skipped with the reason, and this resolves undefined: the runbook
   * then `finish`es, changing nothing.
   */
  async capture<T extends { refs: readonly EvidenceRefSummary[] }>(step: S, spec: ReadSpec<T>): Promise<T | undefined> {
    const captured = await this.read(step, spec);
    if (captured === undefined) {
      this.stopAfter(step, 'no evidence could be captured, so nothing is changed');
      return undefined;
    }
    for (const item of captured.refs) this.recordEvidence(item, step);
    return captured;
  }

  /**
   * The evidence step in two parts, for containment that must not wait for
   * everything: `run` captures what the first changes would alter, behind the
   * step's gate, as `capture` does; `rest` then captures everything else while
   * containment proceeds. Actions naming their evidence (`requires`) run once
   * the first part is sealed; the others, and the close, wait for the rest.
   * Resolves with the first part and the rest's promise (undefined when the
   * rest failed: recorded, the step failed), or undefined as `capture` does.
   */
  async captureInParts<F extends { refs: readonly EvidenceRefSummary[] }, R extends { refs: readonly EvidenceRefSummary[] }>(
    step: S,
    spec: PartedCaptureSpec<F, R>,
  ): Promise<{ first: F; rest: Promise<R | undefined> } | undefined> {
    const first = await this.capture(step, spec);
    if (first === undefined) return undefined;
    const rest = (async () => {
      try {
        const captured = await spec.rest.run(first);
        for (const item of captured.refs) this.recordEvidence(item, step);
        return captured;
      } catch (e) {
        this.fail(step, spec.rest.action, spec.target, e);
        return undefined;
      }
    })();
    this.evidencePending = rest.then((r) => r !== undefined);
    return { first, rest };
  }

  /**
   * What an action waits for before it runs, as the timeline records it:
   * the items it names, sealed already (refused otherwise: the runbook
   * names evidence no earlier capture seals), or the full set — `'wait'`
   * while the rest of a capture is still being sealed.
   */
  private evidenceFor(step: S, spec: ActionSpec): StartedEvidence | 'wait' {
    const refuse = (why: string, missing?: readonly string[]) => {
      throw ApplicationFailure.create({
        type: engineFailure.evidenceNotSealed,
        nonRetryable: true,
        message: `Refusing "${spec.action}" in step "${step}": ${why}. A runbook captures evidence before containment changes anything.`,
        details: [{ step, action: spec.action, ...(missing === undefined ? {} : { missing }) }],
      });
    };
    if (this.evidenceCount === 0) refuse('no evidence is sealed yet');
    if (spec.requires !== undefined && spec.requires.length > 0) {
      const missing = spec.requires.filter((name) => !this.sealedNames.has(name));
      if (missing.length > 0) refuse(`the evidence it requires is not sealed yet (${missing.join(', ')}); seal it in the capture before this step`, missing);
      return { required: [...spec.requires] };
    }
    return this.evidencePending === undefined ? { all: this.evidenceCount } : 'wait';
  }

  /** The full evidence set once the rest of a capture is sealed; undefined when it could not be. */
  private async fullEvidence(): Promise<StartedEvidence | undefined> {
    return (await this.evidencePending) === false ? undefined : { all: this.evidenceCount };
  }

  /**
   * Runs a step behind its gate. Resolves true when the body ran, false when
   * the gate denied it (recorded as skipped).
   */
  async gated(step: S, body: () => Promise<void>): Promise<boolean> {
    const state = this.gates.state(step);
    if (this.lifecycle.halted) {
      this.skip(step, step, 'the incident was rolled back');
      return false;
    }
    this.currentStep = step;
    try {
      if (!(await this.gates.pass(step)) || this.lifecycle.halted) {
        const why =
          this.lifecycle.halted || state.settledBy === 'rolled-back'
            ? 'the incident was rolled back'
            : state.settledBy === 'votes'
              ? 'the gate was denied'
              : 'the gate was not passed before its deadline';
        this.timeline.append('action.skipped', { action: step, why }, { step });
        return false;
      }
      state.status = 'running';
      await body();
      if (state.status === 'running') state.status = 'succeeded';
      return true;
    } finally {
      this.currentStep = undefined;
    }
  }

  /**
   * Runs one containment action: refuses to change anything before evidence
   * is sealed, records start and outcome, and registers the compensation when
   * something changed. Resolves with the result, or undefined when it failed
   * (recorded; the step is marked failed and the runbook decides what next).
   */
  async act(step: S, spec: ActionSpec): Promise<ActionResult | undefined> {
    const target = spec.target === undefined ? {} : { target: spec.target };
    // No await unless something is pending: commands of runbooks without a capture in parts keep their order on replay.
    const now = this.evidenceFor(step, spec);
    const evidence = now === 'wait' ? await this.fullEvidence() : now;
    if (evidence === undefined) {
      this.skip(step, spec.action, 'the full evidence set could not be sealed (see the evidence step), so this is not changed');
      return undefined;
    }
    if (this.lifecycle.halted) {
      this.timeline.append('action.skipped', { action: spec.action, why: 'the incident was rolled back' }, { step });
      return undefined;
    }
    this.actions += 1;
    this.lifecycle.actionsInFlight += 1;
    this.timeline.append('action.started', { action: spec.action, mode: this.input.mode, ...target, evidence }, { step });
    try {
      const result = await spec.run();
      if (result.outcome === 'already-done') {
        this.timeline.append('action.already-done', { action: spec.action, detail: result.detail, ...target }, { step });
      } else if (result.outcome === 'target-gone') {
        this.timeline.append('action.target-gone', { action: spec.action, detail: result.detail, ...target }, { step });
      } else {
        this.timeline.append('action.succeeded', { action: spec.action, changed: result.detail, ...target }, { step });
        if (spec.compensate !== undefined) {
          const kept = this.input.policy.rollback.keep?.includes(step)
            ? `the policy keeps step "${step}"'s changes on rollback (rollback.keep in ${this.input.policy.id} v${this.input.policy.version})`
            : undefined;
          this.saga.register({ step, action: spec.compensate.action, ...target, run: spec.compensate.run, ...(kept === undefined ? {} : { kept }) });
        }
      }
      return result;
    } catch (e) {
      this.failures += 1;
      this.gates.state(step).status = 'failed';
      this.timeline.append('action.failed', { action: spec.action, ...target, ...describeFailure(e) }, { step });
      return undefined;
    } finally {
      this.lifecycle.actionsInFlight -= 1;
    }
  }

  /**
   * Proves that a change holds (a block is enforced): runs the read-only
   * check and records what it showed, or its failure (the step is marked
   * failed). Resolves true when the check held.
   */
  async check(step: S, spec: { check: string; target?: string; run: () => Promise<string> }): Promise<boolean> {
    const target = spec.target === undefined ? {} : { target: spec.target };
    try {
      const detail = await spec.run();
      this.timeline.append('check.passed', { check: spec.check, detail, ...target }, { step });
      return true;
    } catch (e) {
      this.failures += 1;
      this.gates.state(step).status = 'failed';
      this.timeline.append('check.failed', { check: spec.check, ...target, ...describeFailure(e) }, { step });
      return false;
    }
  }

  /**
   * Offers a child runbook (one the catalog lists among this runbook's
   * children) behind the step's gate: starts its incident, abandoned on close,
   * with the child's policy from the input, this incident's approvers,
   * requester, mode and trigger, and the targets given. Without the child's
   * policy the step is skipped, saying what to start by hand.
   */
  async offerChild(step: S, child: ChildOffer): Promise<void> {
    await this.offerChildren(step, [child]);
  }

  /** Several children of one runbook behind the step's one gate (one per IRSA role), each told apart by its `instance`. */
  async offerChildren(step: S, children: readonly ChildOffer[]): Promise<void> {
    const { input } = this;
    const first = children[0];
    if (first === undefined) return;
    const on = (child: ChildOffer) => child.targets.map((t) => `${t.kind}:${t.id}`).join(', ');
    const policy = input.childPolicies?.[first.workflow];
    if (policy === undefined) {
      const all = children.map(on).join('; ');
      this.skip(step, `offer ${first.runbook} runbook on ${all}`, `${children.map((c) => c.why).join('; ')}; the starter passed no ${first.runbook} policy, so start the ${first.runbook} runbook on ${all} by hand`);
      return;
    }
    await this.gated(step, async () => {
      for (const child of children) {
        await this.act(step, {
          action: `start ${child.runbook} runbook`,
          target: on(child),
          run: async () => {
            // No '/' in incident ids: the evidence store keys incidents by them.
            const childId = `${input.incidentId}.${policy.id}${child.instance === undefined ? '' : `.${child.instance}`}`;
            const childInput: IncidentInput = {
              incidentId: childId,
              policy,
              groups: input.groups,
              requester: input.requester,
              mode: input.mode,
              trigger: { ...input.trigger, summary: child.summary },
              targets: child.targets,
              ...(input.drill === undefined ? {} : { drill: input.drill }),
            };
            await startChild(child.workflow, { workflowId: childId, args: [childInput], parentClosePolicy: ParentClosePolicy.ABANDON });
            return { outcome: 'changed', detail: `started incident ${childId} (${child.workflow}) on ${on(child)}` };
          },
        });
      }
    });
  }

  /**
   * Keeps the incident open after its steps, so that it can still be rolled
   * back, until someone closes it; resolves with its final status. The last
   * thing a runbook workflow does.
   */
  async finish(): Promise<IncidentStatus> {
    // Evidence still being sealed is recorded before the incident can close.
    if (this.evidencePending !== undefined) await this.evidencePending;
    await this.lifecycle.untilClosed();
    // The last events (the close) reach the room before the incident ends.
    await this.notices.drain();
    return this.status();
  }
}

/**
 * The policy's gate per step, when the policy gives exactly one entry per
 * step of the workflow; otherwise the workflow fails, not retryably, saying
 * what to fix. The runbook loader checks the same rule
 * (domain/runbooks.ts) before a policy is ever used.
 */
function policyFitsWorkflow(policy: IncidentInput['policy'], steps: readonly string[]): Map<string, Gate> {
  const problem = policyFitProblem(policy.steps.map((s) => s.id), steps);
  if (problem !== undefined) {
    throw ApplicationFailure.create({
      type: engineFailure.policyMismatch,
      nonRetryable: true,
      message: `Policy ${policy.id} v${policy.version} does not fit this workflow: ${problem}. Fix the policy file and validate it with \`firebreak runbooks validate\`.`,
      details: [{ policy: policy.id, version: policy.version, problem }],
    });
  }
  return new Map<string, Gate>(policy.steps.map((s) => [s.id, s.gate]));
}

function sameAlert(a: TriggerInfo, b: TriggerInfo): boolean {
  return a.source === b.source && a.alertId === b.alertId && a.receivedAt === b.receivedAt && a.summary === b.summary;
}

function pickAlert(t: TriggerInfo) {
  return {
    source: t.source,
    severity: t.severity,
    summary: t.summary,
    ...(t.alertId === undefined ? {} : { alertId: t.alertId }),
    ...(t.rule === undefined ? {} : { rule: t.rule }),
  };
}
