import type { MetadataStore } from '../../metadata/store';
import type { Credential, Identity } from './identity';

/** Access keys kept in the metadata store, behind the root key held in process. */
export class MetadataIdentity implements Identity {
  constructor(private readonly meta: MetadataStore, private readonly root: Credential) {}

  async credential(accessKeyId: string): Promise<Credential | undefined> {
    if (accessKeyId === this.root.accessKeyId) return this.root;
    return this.meta.getAccessKey(accessKeyId);
  }
}
