/**
 * Why a file or directory could not be read, in words, from Node's error
 * code (never its message): one phrase for every place that reads a file the
 * user named (policies, --input, SBOMs).
 */
export function readProblem(e: unknown, kind: 'file' | 'directory'): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return `no such ${kind}`;
  if (code === 'EISDIR') return 'is a directory, not a file';
  if (code === 'ENOTDIR') return 'is not a directory';
  if (code === 'EACCES' || code === 'EPERM') return `cannot read the ${kind}: permission denied`;
  return `cannot read the ${kind}: ${(e instanceof Error ? e.message : String(e)).split('\n')[0] ?? ''}`;
}
