import { asArray, asNumber, asString, isObject, type KubeObject } from '../model/kube.js';
import { podModelOf, type ContainerModel, type PodModel } from '../model/pod.js';
import { formatQuantity, parseQuantity } from '../model/resources.js';
import { atLeast } from '../model/version.js';
import { joinPath, objectsIn, POD_BEARING_KINDS } from '../model/workload.js';
import type { EvaluationContext, Rule, RuleFinding } from '../engine/types.js';

/** autoscaling/v1 and a v2 HPA without metrics both default to 80% CPU utilization (pkg/apis/autoscaling: DefaultCPUUtilization). */
const DEFAULT_CPU_UTILIZATION = 80;

interface ResourceMetric {
  resource: string;
  /** `Utilization` divides usage by requests; `AverageValue` compares raw usage. */
  utilization: boolean;
  /** The utilization percentage (without `%`) or average value the HPA aims for, when the manifest says. */
  target?: string;
  path: string;
  /** Set when the metric comes from the API's default rather than the manifest. */
  defaulted?: string;
}

type HpaFacts = {
  resource: string;
  /** The container the HPA should follow. */
  app: string;
  /** `missing-request`: a container has no request, so the utilization cannot be computed; else `utilization` or `value`. */
  metric: 'missing-request' | 'utilization' | 'value';
  /** The first container without a request, '' when all have one. */
  missing: string;
};

/**
 * A `Resource` metric sums the usage of every container of the pod (regular and native sidecars) and, for
 * `Utilization`, divides it by the sum of their requests; one missing request fails the whole metric
 * (pkg/controller/podautoscaler/replica_calculator.go, calculatePodRequestsFromContainers).
 */
export const hpaPodAverageOnMultiContainer: Rule<HpaFacts> = {
  id: 'hpa-pod-average-on-multi-container',
  defaultSeverity: 'warn',
  kinds: ['HorizontalPodAutoscaler'],
  summary: 'An HPA scales a multi-container workload on a pod-wide Resource metric: the sidecars\' usage hides the app\'s load.',
  description:
    'A HorizontalPodAutoscaler `Resource` metric (and autoscaling/v1\'s `targetCPUUtilizationPercentage`) looks at ' +
    'the whole pod: the usage of every long-running container, sidecars included, is summed and, for a ' +
    '`Utilization` target, divided by the sum of their requests. A mostly idle sidecar with a sizeable request ' +
    'dilutes the app\'s load, so the app saturates while the pod average stays under the target and the HPA ' +
    'scales out late or never; a busy sidecar (a mesh proxy under traffic) scales the app for work it does not ' +
    'do. A container without a request for the resource makes the utilization impossible to compute and the HPA ' +
    'stops scaling (`missing request for cpu in container …`). Fix: use a `ContainerResource` metric that names ' +
    'the app container (`type: ContainerResource`, `containerResource.container: <app>`), stable since ' +
    'Kubernetes 1.30 and on by default since 1.27.',
  example: {
    bad: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-app
  namespace: shop
spec:
  selector:
    matchLabels: { app: web-app }
  template:
    metadata:
      labels: { app: web-app }
    spec:
      containers:
        - name: app
          image: registry.example.com/web-app:3.2.0
          resources:
            requests: { cpu: 250m, memory: 256Mi }
        - name: log-shipper
          image: cr.fluentbit.io/fluent/fluent-bit:3.2.4
          resources:
            requests: { cpu: 250m, memory: 64Mi }
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web-app-hpa
  namespace: shop
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web-app
  minReplicas: 3
  maxReplicas: 30
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: 70
`,
    fixed: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-app
  namespace: shop
spec:
  selector:
    matchLabels: { app: web-app }
  template:
    metadata:
      labels: { app: web-app }
    spec:
      containers:
        - name: app
          image: registry.example.com/web-app:3.2.0
          resources:
            requests: { cpu: 250m, memory: 256Mi }
        - name: log-shipper
          image: cr.fluentbit.io/fluent/fluent-bit:3.2.4
          resources:
            requests: { cpu: 250m, memory: 64Mi }
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web-app-hpa
  namespace: shop
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web-app
  minReplicas: 3
  maxReplicas: 30
  metrics:
    - type: ContainerResource
      containerResource:
        name: cpu
        container: app
        target:
          type: Utilization
          averageUtilization: 70
`,
  },
  related: {
    kinds: POD_BEARING_KINDS,
    // An HPA's admission request does not carry the workload it scales: the rule runs in audits only.
    required: true,
    of(object) {
      const ref = object.kind === 'HorizontalPodAutoscaler' && isObject(object.spec) && isObject(object.spec.scaleTargetRef) ? object.spec.scaleTargetRef : undefined;
      const kind = asString(ref?.kind);
      const name = asString(ref?.name);
      return kind && name ? [{ kind, name }] : [];
    },
  },
  problem: ({ resource, app, metric, missing }) => {
    if (metric === 'missing-request') return `HPA stalls: '${missing}' has no ${resource} request`;
    if (metric === 'value') return `HPA sums ${resource} of '${app}' with sidecars`;
    return `HPA averages ${resource} of '${app}' with sidecars`;
  },
  evaluate({ object, objectPath, context }) {
    if (asString(object.kind) !== 'HorizontalPodAutoscaler' || !isObject(object.spec)) return [];
    const target = targetPod(object, context);
    if (!target || target.longRunning.length < 2) return [];
    const main = target.main ?? target.longRunning[0]!;
    const findings: RuleFinding<HpaFacts>[] = [];
    // Metrics repeat: what a message says of the pod is worked out once per resource, not once per metric.
    const pod = podFacts(target, main);
    for (const metric of resourceMetrics(object)) {
      const missing = metric.utilization ? pod.perResource(metric.resource).missing[0]?.name ?? '' : '';
      findings.push({
        path: joinPath(objectPath, metric.path),
        facts: {
          resource: metric.resource,
          app: main.name,
          metric: !metric.utilization ? 'value' : missing ? 'missing-request' : 'utilization',
          missing,
        },
        message: describeProblem(metric, target, main, pod),
        fix: describeFix(metric, main, context),
      });
    }
    return findings;
  },
  cel: () => ({
    unavailable: 'webhook-only',
    reason:
      'it reads two objects together, the HorizontalPodAutoscaler and the workload it scales, and an admission policy sees one ' +
      'object; the webhook is not sent HPAs either: `podpatterns audit` and the cluster audit check it',
  }),
};

/** The pod of the workload `spec.scaleTargetRef` names, looked up among the related objects in the HPA's namespace. */
function targetPod(hpa: KubeObject, context: EvaluationContext): PodModel | undefined {
  const spec = hpa.spec as Record<string, unknown>;
  const ref = isObject(spec.scaleTargetRef) ? spec.scaleTargetRef : undefined;
  const kind = asString(ref?.kind);
  const name = asString(ref?.name);
  if (!kind || !name) return undefined;
  const namespace = namespaceOf(hpa);
  const candidates = (context.related ?? [])
    .flatMap((related) => objectsIn(related).map(({ object }) => object))
    .filter((object) => object.kind === kind && isObject(object.metadata) && object.metadata.name === name);
  // A manifest without a namespace lands in whatever namespace it is applied to: prefer an exact match.
  const target =
    candidates.find((object) => namespaceOf(object) === namespace) ??
    candidates.find((object) => namespaceOf(object) === undefined || namespace === undefined);
  return target ? podModelOf(target) : undefined;
}

function namespaceOf(object: KubeObject): string | undefined {
  return isObject(object.metadata) ? asString(object.metadata.namespace) : undefined;
}

function resourceMetrics(hpa: KubeObject): ResourceMetric[] {
  const spec = hpa.spec as Record<string, unknown>;
  const v1Target = asNumber(spec.targetCPUUtilizationPercentage);
  if (v1Target !== undefined) {
    return [{ resource: 'cpu', utilization: true, target: String(v1Target), path: 'spec.targetCPUUtilizationPercentage' }];
  }
  const metrics = asArray(spec.metrics);
  if (metrics.length === 0) {
    const v1 = asString(hpa.apiVersion) === 'autoscaling/v1';
    return [{
      resource: 'cpu',
      utilization: true,
      target: String(DEFAULT_CPU_UTILIZATION),
      path: v1 ? 'spec.targetCPUUtilizationPercentage' : 'spec.metrics',
      defaulted: v1 ? 'targetCPUUtilizationPercentage is unset' : 'spec.metrics is empty',
    }];
  }
  const found: ResourceMetric[] = [];
  metrics.forEach((metric, index) => {
    if (!isObject(metric) || metric.type !== 'Resource' || !isObject(metric.resource)) return;
    const resource = asString(metric.resource.name) ?? 'cpu';
    const target = isObject(metric.resource.target) ? metric.resource.target : undefined;
    // v2/v2beta2 nest the target; v2beta1 has targetAverageUtilization / targetAverageValue.
    const percent = asNumber(target?.averageUtilization) ?? asNumber(metric.resource.targetAverageUtilization);
    const value = target?.averageValue ?? metric.resource.targetAverageValue;
    const utilization = target ? target.type !== 'AverageValue' && target.type !== 'Value' : percent !== undefined || value === undefined;
    const written = utilization ? percent : value;
    found.push({
      resource,
      utilization,
      ...(typeof written === 'number' || typeof written === 'string' ? { target: String(written) } : {}),
      path: `spec.metrics[${index}].type`,
    });
  });
  return found;
}

/** At most this many container names are spelled out in a message; the rest are counted. */
const LISTED = 10;

interface PodFacts {
  /** `'app', 'proxy'` (the long-running containers, the first LISTED of them). */
  names: string;
  /** Per resource: the containers without a request for it, and the dilution sentence. */
  perResource(resource: string): { missing: ContainerModel[]; dilution: string };
}

function podFacts(pod: PodModel, main: ContainerModel): PodFacts {
  const shown = pod.longRunning.slice(0, LISTED).map((c) => `'${c.name}'`);
  if (pod.longRunning.length > LISTED) shown.push(`${pod.longRunning.length - LISTED} more`);
  const cache = new Map<string, { missing: ContainerModel[]; dilution: string }>();
  return {
    names: shown.join(', '),
    perResource(resource) {
      let facts = cache.get(resource);
      if (!facts) {
        facts = { missing: missingRequests(resource, pod), dilution: dilution(resource, pod, main) };
        cache.set(resource, facts);
      }
      return facts;
    },
  };
}

function describeProblem(metric: ResourceMetric, pod: PodModel, main: ContainerModel, facts: PodFacts): string {
  const names = facts.names;
  const workload = `${pod.kind}/${pod.resource.name}`;
  const origin = metric.defaulted ? ` (${metric.defaulted}, so the API defaults to ${metric.target}% CPU utilization)` : '';
  if (!metric.utilization) {
    return (
      `the HPA scales ${workload} on the pod's total ${metric.resource} usage${origin}, summed over the ${pod.longRunning.length} ` +
      `long-running containers (${names}): the sidecars' own usage moves the number, so '${main.name}' is scaled for work it does not do ` +
      `or too late for work it does.`
    );
  }
  const { missing, dilution: diluted } = facts.perResource(metric.resource);
  const base =
    `the HPA scales ${workload} on ${metric.target ? `${metric.target}% ` : ''}average ${metric.resource} utilization${origin}, computed over the ` +
    `${pod.longRunning.length} long-running containers (${names}): their usage is summed and divided by the sum of their requests`;
  if (missing.length > 0) {
    const absent = [...missing.slice(0, LISTED).map((c) => `'${c.name}'`), ...(missing.length > LISTED ? [`${missing.length - LISTED} more`] : [])];
    return (
      `${base}, and ${absent.join(', ')} ${missing.length > 1 ? 'have' : 'has'} no ${metric.resource} ` +
      `request, so the HPA cannot compute the utilization at all and stops scaling ('missing request for ${metric.resource} in container ${missing[0]!.name}').`
    );
  }
  return `${base}, so idle sidecars hide the app's load${diluted} and the HPA scales out late or never.`;
}

/** Long-running containers without a request for the resource, unless pod-level resources cover them. */
function missingRequests(resource: string, pod: PodModel): ContainerModel[] {
  const podRequest = isObject(pod.spec.resources) && isObject(pod.spec.resources.requests)
    ? parseQuantity(pod.spec.resources.requests[resource])
    : undefined;
  return podRequest === undefined ? pod.longRunning.filter((c) => c.request(resource) === undefined) : [];
}

/** What the pod average reads when the app is at 100% of its request and the sidecars are idle. */
function dilution(resource: string, pod: PodModel, main: ContainerModel): string {
  const mainRequest = main.request(resource);
  const total = pod.longRunning.reduce((sum, c) => sum + (c.request(resource) ?? 0), 0);
  if (mainRequest === undefined || total <= 0 || mainRequest >= total) return '';
  const reads = Math.round((mainRequest / total) * 100);
  return `: with ${formatQuantity(mainRequest, resource)} of ${formatQuantity(total, resource)} requested by '${main.name}', the app at 100% of its request reads as ${reads}%`;
}

function describeFix(metric: ResourceMetric, main: ContainerModel, context: EvaluationContext): string {
  const target = metric.utilization
    ? `target: {type: Utilization, averageUtilization: ${metric.target ?? '<percent>'}}`
    : `target: {type: AverageValue, averageValue: ${metric.target ?? '<quantity>'}}`;
  const gate = atLeast(context.kubernetesVersion, 1, 27)
    ? ''
    : ' Before Kubernetes 1.27 this needs the HPAContainerMetrics feature gate; without it the API server drops the metric.';
  return (
    `Replace it (in autoscaling/v2) with \`type: ContainerResource\` and \`containerResource: {name: ${metric.resource}, ` +
    `container: ${main.name}, ${target}}\` so only '${main.name}' drives scaling.${gate}`
  );
}
