/**
 * The scenario's `faults`: API errors for a window of virtual time, drawn
 * from a seeded generator so the same seed fails the same calls.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { Fault } from '../scenario.ts';

export type FaultError = Fault['error'];

export class FaultPlan {
  private readonly rng: ReturnType<typeof xoroshiro128plus>;
  private injected = 0;

  constructor(
    private readonly faults: readonly Fault[],
    seed: number,
    private readonly startMs: number,
  ) {
    this.rng = xoroshiro128plus(seed);
  }

  /** The error this call fails with, or undefined; `nowMs` is the drill's virtual time. */
  draw(service: string, operation: string, nowMs: number): FaultError | undefined {
    const offset = nowMs - this.startMs;
    for (const f of this.faults) {
      if (f.service !== service || (f.operation !== '*' && f.operation !== operation)) continue;
      if (offset < f.from || offset >= f.until) continue;
      if (uniformFloat64(this.rng) < f.rate) {
        this.injected += 1;
        return f.error;
      }
    }
    return undefined;
  }

  count(): number {
    return this.injected;
  }
}
