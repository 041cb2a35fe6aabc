import { describe, expect, it } from 'vitest';
import { compareScorecards, CompareError, parseFailRule, readScorecard, renderComparison } from '../../src/drills/compare.ts';
import { failingCard, passingCard } from './report/fixture.ts';

const slower = () => {
  const c = passingCard();
  return { ...c, timeToFirstContainment: c.timeToFirstContainment! * 1.5, timeToFullContainment: c.timeToFullContainment! * 1.5 };
};

describe('drill compare', () => {
  it('fails a rule when b is worse than a by more than the share it allows', () => {
    const c = compareScorecards(passingCard(), slower(), [parseFailRule('timeToContain>+20%')]);
    expect(c.failed).toEqual([{ rule: 'timeToContain>+20%', why: expect.stringMatching(/^timeToFullContainment went from \S+ to \S+$/) }]);
  });

  it('passes the same rule when b is within it (the control)', () => {
    expect(compareScorecards(passingCard(), passingCard(), [parseFailRule('timeToContain>+20%')]).failed).toEqual([]);
  });

  it('fails an absolute count rule once the adversary got further', () => {
    const c = compareScorecards(passingCard(), failingCard(), [parseFailRule('adversaryActionsAfterAlert>+0')]);
    expect(c.failed.map((f) => f.rule)).toEqual(['adversaryActionsAfterAlert>+0']);
  });

  it('fails a time rule when b never contained what a did', () => {
    const never = { ...passingCard(), timeToFirstContainment: null };
    expect(compareScorecards(passingCard(), never, [parseFailRule('timeToFirstContainment>+2m')]).failed[0]?.why).toMatch(/now never happened/);
  });

  it('shows every figure with its change in a table', () => {
    const text = renderComparison(compareScorecards(passingCard(), slower(), []));
    expect(text).toMatch(/\| timeToFirstContainment \| 4m0\ds \| 6m0\ds \| \+2m0\ds \(\+50%\) \|/);
  });

  it('refuses a rule it cannot read, listing the figures it knows', () => {
    expect(() => parseFailRule('speed>fast')).toThrow(CompareError);
    expect(() => parseFailRule('speed>fast')).toThrow(/expected <figure>>\+<limit>.*timeToFirstContainment/);
  });

  it('reads back a scorecard it wrote, and refuses a file that is not one', () => {
    expect(readScorecard(JSON.stringify(passingCard()), 'a.json').scenario.name).toBe(passingCard().scenario.name);
    expect(() => readScorecard('{"schema":"something/else"}', 'b.json')).toThrow(/b\.json is not a firebreak\.scorecard\/v1 scorecard/);
    expect(() => readScorecard('not json', 'c.json')).toThrow(/c\.json is not JSON/);
  });
});
