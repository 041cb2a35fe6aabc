import type { AlertSource } from '../alert.ts';
import { alertmanager } from './alertmanager.ts';
import type { SourceAdapter } from './common.ts';
import { falco } from './falco.ts';
import { generic } from './generic.ts';
import { guardduty } from './guardduty.ts';
import { inspector } from './inspector.ts';

export type { SourceAdapter } from './common.ts';

export const adapters: Record<AlertSource, SourceAdapter<never>> = {
  falco,
  guardduty,
  alertmanager,
  generic,
  inspector,
} as unknown as Record<AlertSource, SourceAdapter<never>>;
