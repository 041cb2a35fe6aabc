/** SBOM files and directories of them on local disk: what `firebreak sbom match <path>…` reads. */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ReadOptions, SbomResult } from '../sbom.ts';
import { readEntry } from './scan.ts';
import { SbomTooLargeError, type SbomEntry, type SbomSource } from './types.ts';

/** A path given as an SBOM that is neither a file nor a directory holding *.json files. */
export class SbomPathError extends Error {
  override readonly name = 'SbomPathError';
}

/** The SBOM files named: files as given, directories searched (recursively) for *.json, sorted for a stable report; each file once. */
export async function listSbomFiles(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    let s;
    try {
      s = await stat(path);
    } catch (e) {
      throw new SbomPathError(`cannot read SBOM path ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    if (s.isFile()) {
      files.push(path);
      continue;
    }
    if (!s.isDirectory()) throw new SbomPathError(`${path} is neither a file nor a directory: pass SBOM files or directories of them`);
    const found = (await readdir(path, { recursive: true, withFileTypes: true }))
      .filter((d) => d.isFile() && d.name.endsWith('.json'))
      .map((d) => join(d.parentPath, d.name))
      .sort();
    if (found.length === 0) throw new SbomPathError(`${path} holds no *.json files: pass a directory of CycloneDX or SPDX JSON SBOMs`);
    files.push(...found);
  }
  const seen = new Set<string>();
  return files.filter((f) => !seen.has(resolve(f)) && seen.add(resolve(f)));
}

/** One file as a source entry: its size is checked before it is read. */
export function fileEntry(file: string): SbomEntry {
  return {
    kind: 'sbom',
    name: file,
    read: async (maxBytes) => {
      const s = await stat(file);
      if (s.size > maxBytes) throw new SbomTooLargeError(s.size, maxBytes);
      return readFile(file, 'utf8');
    },
  };
}

/**
 * SBOM files and directories (searched recursively for *.json). The paths are
 * checked when listing starts: a missing path is bad input (SbomPathError),
 * not an unreadable SBOM.
 */
export function directorySource(paths: string[]): SbomSource {
  return {
    description: `SBOM files ${paths.join(', ')}`,
    async *list() {
      for (const file of await listSbomFiles(paths)) yield fileEntry(file);
    },
  };
}

/** Reads and parses one SBOM file, refusing files over the size limit before reading them. */
export function readSbomFile(file: string, options: ReadOptions = {}): Promise<SbomResult> {
  return readEntry(fileEntry(file), { sizeHint: '--max-sbom-mib raises it', ...options });
}
