/** Supply-chain matching: advisories × SBOMs, exactly, per ecosystem. Used by `firebreak sbom match` and the supply-chain runbook. */
export { AdvisoryInputError, advisoryFromPurl, maxAdvisoryBytes, parseDigest, parseOsv, readOsvFile } from './advisories.ts';
export type { AdvisorySet, OsvAdvisory } from './advisories.ts';
export { identityFromPurl, identityKey, InvalidPurlError, looseName, normaliseName, purlLooseName } from './identity.ts';
export type { Identity } from './identity.ts';
export { AdvisoryIndex, Matcher, matchSboms } from './matcher.ts';
export type { Affected, MatchCounts, MatchReport, Undecidable, Unreadable } from './matcher.ts';
export { maxNesting, maxSbomBytes, parseSbom } from './sbom.ts';
export type { Component, ReadOptions, Sbom, SbomResult, Subject } from './sbom.ts';
export { compareVersions, orderedEcosystems } from './versions/index.ts';
export type { Order, OrderedEcosystem } from './versions/index.ts';
export * from './sources/index.ts';
