import { describe, expect, it } from 'vitest';
import { emptyScope, loadScope, parseScope, ScopeFileError } from '../../src/config/scope.ts';

describe('the supply-chain scope file (FIREBREAK_SUPPLY_CHAIN_SCOPE)', () => {
  it('defaults to searching only the worker cluster, blocking from the firebreak namespace', () => {
    expect(loadScope(undefined)).toEqual(emptyScope);
    expect(emptyScope).toMatchObject({ sbomSources: [], registries: [], checkouts: [], secrets: [], blockNamespace: 'firebreak' });
  });

  it('takes relative SBOM directories and checkouts from the file’s own directory', () => {
    const scope = parseScope('sbomSources: [{directory: sboms}]\ncheckouts: [repos/shop]\n', '/etc/firebreak/scope.yaml');

    expect(scope.sbomSources).toEqual([{ directory: '/etc/firebreak/sboms' }]);
    expect(scope.checkouts).toEqual(['/etc/firebreak/repos/shop']);
  });

  it('refuses a generated rotation of a secret Firebreak cannot reissue, naming the field', () => {
    const text = 'secrets:\n  - {name: stripe, store: third-party, rotation: generate, usedBy: ["workload:shop/Deployment/web"]}\n';

    expect(() => parseScope(text, 'scope.yaml')).toThrow(ScopeFileError);
    expect(() => parseScope(text, 'scope.yaml')).toThrow(/secrets\.0: rotation: generate is only for Secrets Manager/);
  });

  it('refuses a usedBy entry that names nothing it can match, and an unknown key', () => {
    const text = 'secrets:\n  - {name: db, store: kubernetes, usedBy: ["the web app"]}\nclusters: []\n';

    expect(() => parseScope(text, 'scope.yaml')).toThrow(/secrets\.0\.usedBy\.0: expected workload:<namespace>\/<Kind>\/<name>/);
    expect(() => parseScope(text, 'scope.yaml')).toThrow(/clusters/);
  });

  it('says a missing file is missing, with the variable that names it', () => {
    expect(() => loadScope('/nonexistent/scope.yaml')).toThrow(/\/nonexistent\/scope\.yaml \(FIREBREAK_SUPPLY_CHAIN_SCOPE\).*ENOENT/s);
  });
});

describe('the scope a worker without a scope file acts with', () => {
  it('is the scope file schema\'s own defaults', async () => {
    const { defaultScope } = await import('../../activities/supply-chain/index.ts');
    expect(defaultScope).toEqual(emptyScope);
  });
});
