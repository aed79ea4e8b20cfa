import { ApiextensionsV1Api, type V1CustomResourceDefinition, type V1JSONSchemaProps } from '@kubernetes/client-node';
import { refusalOf, type Clients } from '../support/cluster.js';
import { waitFor } from '../support/network.js';

const NAME = 'policyreports.wgpolicyk8s.io';

const string: V1JSONSchemaProps = { type: 'string' };
const integer: V1JSONSchemaProps = { type: 'integer' };

const objectReference: V1JSONSchemaProps = {
  type: 'object',
  properties: { apiVersion: string, kind: string, namespace: string, name: string, uid: string, resourceVersion: string, fieldPath: string },
};

/**
 * The fields and constraints of the wg-policy PolicyReport v1alpha2 schema that podpatterns writes (as in
 * Kyverno's config/crds/policyreport/wgpolicyk8s.io_policyreports.yaml): the result and severity enums, the
 * required policy and timestamp fields, string-only properties. Fields outside it are pruned on write, so a
 * report read back equal to the one sent holds nothing the real CRD would drop.
 */
const schema: V1JSONSchemaProps = {
  type: 'object',
  properties: {
    apiVersion: string,
    kind: string,
    metadata: { type: 'object' },
    scope: objectReference,
    scopeSelector: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
    summary: { type: 'object', properties: { pass: integer, fail: integer, warn: integer, error: integer, skip: integer } },
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['policy'],
        properties: {
          source: string,
          policy: string,
          rule: string,
          category: string,
          severity: { type: 'string', _enum: ['critical', 'high', 'low', 'medium', 'info'] },
          result: { type: 'string', _enum: ['pass', 'fail', 'warn', 'error', 'skip'] },
          scored: { type: 'boolean' },
          message: string,
          resources: { type: 'array', items: objectReference },
          resourceSelector: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
          timestamp: { type: 'object', required: ['nanos', 'seconds'], properties: { seconds: { type: 'integer', format: 'int64' }, nanos: { type: 'integer', format: 'int32' } } },
          properties: { type: 'object', additionalProperties: string },
        },
      },
    },
  },
};

const definition: V1CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: NAME },
  spec: {
    group: 'wgpolicyk8s.io',
    scope: 'Namespaced',
    names: { kind: 'PolicyReport', listKind: 'PolicyReportList', plural: 'policyreports', singular: 'policyreport', shortNames: ['polr'] },
    versions: [{ name: 'v1alpha2', served: true, storage: true, schema: { openAPIV3Schema: schema } }],
  },
};

/**
 * Installs the CRD unless the cluster has one (an existing cluster running Kyverno), and waits until the API
 * server serves it. Returns how to undo what it did.
 */
export async function installPolicyReportCrd(clients: Clients): Promise<() => Promise<void>> {
  const extensions = clients.config.makeApiClient(ApiextensionsV1Api);
  if (await policyReportCrdInstalled(clients)) return async () => undefined;
  await extensions.createCustomResourceDefinition({ body: definition });
  await waitFor(`${NAME} established`, async () => {
    const crd = await extensions.readCustomResourceDefinition({ name: NAME });
    return crd.status?.conditions?.some((condition) => condition.type === 'Established' && condition.status === 'True') ? true : undefined;
  });
  return async () => {
    await extensions.deleteCustomResourceDefinition({ name: NAME });
  };
}

export async function policyReportCrdInstalled(clients: Clients): Promise<boolean> {
  try {
    await clients.config.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: NAME });
    return true;
  } catch (error) {
    if (refusalOf(error)?.code === 404) return false;
    throw error;
  }
}
