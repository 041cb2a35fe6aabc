/** The test registry (distribution, started by the global setup), with the sandbox's OCI pusher. */
import { OciPusher } from '../../src/sandbox/oci.ts';
import { sandbox } from './servers.ts';

export type { Descriptor } from '../../src/sandbox/oci.ts';

export class TestRegistry extends OciPusher {
  constructor() {
    super(sandbox().registryUrl);
  }
}
