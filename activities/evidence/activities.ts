import { ApplicationFailure } from '@temporalio/common';
import { InvalidEvidenceInputError, EvidenceError } from './errors.ts';
import type { EvidenceRef, EvidenceStore } from './types.ts';

/**
 * What a workflow sends to seal one item. Activity input is serialised into
 * workflow history, so only small snapshots travel this way; what the workflow
 * keeps afterwards is the returned reference, never the content.
 */
export interface SealEvidenceInput {
  incidentId: string;
  name: string;
  /** IANA media type; `application/octet-stream` when omitted. */
  mediaType?: string;
  content: string;
  /** How `content` is encoded: UTF-8 text (the default) or base64 bytes. */
  encoding?: 'utf8' | 'base64';
}

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decode(input: SealEvidenceInput): string | Uint8Array {
  const encoding = input.encoding ?? 'utf8';
  if (encoding === 'utf8') return input.content;
  if (encoding === 'base64') {
    if (!base64Pattern.test(input.content)) {
      throw new InvalidEvidenceInputError(
        `The content of "${input.name}" is not valid base64: send padded standard base64 (A-Z, a-z, 0-9, +, /, =) or set encoding to "utf8".`,
      );
    }
    return Buffer.from(input.content, 'base64');
  }
  throw new InvalidEvidenceInputError(`Unknown content encoding ${JSON.stringify(encoding)}: use "utf8" or "base64".`);
}

/**
 * Runs an evidence operation, turning typed evidence errors into Temporal
 * failures of the same type whose retryability comes from the error's class.
 */
async function asActivity<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof EvidenceError) {
      throw ApplicationFailure.create({ type: e.name, message: e.message, nonRetryable: !e.retryable });
    }
    throw e;
  }
}

/** A sealed item as the engine records it (the shape of workflows/engine/types.ts EvidenceRefSummary, which activities may not import). */
export type SealedItem = Pick<EvidenceRef, 'name' | 'sha256' | 'bytes' | 'uri'>;

/** Seals one item from inside another activity, its typed errors turned into Temporal failures of the same type. */
export async function sealItem(store: EvidenceStore, input: { incidentId: string; name: string; content: string | Uint8Array; mediaType: string }): Promise<SealedItem> {
  const r = await asActivity(() => store.seal(input));
  return { name: r.name, sha256: r.sha256, bytes: r.bytes, uri: r.uri };
}

/** The evidence activities the worker registers, over whichever store the configuration chose. */
export function createEvidenceActivities(store: EvidenceStore) {
  // Arrow functions: Temporal calls activities detached from this object.
  return {
    /** Seals one item and returns its reference (URI, SHA-256, size, capture time). */
    sealEvidence: async (input: SealEvidenceInput): Promise<EvidenceRef> =>
      asActivity(async () =>
        store.seal({ incidentId: input.incidentId, name: input.name, mediaType: input.mediaType, content: decode(input) }),
      ),

    /** The incident's manifest in capture order: references only, no content. */
    evidenceManifest: async (incidentId: string): Promise<EvidenceRef[]> => asActivity(async () => store.manifest(incidentId)),
  };
}

export type EvidenceActivities = ReturnType<typeof createEvidenceActivities>;
