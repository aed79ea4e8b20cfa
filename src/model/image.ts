import { memoized } from './memo.js';

export interface ImageRef {
  /** Registry and path without tag or digest, e.g. `docker.io/istio/proxyv2`. */
  repository: string;
  /** Last path segment, e.g. `proxyv2`. */
  name: string;
  tag?: string;
  digest?: string;
}

/**
 * Splits an image reference the way the container runtime does: a `:` after the last `/` starts the tag. The
 * result is shared by every caller with the same reference: read it, never change it.
 */
export const parseImage: (image: string) => Readonly<ImageRef> = memoized(splitImage);

function splitImage(image: string): ImageRef {
  let rest = image.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const name = rest.slice(rest.lastIndexOf('/') + 1);
  return { repository: rest, name, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}
