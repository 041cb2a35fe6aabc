import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareVersions, orderedEcosystems, type OrderedEcosystem } from '../../activities/sbom/versions/index.ts';

type Case = [a: string, b: string, order: -1 | 0 | 1];

/** Cases from each ecosystem's own specification (the comment names it). */
const tables: Record<OrderedEcosystem, Case[]> = {
  // semver.org §11, the precedence example, and build metadata (§10).
  npm: [
    ['1.0.0-alpha', '1.0.0-alpha.1', -1],
    ['1.0.0-alpha.1', '1.0.0-alpha.beta', -1],
    ['1.0.0-alpha.beta', '1.0.0-beta', -1],
    ['1.0.0-beta', '1.0.0-beta.2', -1],
    ['1.0.0-beta.2', '1.0.0-beta.11', -1],
    ['1.0.0-beta.11', '1.0.0-rc.1', -1],
    ['1.0.0-rc.1', '1.0.0', -1],
    ['2.0.0', '10.0.0', -1],
    ['1.0.0+build.1', '1.0.0', 0],
    ['5.6.1', '5.6.2', -1],
  ],
  // PEP 440 "Summary of permitted suffixes and relative ordering", epochs and zero padding.
  PyPI: [
    ['1.0.dev456', '1.0a1', -1],
    ['1.0a1', '1.0a2.dev456', -1],
    ['1.0a2.dev456', '1.0a12.dev456', -1],
    ['1.0a12.dev456', '1.0a12', -1],
    ['1.0a12', '1.0b1.dev456', -1],
    ['1.0b2', '1.0b2.post345.dev456', -1],
    ['1.0b2.post345.dev456', '1.0b2.post345', -1],
    ['1.0b2.post345', '1.0rc1.dev456', -1],
    ['1.0rc1', '1.0', -1],
    ['1.0', '1.0+abc.5', -1],
    ['1.0+abc.7', '1.0.post456.dev34', -1],
    ['1.0.post456', '1.0.15', -1],
    ['1.0.15', '1.1.dev1', -1],
    ['1!1.0', '2.0', 1],
    ['1.0', '1.0.0', 0],
  ],
  // Maven POM reference, "Version Order Specification".
  Maven: [
    ['1', '1.1', -1],
    ['1-snapshot', '1', -1],
    ['1', '1-sp', -1],
    ['1-foo2', '1-foo10', -1],
    ['1-1', '1.1', -1],
    ['1.ga', '1', 0],
    ['1-ga', '1', 0],
    ['1-0', '1', 0],
    ['1.0', '1', 0],
    ['1-sp', '1-ga', 1],
    ['1-sp.1', '1-ga.1', 1],
    ['1-sp-1', '1-ga-1', -1],
    ['1-a1', '1-alpha-1', 0],
    ['1.0-alpha1', '1.0-beta1', -1],
    ['1.0-beta1', '1.0-milestone1', -1],
    ['1.0-milestone1', '1.0-rc1', -1],
    ['1.0-RC1', '1.0-cr1', 0],
    ['1.0-rc1', '1.0-SNAPSHOT', -1],
    ['1.0-SNAPSHOT', '1.0', -1],
    // `.qualifier` orders as `-qualifier`.
    ['1.foo', '1-foo', 0],
    ['3-alpha', '3.foo', -1],
    ['1.0.0.Final', '1.0.0', 0],
    ['2.14.1', '2.15.0', -1],
    ['2.9.10', '2.10.0', -1],
  ],
  // Go modules reference: v-prefixed SemVer, pseudo-versions, +incompatible.
  Go: [
    ['v1.2.3', '1.2.3', 0],
    ['v1.9.0', 'v1.10.0', -1],
    ['v0.0.0-20191109021931-daa7c04131f5', 'v0.0.0', -1],
    ['v0.0.0-20191109021931-daa7c04131f5', 'v0.0.0-20200101000000-aaaaaaaaaaaa', -1],
    ['v1.2.3', 'v1.2.4-0.20191109021931-daa7c04131f5', -1],
    ['v1.2.4-0.20191109021931-daa7c04131f5', 'v1.2.4', -1],
    ['v2.0.0+incompatible', 'v2.0.0', 0],
    ['v1.2.3-pre', 'v1.2.3', -1],
  ],
  // Composer: VersionParser::normalize and version_compare.
  Packagist: [
    ['v7.30.6', '7.30.6', 0],
    ['7.30.6', '7.30.6.0', 0],
    ['7.30.5', 'v7.30.6', -1],
    ['1.0.0-dev', '1.0.0-alpha1', -1],
    ['1.0.0-alpha', '1.0.0-beta', -1],
    ['1.0.0-b1', '1.0.0-beta1', 0],
    ['1.0.0-beta2', '1.0.0-beta10', -1],
    ['1.0.0-RC1', '1.0.0', -1],
    ['1.0.0', '1.0.0-p1', -1],
    ['1.0.0-pl1', '1.0.0-patch1', 0],
    ['1.0.0+build.7', '1.0.0', 0],
  ],
  // Gem::Version: a letter makes a pre-release; trailing zeros do not count.
  RubyGems: [
    ['1.0.0.a', '1.0.0', -1],
    ['1.0.0.a', '1.0.0.b', -1],
    ['1.0.a.2', '1.0.b1', -1],
    ['1.0.b1', '1.0', -1],
    ['1.0', '1.0.0', 0],
    ['1.9', '1.10', -1],
    ['1.8.2.a9', '1.8.2.a10', -1],
    ['7.0.8.1', '7.0.8', 1],
  ],
  // The Cargo book, "SemVer compatibility": strict SemVer 2.0.
  'crates.io': [
    ['1.0.0-alpha', '1.0.0', -1],
    ['0.9.0', '0.10.0', -1],
    ['1.0.0+build', '1.0.0', 0],
    ['1.0.0-alpha.1', '1.0.0-alpha.beta', -1],
  ],
  // NuGet "Package versioning": four parts, normalisation, case-insensitive SemVer 2.0 labels.
  NuGet: [
    ['1.0', '1.0.0.0', 0],
    ['1.0.01', '1.0.1', 0],
    ['1.0.0.1', '1.0.0', 1],
    ['1.0.0-alpha', '1.0.0', -1],
    ['1.0.0-alpha', '1.0.0-ALPHA', 0],
    ['1.0.0-alpha', '1.0.0-alpha.1', -1],
    ['1.0.0-beta.2', '1.0.0-beta.11', -1],
    ['1.0.0-1', '1.0.0-alpha', -1],
    ['1.0.0+meta', '1.0.0', 0],
    ['4.1.0-rc', '4.1.0', -1],
  ],
  // Debian Policy §5.6.12.
  Debian: [
    ['5.6.1-1', '5.6.1+really5.4.5-1', -1],
    ['5.4.5-0.3', '5.6.1+really5.4.5-1', -1],
    ['1:1.0', '2.0', 1],
    ['0:1.0', '1.0', 0],
    ['1.0', '1.0-0', 0],
    ['1.0~rc1', '1.0', -1],
    ['1.0~~', '1.0~', -1],
    ['1.0', '1.0+b1', -1],
    ['1.0a', '1.0+', -1],
    ['2.4-1', '2.30-1', -1],
    ['1.0-1', '1.0-1ubuntu1', -1],
    ['1.0-1ubuntu1', '1.0-1.1', -1],
  ],
  Ubuntu: [
    ['2.35-0ubuntu3.6', '2.35-0ubuntu3.7', -1],
    ['1.1.1f-1ubuntu2.20', '1.1.1f-1ubuntu2.3', 1],
    ['1:9.18.18-0ubuntu0.22.04.2', '1:9.18.18-0ubuntu0.22.04.1', 1],
  ],
  // apk-tools version rules.
  Alpine: [
    ['1.0_alpha', '1.0', -1],
    ['1.0_alpha', '1.0_beta', -1],
    ['1.0_beta', '1.0_pre', -1],
    ['1.0_pre', '1.0_rc1', -1],
    ['1.0_rc1', '1.0', -1],
    ['1.0', '1.0_p1', -1],
    ['1.0-r1', '1.0_p1', -1],
    ['1.0_cvs', '1.0_p', -1],
    ['1.0', '1.0_git20240101', -1],
    ['1.0-r1', '1.0-r2', -1],
    ['1.0', '1.0a', -1],
    ['1.0a', '1.0b', -1],
    ['1.2', '1.10', -1],
    ['1.01', '1.1', -1],
    ['3.3.2-r0', '3.3.2-r1', -1],
    ['1.99.9', '2.0', -1],
  ],
  // GitHub Actions release tags as workflows pin them: with or without "v"; a moving major tag is its series' first release.
  'GitHub Actions': [
    ['v44', '44.0.0', 0],
    ['v44', 'v44.5.1', -1],
    ['v45.0.7', '46.0.1', -1],
    ['v4.1', 'v4.0.9', 1],
    ['v1.0.0-beta', 'v1', -1],
  ],
};

const notVersions: Record<OrderedEcosystem, string[]> = {
  npm: ['latest', '1.2'],
  PyPI: ['not a version'],
  Maven: ['', '[1.0,2.0)', 'RELEASE'],
  Go: ['(devel)', 'master'],
  Packagist: ['dev-main', '2.x-dev'],
  RubyGems: ['one two'],
  'crates.io': ['v1.0.0', '1.0'],
  NuGet: ['1.0.0-', 'abc'],
  Debian: ['abc', '1:', 'a:1.0'],
  Ubuntu: ['~1'],
  Alpine: ['abc', '1.0_foo'],
  'GitHub Actions': ['main', '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567'],
};

function order(ecosystem: string, a: string, b: string): number | string {
  const r = compareVersions(ecosystem, a, b);
  return r.decided ? r.order : r.reason;
}

describe('version order per ecosystem', () => {
  for (const ecosystem of orderedEcosystems) {
    describe(ecosystem, () => {
      it.each(tables[ecosystem])(`orders %s against %s as %i`, (a, b, expected) => {
        expect(order(ecosystem, a, b)).toBe(expected);
        expect(order(ecosystem, b, a)).toBe(-expected || 0);
      });

      it.each(notVersions[ecosystem])('cannot decide "%s", and says which version it could not read', (bad) => {
        const r = compareVersions(ecosystem, bad, '1.0.0');
        expect(r).toEqual({ decided: false, reason: `"${bad}" is not a ${ecosystem} version` });
      });

      it('is antisymmetric and transitive over its spec versions', () => {
        const versions = [...new Set(tables[ecosystem].flatMap(([a, b]) => [a, b]))];
        const v = fc.constantFrom(...versions);
        fc.assert(
          fc.property(v, v, v, (a, b, c) => {
            const ab = order(ecosystem, a, b) as number;
            expect(ab).toBe(-(order(ecosystem, b, a) as number) || 0);
            const bc = order(ecosystem, b, c) as number;
            if (ab <= 0 && bc <= 0) expect(order(ecosystem, a, c) as number).toBeLessThanOrEqual(0);
          }),
          { numRuns: 500 },
        );
      });
    });
  }

  it('orders OSV ecosystems with a release like their base (Debian:12 is dpkg order)', () => {
    expect(order('Debian:12', '5.6.1-1', '5.6.1+really5.4.5-1')).toBe(-1);
    expect(order('Alpine:v3.20', '1.0_rc1', '1.0')).toBe(-1);
  });

  it('answers "cannot decide" for an ecosystem it cannot order, never an order', () => {
    expect(compareVersions('Hex', '1.0.0', '1.0.1')).toEqual({ decided: false, reason: 'Firebreak cannot order Hex versions' });
  });
});

/** Versions built from each OS format's grammar, to check the hand-written comparators' laws beyond the tables. */
const dpkgVersion = fc
  .tuple(
    fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
    fc.stringMatching(/^[0-9][0-9a-z.+~]{0,6}$/),
    fc.option(fc.stringMatching(/^[0-9a-z.+~]{1,4}$/), { nil: undefined }),
  )
  .map(([e, u, r]) => `${e === undefined ? '' : `${e}:`}${u}${r === undefined ? '' : `-${r}`}`);
const apkVersion = fc
  .tuple(
    fc.array(fc.stringMatching(/^[0-9]{1,2}$/), { minLength: 1, maxLength: 3 }),
    fc.option(fc.constantFrom('a', 'b', 'z'), { nil: '' }),
    fc.array(fc.tuple(fc.constantFrom('alpha', 'beta', 'pre', 'rc', 'git', 'p'), fc.option(fc.nat(12), { nil: undefined })), { maxLength: 2 }),
    fc.option(fc.nat(9), { nil: undefined }),
  )
  .map(([n, l, s, r]) => `${n.join('.')}${l}${s.map(([k, d]) => `_${k}${d ?? ''}`).join('')}${r === undefined ? '' : `-r${r}`}`);
const mavenVersion = fc
  .array(fc.oneof(fc.stringMatching(/^[0-9]{1,2}$/), fc.constantFrom('alpha', 'beta', 'rc', 'snapshot', 'ga', 'sp', 'foo')), { minLength: 1, maxLength: 4 })
  .chain((parts) => fc.array(fc.constantFrom('.', '-'), { minLength: parts.length - 1, maxLength: parts.length - 1 }).map((seps) => parts.map((p, i) => (i === 0 ? p : `${seps[i - 1]}${p}`)).join('')))
  .filter((v) => /^[0-9]/.test(v));

describe('laws of the hand-written comparators on generated versions', () => {
  for (const [ecosystem, arb] of [
    ['Debian', dpkgVersion],
    ['Alpine', apkVersion],
    ['Maven', mavenVersion],
  ] as const) {
    it(`${ecosystem}: antisymmetric, reflexive and transitive`, () => {
      fc.assert(
        fc.property(arb, arb, arb, (a, b, c) => {
          const ab = order(ecosystem, a, b);
          if (typeof ab === 'string') return;
          expect(order(ecosystem, a, a)).toBe(0);
          expect(order(ecosystem, b, a)).toBe(-ab || 0);
          const bc = order(ecosystem, b, c);
          const ac = order(ecosystem, a, c);
          if (typeof bc === 'number' && typeof ac === 'number' && ab <= 0 && bc <= 0) expect(ac).toBeLessThanOrEqual(0);
        }),
        { numRuns: 2000 },
      );
    });
  }
});
