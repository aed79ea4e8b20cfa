import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiextensionsV1Api } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { kubeconfigAccess } from '../../../src/kube/kubeconfig.js';
import { KubeApi } from '../../../src/kube/api.js';
import type { ReportApi } from '../../../src/report/policyreport.js';
import { refusalOf, type Clients } from '../support/cluster.js';
import { waitFor } from '../support/network.js';

/** The CRDs the OpenReports project publishes (see the header of the file for its origin). */
const OPENREPORTS_CRDS = join(import.meta.dirname, 'openreports-crds.yaml');

/** An OpenAPI v3 schema as the API server reads it (`enum`, `x-kubernetes-*`: not the typed client's spellings). */
type JsonSchema = Record<string, unknown>;

const string: JsonSchema = { type: 'string' };
const integer: JsonSchema = { type: 'integer' };

const objectReference: JsonSchema = {
  type: 'object',
  properties: { apiVersion: string, kind: string, namespace: string, name: string, uid: string, resourceVersion: string, fieldPath: string },
};

/**
 * The fields and constraints of the wg-policy PolicyReport v1alpha2 schema that podpatterns writes (as in
 * Kyverno's config/crds/policyreport/wgpolicyk8s.io_policyreports.yaml): the result and severity enums, the
 * required policy and timestamp fields, string-only properties. Fields outside it are pruned on write, so a
 * report read back equal to the one sent holds nothing the real CRD would drop.
 */
const schema: JsonSchema = {
  type: 'object',
  properties: {
    apiVersion: string,
    kind: string,
    metadata: { type: 'object' },
    scope: objectReference,
    scopeSelector: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
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
          severity: { type: 'string', enum: ['critical', 'high', 'low', 'medium', 'info'] },
          result: { type: 'string', enum: ['pass', 'fail', 'warn', 'error', 'skip'] },
          scored: { type: 'boolean' },
          message: string,
          resources: { type: 'array', items: objectReference },
          resourceSelector: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          timestamp: { type: 'object', required: ['nanos', 'seconds'], properties: { seconds: { type: 'integer', format: 'int64' }, nanos: { type: 'integer', format: 'int32' } } },
          properties: { type: 'object', additionalProperties: string },
        },
      },
    },
  },
};

/** No wg-policy CRD is vendored: this one is written from the fields of Kyverno's. */
const wgPolicyDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'policyreports.wgpolicyk8s.io' },
  spec: {
    group: 'wgpolicyk8s.io',
    scope: 'Namespaced',
    names: { kind: 'PolicyReport', listKind: 'PolicyReportList', plural: 'policyreports', singular: 'policyreport', shortNames: ['polr'] },
    versions: [{ name: 'v1alpha2', served: true, storage: true, schema: { openAPIV3Schema: schema } }],
  },
};

/** The CRDs of each report API, by name. */
export const REPORT_CRDS: Readonly<Record<ReportApi, readonly string[]>> = {
  openreports: ['reports.openreports.io', 'clusterreports.openreports.io'],
  wgpolicy: ['policyreports.wgpolicyk8s.io'],
};

/**
 * Installs the CRDs of a report API unless the cluster has them (an existing cluster running Kyverno), and waits
 * until the API server serves them. They are created through podpatterns' own client, as plain JSON: the typed
 * client does not translate the schema keys its models spell differently (`_enum`, `x_kubernetes_*`) inside
 * nested schemas, so the API server would get a schema without its enums. Returns how to undo what it did.
 */
export async function installReportCrds(clients: Clients, api: ReportApi): Promise<() => Promise<void>> {
  const extensions = clients.config.makeApiClient(ApiextensionsV1Api);
  if (await reportCrdsInstalled(clients, api)) return async () => undefined;
  const definitions =
    api === 'wgpolicy'
      ? [wgPolicyDefinition]
      : parseAllDocuments(await readFile(OPENREPORTS_CRDS, 'utf8'))
          .map((document) => document.toJS() as unknown)
          .filter((document) => document !== null);
  const kube = new KubeApi({ access: kubeconfigAccess(clients.config), source: 'the e2e kubeconfig' });
  for (const body of definitions) await kube.call({ verb: 'create', path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', body });
  for (const name of REPORT_CRDS[api]) {
    await waitFor(`${name} established`, async () => {
      const crd = await extensions.readCustomResourceDefinition({ name });
      return crd.status?.conditions?.some((condition) => condition.type === 'Established' && condition.status === 'True') ? true : undefined;
    });
  }
  return async () => {
    for (const name of REPORT_CRDS[api]) await extensions.deleteCustomResourceDefinition({ name });
  };
}

export async function reportCrdsInstalled(clients: Clients, api: ReportApi): Promise<boolean> {
  try {
    await clients.config.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: REPORT_CRDS[api][0]! });
    return true;
  } catch (error) {
    if (refusalOf(error)?.code === 404) return false;
    throw error;
  }
}
