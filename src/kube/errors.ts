import { PodpatternsError, errorMessage } from '../errors.js';
import { ApiStatusError, type KubeApi } from './api.js';

/**
 * A failed request as the user needs to read it: what podpatterns was doing (`list pods in namespace shop`),
 * and for a refusal the API server's own words, which name the user, verb and resource.
 */
export function describeApiError(error: unknown, api: Pick<KubeApi, 'server' | 'source'>, doing: string): PodpatternsError {
  if (error instanceof PodpatternsError) return error;
  if (!(error instanceof ApiStatusError)) return new PodpatternsError('PODPATTERNS_ERR_CLUSTER', `${doing}: ${errorMessage(error)}`, { cause: error });
  const message =
    error.code === 401
      ? `${doing}: the API server ${api.server} refused the credentials of ${api.source} (401 ${error.serverMessage})`
      : error.code === 403
        ? `forbidden to ${doing}: ${error.serverMessage}`
        : `${doing}: ${error.code} ${error.reason || 'error'} from ${api.server}: ${error.serverMessage}`;
  return new PodpatternsError('PODPATTERNS_ERR_CLUSTER', message, { cause: error });
}
