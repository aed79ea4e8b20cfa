import { asArray, asString, isObject, type KubeObject } from '../model/kube.js';
import { ApiStatusError, type KubeApi } from './api.js';
import { collectionPath, type ListedKind } from './resources.js';

interface ListPage {
  items?: unknown;
  metadata?: { continue?: unknown };
}

/**
 * The objects of one kind, a page of at most `pageSize` at a time (`limit`/`continue`), each with the
 * apiVersion and kind that list items lack. Only one page is held at once, so a cluster of 50,000 pods is
 * read in slices.
 */
export async function* listPages(api: KubeApi, kind: ListedKind, namespace: string | undefined, pageSize: number): AsyncGenerator<KubeObject[]> {
  const path = collectionPath(kind.apiVersion, kind.resource, namespace);
  let token: string | undefined;
  do {
    let page: ListPage;
    try {
      page = await api.call<ListPage>({ verb: 'list', path, query: { limit: pageSize, continue: token } });
    } catch (error) {
      // The snapshot behind a continue token is compacted away after a few minutes: the 410 answer carries a
      // token that goes on from the latest snapshot after the last key read (apimachinery ListMeta.continue).
      if (token !== undefined && error instanceof ApiStatusError && error.code === 410 && error.continueToken) {
        token = error.continueToken;
        continue;
      }
      throw error;
    }
    yield asArray(page.items)
      .filter(isObject)
      .map((item) => ({ ...item, apiVersion: kind.apiVersion, kind: kind.kind }) as KubeObject);
    token = asString(page.metadata?.continue) || undefined;
  } while (token !== undefined);
}

/** The names of every namespace, paged like the workloads. */
export async function listNamespaces(api: KubeApi, pageSize: number): Promise<string[]> {
  const names: string[] = [];
  const namespaces: ListedKind = { kind: 'Namespace', apiVersion: 'v1', resource: 'namespaces' };
  for await (const page of listPages(api, namespaces, undefined, pageSize)) {
    for (const namespace of page) {
      const name = isObject(namespace.metadata) ? asString(namespace.metadata.name) : undefined;
      if (name) names.push(name);
    }
  }
  return names;
}
