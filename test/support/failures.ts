import { ApplicationFailure } from '@temporalio/common';

/** The typed failure a call was refused with: activities called directly (not through Temporal) throw ApplicationFailure themselves. */
export async function refusal(call: () => Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await call();
  } catch (e) {
    if (e instanceof ApplicationFailure) return e;
    throw e;
  }
  throw new Error('expected the call to be refused');
}
