/** SBOM sources the supply-chain runbook scans: a directory, an S3 prefix, an OCI registry. */
export { directorySource, fileEntry, listSbomFiles, readSbomFile, SbomPathError } from './directory.ts';
export { readEntry, scanSource } from './scan.ts';
export type { ScanOptions, ScanSummary } from './scan.ts';
export { SbomSourceError, SbomSourceRefusedError, SbomSourceUnavailableError, SbomTooLargeError } from './types.ts';
export type { ImageSubject, NoSbomEntry, SbomEntry, SbomSource, SourceEntry, UnreadableEntry } from './types.ts';
export { s3Source } from './s3.ts';
export type { S3SourceOptions } from './s3.ts';
export { registrySource, sbomArtifactTypes } from './registry.ts';
export type { ReferrersPath, RegistryImage, RegistrySourceOptions } from './registry.ts';
