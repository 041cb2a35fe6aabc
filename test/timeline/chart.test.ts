import { describe, expect, it } from 'vitest';
import { offsetLabel, renderTimeChart } from '../../src/timeline/chart.ts';
import { incidentMetrics } from '../../src/timeline/metrics.ts';
import { at, opening, requested, timeline } from './build.ts';

const events = timeline('inc-1', ...opening(), requested(10, 'isolate'));
const metrics = incidentMetrics(events, { containmentSteps: ['isolate'] });

describe('the time chart', () => {
  it('labels its axis as offsets from the first alert', () => {
    expect([0, 30_000, 300_000, 5_400_000, -120_000].map(offsetLabel)).toEqual(['0', '+30s', '+5m', '+1h30m', '−2m']);
  });

  it('draws a fault window as a lane with its label in words', () => {
    const svg = renderTimeChart({ events, metrics, faults: [{ from: at(0), until: at(20), label: 'iam * throttled' }] });
    expect(svg).toContain('<text class="lane-label" x="8" y="21">Faults (1)</text>');
    expect(svg).toMatch(/<rect class="bar fault" [^>]*><title>0 to \+20s: iam \* throttled<\/title><\/rect>/);
  });

  it('marks a gate still waiting at the chart’s end as open', () => {
    const svg = renderTimeChart({ events, metrics, endAt: at(600) });
    expect(svg).toMatch(/<g class="lane step" data-step="isolate"[^]*?>open<\/text>/);
  });
});
