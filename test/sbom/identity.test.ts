import fc from 'fast-check';
import { PackageURL } from 'packageurl-js';
import { describe, expect, it } from 'vitest';
import { identityFromPurl, identityKey, InvalidPurlError, looseName, purlLooseName } from '../../activities/sbom/identity.ts';

describe('package identity', () => {
  it('compares npm scopes on decoded fields: %40scope is @scope', () => {
    expect(identityFromPurl('pkg:npm/%40acme/ui-kit@2.0.0')).toEqual({ ecosystem: 'npm', name: '@acme/ui-kit', version: '2.0.0' });
    expect(identityKey('npm', identityFromPurl('pkg:npm/%40acme/ui-kit@2.0.0').name)).toBe(identityKey('npm', '@acme/ui-kit'));
  });

  it.each([
    ['pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1', 'Maven', 'org.apache.logging.log4j:log4j-core'],
    ['pkg:golang/golang.org/x/net@v0.17.0', 'Go', 'golang.org/x/net'],
    ['pkg:composer/laravel/framework@v10.0.0', 'Packagist', 'laravel/framework'],
    ['pkg:deb/debian/liblzma5@5.6.1-1?arch=amd64', 'Debian', 'liblzma5'],
    ['pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1', 'Ubuntu', 'openssl'],
    ['pkg:apk/alpine/busybox@1.36.1-r15', 'Alpine', 'busybox'],
    ['pkg:cargo/smallvec@1.11.0', 'crates.io', 'smallvec'],
    ['pkg:gem/rails@7.0.8', 'RubyGems', 'rails'],
    ['pkg:nuget/Newtonsoft.Json@13.0.1', 'NuGet', 'Newtonsoft.Json'],
    ['pkg:hex/phoenix@1.7.10', 'Hex', 'phoenix'],
    ['pkg:bitnami/redis@7.2.0', 'purl:bitnami', 'redis'],
  ])('%s is %s %s', (purl, ecosystem, name) => {
    expect(identityFromPurl(purl)).toMatchObject({ ecosystem, name });
  });

  it.each([
    ['PyPI', 'Requests_OAuthlib', 'requests-oauthlib'],
    ['NuGet', 'Newtonsoft.Json', 'newtonsoft.json'],
    ['crates.io', 'serde_json', 'serde-json'],
    ['Packagist', 'Laravel/Framework', 'laravel/framework'],
  ])('normalises %s names as the registry does: %s = %s', (ecosystem, a, b) => {
    expect(identityKey(ecosystem, a)).toBe(identityKey(ecosystem, b));
  });

  it('keeps Maven names case-sensitive, as Maven Central does (control)', () => {
    expect(identityKey('Maven', 'org.Example:Lib')).not.toBe(identityKey('Maven', 'org.example:lib'));
  });

  it('rejects a malformed purl with a message saying how to write one', () => {
    expect(() => identityFromPurl('pkg:npm')).toThrow(InvalidPurlError);
    expect(() => identityFromPurl('chalk@5.6.1')).toThrow(/write it as pkg:<type>\/<namespace>\/<name>@<version>/);
  });
});

describe('the loose name the matcher filters purls by before parsing them', () => {
  it.each([
    ['pkg:npm/%40acme/ui-kit@2.0.0', 'ui-kit'],
    ['pkg:npm/@acme/ui-kit@2.0.0', 'ui-kit'],
    ['pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar', 'log4j-core'],
    ['pkg:golang/golang.org/x/net@v0.17.0#http2', 'net'],
    ['pkg:pypi/Requests_OAuthlib@1.3.1', 'requests-oauthlib'],
    ['pkg:deb/debian/liblzma5@5.6.1-1?arch=amd64&upstream=xz-utils', undefined],
    ['pkg:npm/odd@1.0/2', undefined],
  ])('%s → %s', (purl, loose) => {
    expect(purlLooseName(purl)).toBe(loose);
  });

  it('is never wrong: whenever it answers, it is the loose name of the identity the purl parses to', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._@:+ -]{0,12}$/);
    fc.assert(
      fc.property(
        fc.constantFrom('npm', 'pypi', 'maven', 'golang', 'composer', 'gem', 'cargo', 'nuget', 'deb', 'apk'),
        fc.option(segment, { nil: undefined }),
        segment,
        fc.option(fc.stringMatching(/^[0-9][0-9A-Za-z.+~:-]{0,10}$/), { nil: undefined }),
        (type, namespace, name, version) => {
          let purl: string;
          try {
            purl = new PackageURL(type, namespace, name, version, undefined, undefined).toString();
          } catch {
            return;
          }
          const loose = purlLooseName(purl);
          if (loose !== undefined) expect(loose).toBe(looseName(identityFromPurl(purl).name));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
