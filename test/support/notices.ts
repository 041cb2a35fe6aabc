import type { Notice, Notifier } from '../../activities/index.ts';

/** A notifier that keeps every notice, for tests to read. */
export function recordingNotifier(): Notifier & { notices: Notice[] } {
  const notices: Notice[] = [];
  return {
    notices,
    send(notice) {
      notices.push(notice);
      return Promise.resolve();
    },
  };
}
