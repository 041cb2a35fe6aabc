/**
 * A drill's scorecard (`firebreak drill run --json`, docs/drills.md): what
 * the run did against the scenario, in figures. Versioned: a field is only
 * ever added; `drill compare` reads any v1 file.
 */
import type { TimelineEvent } from '../../workflows/engine/timeline.ts';
import type { IncidentMetrics } from '../timeline/metrics.ts';

export const scorecardSchemaVersion = 'firebreak.scorecard/v1';

export interface AdversaryOutcome {
  /** Virtual time of the attempt, ISO. */
  at: string;
  name: string;
  kind: string;
  succeeded: boolean;
  /** After the first alert reached Firebreak: a success then counts against the run. */
  afterAlert: boolean;
  detail: string;
}

export interface ExpectationOutcome {
  /** The expectation as the scenario states it, in words. */
  text: string;
  met: boolean;
  detail: string;
}

export interface ThresholdOutcome {
  /** The scorecard figure, e.g. timeToFirstContainment. */
  name: string;
  threshold: string;
  /** The figure (ms for times, a count otherwise); null when it never happened. */
  value: number | null;
  met: boolean;
}

export interface Scorecard {
  schema: typeof scorecardSchemaVersion;
  drill: true;
  scenario: { name: string; title: string; runbook: string; attack: string[]; file?: string };
  world: 'simulated' | 'emulated';
  incidentId: string;
  /** Virtual time the scenario started, ISO. */
  startedAt: string;
  horizonMs: number;
  /** Virtual time the run covered, and the wall time it took. */
  virtualMs: number;
  wallMs: number;
  /** Events the director handled: injects, responders' decisions, adversary moves, deadlines. */
  events: number;
  /** From the first alert, in ms; null when never contained. */
  timeToFirstContainment: number | null;
  timeToFullContainment: number | null;
  adversaryActionsAfterAlert: number;
  adversary: AdversaryOutcome[];
  /** Key times and gate waits, computed by the same code as a live incident's report. */
  metrics: IncidentMetrics;
  evidence: { sealed: number; names: string[]; sealedBeforeFirstChange: boolean; firstChangeAt: string | null };
  rollback: {
    requestedAt: string;
    finished: boolean;
    /** Finished, and nothing left behind but what `leftOnPurpose` lists. */
    restored: boolean;
    /** What differs from the world before the runbook's first change and should not. */
    residue: string[];
    /** What differs on purpose, with why: kept by the policy, no undo, or not safe to undo yet. */
    leftOnPurpose: string[];
  } | null;
  /** Connections the drill process tried to open to anything but loopback (must be 0). */
  realCalls: number;
  realCallTargets: string[];
  faultsInjected: number;
  /** Slack messages the drill sent to its simulated Slack, every one marked as a drill. */
  notices: { sent: number; markedDrill: number };
  expectations: ExpectationOutcome[];
  missedExpectations: number;
  thresholds: ThresholdOutcome[];
  pass: boolean;
  timeline: TimelineEvent[];
}
