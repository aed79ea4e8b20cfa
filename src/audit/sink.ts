import type { InputError, ManifestText } from '../input/manifest.js';
import type { ManifestSource } from '../input/sources.js';

/** Where documents read go to be parsed and checked, in input order: this thread, or worker threads. */
export interface DocumentSink {
  /** Documents of `source` follow; `index` is the number of the next YAML document of it. */
  begin(source: ManifestSource, index: number): void;
  add(text: ManifestText | InputError): Promise<void> | void;
  /** Once every source is read: waits until everything is checked. */
  finish(): Promise<void>;
  close(): Promise<void>;
}
