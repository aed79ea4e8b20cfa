/**
 * podpatterns' verdicts on 40 real upstream manifests (the real-world corpus, described in its INDEX.md; found
 * through PODPATTERNS_REAL_WORLD, see support/corpus.ts).
 * The tables below encode INDEX.md: the true positives it names must be found, the traps it lists must be
 * left alone, and nothing may be denied but the true positives. Rules not shipped (yet) are left out of the
 * tables by id; everything else runs.
 */
import { readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { NEWEST_KNOWN_VERSION } from '../src/model/version.js';
import { defaultPolicy } from '../src/policy/policy.js';
import { auditPaths } from '../src/audit/files.js';
import type { AuditReport, LocatedFinding } from '../src/report/types.js';
import { ALL_RULES } from '../src/rules/index.js';
import { realWorldCorpus } from './support/corpus.js';

const CORPUS = realWorldCorpus.dir;

interface Case {
  rule: string;
  file: string;
  /** `Kind/name`, or `*` for every resource of the file. */
  resource: string;
  /** The container the finding is about; any when left out. */
  container?: string;
}

const at = (rule: string, file: string, resources: string[], container?: string): Case[] =>
  resources.map((resource) => ({ rule, file, resource, ...(container !== undefined && { container }) }));
const each = (rule: string, file: string, resource: string, containers: string[]): Case[] => containers.map((container) => ({ rule, file, resource, container }));

const ISTIO_CLASSIC = 'istio-injected-classic-sidecar.yaml';
const ISTIO_NATIVE = 'istio-injected-native-sidecar.yaml';
const ISTIO_WORKLOADS_CLASSIC = ['Pod/hellopod', 'ReplicaSet/hello', 'StatefulSet/hello', 'DaemonSet/hello', 'Job/pi', 'CronJob/hellocron'];
const ISTIO_WORKLOADS_NATIVE = ['Deployment/hello', 'Pod/hello', 'StatefulSet/hello', 'DaemonSet/hello', 'Job/pi', 'CronJob/hellocron'];
const LINKERD_CONTROL_PLANE = ['Deployment/linkerd-identity', 'Deployment/linkerd-destination', 'Deployment/linkerd-proxy-injector'];
const WEBSITE_CLASSIC = 'k8s-website-classic-multicontainer.yaml';
const WEBSITE_NATIVE = 'k8s-website-native-sidecars.yaml';

/** The only deny findings INDEX.md names as true positives ("Strongest true-positive candidates"). */
const ALLOWED_DENIALS: Case[] = [{ rule: 'port-conflict', file: ISTIO_NATIVE, resource: 'Pod/hello' }];

/** True positives INDEX.md names: each must be found. */
const MUST_FIRE: Case[] = [
  // other-sidecar (native) and hello both declare containerPort 80/TCP, both named http.
  ...ALLOWED_DENIALS,
  ...at('duplicate-port-name', ISTIO_NATIVE, ['Pod/hello'], 'other-sidecar'),
  // istio-proxy / the tail -F log shipper never exit, so the Job never completes.
  ...at('classic-sidecar-in-job', ISTIO_CLASSIC, ['Job/pi', 'CronJob/hellocron'], 'istio-proxy'),
  ...at('classic-sidecar-in-job', WEBSITE_CLASSIC, ['Job/myjob'], 'logshipper'),
  // Resource cpu Utilization on wordpress + cloudsql-proxy.
  ...at('hpa-pod-average-on-multi-container', 'gke-samples-sidecars-hpa.yaml', ['HorizontalPodAutoscaler/wordpress-hpa']),
  ...at('memory-emptydir-no-size-limit', 'bitnami-postgresql-metrics.yaml', ['StatefulSet/postgresql']),
  ...at('memory-emptydir-no-size-limit', 'bitnami-airflow.yaml', ['StatefulSet/airflow-postgresql']),
  ...at('memory-emptydir-no-size-limit', 'k8s-examples-ai-vllm.yaml', ['Deployment/vllm-gemma-deployment']),
  ...at('memory-emptydir-no-size-limit', 'kube-prometheus-manifests.yaml', ['Deployment/grafana']),
  ...at('memory-emptydir-no-size-limit', ISTIO_CLASSIC, ISTIO_WORKLOADS_CLASSIC),
  ...at('memory-emptydir-no-size-limit', ISTIO_NATIVE, ISTIO_WORKLOADS_NATIVE),
  ...at('memory-emptydir-no-size-limit', 'linkerd-inject-native-sidecar.yaml', ['Deployment/web', 'Pod/vote-bot']),
  ...at('memory-emptydir-no-size-limit', 'linkerd-install-default.yaml', LINKERD_CONTROL_PLANE),
  ...at('memory-emptydir-no-size-limit', 'linkerd-install-ha.yaml', LINKERD_CONTROL_PLANE),
  ...at('shared-process-namespace', 'istio-spire-quickstart.yaml', ['Deployment/spire-server']),
  ...at('shared-process-namespace', 'metallb-frr-prometheus.yaml', ['DaemonSet/speaker']),
  ...at('shared-process-namespace', WEBSITE_CLASSIC, ['Pod/nginx']),
  ...at('host-network-sidecars', 'kube-prometheus-manifests.yaml', ['DaemonSet/node-exporter']),
  ...at('host-network-sidecars', 'istio-spire-quickstart.yaml', ['DaemonSet/spire-agent']),
  ...at('host-network-sidecars', 'metallb-frr-prometheus.yaml', ['DaemonSet/speaker']),
  ...at('host-network-sidecars', 'calico-canal.yaml', ['DaemonSet/canal']),
  ...at('host-network-sidecars', 'csi-driver-nfs.yaml', ['Deployment/csi-nfs-controller', 'DaemonSet/csi-nfs-node']),
  ...each('privileged-sidecar', 'csi-driver-host-path.yaml', 'StatefulSet/csi-hostpathplugin', ['node-driver-registrar', 'csi-attacher', 'csi-provisioner', 'csi-resizer', 'csi-snapshotter']),
  ...at('privileged-sidecar', 'calico-canal.yaml', ['DaemonSet/canal'], 'kube-flannel'),
  ...at('privileged-sidecar', 'calico-csi-driver-and-etcd.yaml', ['DaemonSet/csi-node-driver'], 'csi-node-driver-registrar'),
  ...at('privileged-sidecar', 'istio-spire-quickstart.yaml', ['DaemonSet/spire-agent'], 'spiffe-csi-driver'),
  ...each('sidecar-missing-resources', 'argocd-ha-namespace-install.yaml', 'StatefulSet/argocd-redis-ha-server', ['sentinel', 'split-brain-fix']),
  ...at('sidecar-missing-resources', 'calico-canal.yaml', ['DaemonSet/canal'], 'kube-flannel'),
  ...at('sidecar-missing-resources', 'calico-csi-driver-and-etcd.yaml', ['DaemonSet/csi-node-driver'], 'csi-node-driver-registrar'),
  ...each('sidecar-missing-resources', 'csi-driver-host-path.yaml', 'StatefulSet/csi-hostpathplugin', [
    'node-driver-registrar', 'liveness-probe', 'csi-attacher', 'csi-provisioner', 'csi-resizer', 'csi-snapshotter', 'csi-external-health-monitor-controller',
  ]),
  ...at('sidecar-missing-resources', 'linkerd-install-default.yaml', ['Deployment/linkerd-identity', 'Deployment/linkerd-proxy-injector'], 'linkerd-proxy'),
  ...each('sidecar-missing-resources', 'linkerd-install-default.yaml', 'Deployment/linkerd-destination', ['linkerd-proxy', 'sp-validator', 'policy']),
  ...each('sidecar-missing-resources', 'linkerd-install-ha.yaml', 'Deployment/linkerd-destination', ['sp-validator', 'policy']),
  ...at('sidecar-missing-resources', 'linkerd-inject-native-sidecar.yaml', ['Deployment/web', 'Pod/vote-bot'], 'linkerd-proxy'),
  ...at('sidecar-missing-resources', 'istio-samples-misc.yaml', ['Deployment/httpbin'], 'ext-authz'),
  // The config reloader comes first and the app second: a containers[1:] heuristic gets these wrong.
  ...at('sidecar-missing-resources', 'prometheus-helm.yaml', ['Deployment/prometheus-server'], 'prometheus-server-configmap-reload'),
  ...at('sidecar-missing-resources', 'istio-addons.yaml', ['Deployment/prometheus'], 'prometheus-server-configmap-reload'),
  ...at('sidecar-missing-resources', 'istio-addons.yaml', ['StatefulSet/loki'], 'loki-sc-rules'),
  // grafana is the last container of kps-grafana.
  ...each('sidecar-missing-resources', 'kube-prometheus-stack-helm.yaml', 'Deployment/kps-grafana', ['grafana-sc-dashboard', 'grafana-sc-datasources']),
  ...each('sidecar-missing-resources', 'metallb-frr-prometheus.yaml', 'DaemonSet/speaker', ['reloader', 'frr-metrics', 'speaker']),
  ...at('sidecar-missing-resources', 'istio-spire-quickstart.yaml', ['Deployment/spire-server'], 'spire-controller-manager'),
  ...each('sidecar-missing-resources', 'istio-spire-quickstart.yaml', 'DaemonSet/spire-agent', ['spiffe-csi-driver', 'node-driver-registrar']),
  ...at('sidecar-missing-resources', 'gke-samples-sidecars-hpa.yaml', ['Deployment/custom-metric-prometheus-sd'], 'prometheus-to-sd'),
  ...at('sidecar-missing-resources', 'gke-samples-sidecars-hpa.yaml', ['Deployment/hubble-ui'], 'backend'),
  ...at('sidecar-missing-resources', ISTIO_NATIVE, ['Pod/hello'], 'other-sidecar'),
  ...at('sidecar-missing-resources', WEBSITE_CLASSIC, ['Deployment/myapp', 'Job/myjob'], 'logshipper'),
  ...at('sidecar-missing-resources', WEBSITE_CLASSIC, ['Pod/nginx'], 'shell'),
  ...at('sidecar-missing-resources', WEBSITE_CLASSIC, ['Pod/two-containers'], 'debian-container'),
  ...each('sidecar-missing-resources', WEBSITE_CLASSIC, 'Pod/counter', ['count-log-1', 'count-log-2']),
  ...at('sidecar-missing-resources', WEBSITE_NATIVE, ['Deployment/myapp', 'Job/myjob'], 'logshipper'),
  ...at('sidecar-missing-resources', WEBSITE_NATIVE, ['Pod/adapter-pattern-example'], 'adapter'),
  ...at('sidecar-missing-resources', WEBSITE_NATIVE, ['Pod/ambassador-sidecar-example'], 'ambassador-sidecar'),
  ...at('sidecar-missing-resources', WEBSITE_NATIVE, ['Pod/localhost-example'], 'client'),
  ...at('sidecar-missing-resources', WEBSITE_NATIVE, ['Pod/startup-coordination-example'], 'config-sidecar'),
  ...at('sidecar-missing-resources', WEBSITE_NATIVE, ['Pod/ml-worker'], 'watcher-sidecar'),
  // Eight containers; the other threshold-dependent layouts of INDEX.md are in neither table.
  ...at('too-many-sidecars', 'csi-driver-host-path.yaml', ['StatefulSet/csi-hostpathplugin']),
  ...at('unpinned-image', 'argocd-ha-namespace-install.yaml', [
    'Deployment/argocd-applicationset-controller', 'Deployment/argocd-notifications-controller', 'Deployment/argocd-server', 'StatefulSet/argocd-application-controller',
  ]),
  ...at('unpinned-image', 'argocd-ha-namespace-install.yaml', ['Deployment/argocd-dex-server'], 'copyutil'),
  ...at('unpinned-image', 'argocd-ha-namespace-install.yaml', ['Deployment/argocd-redis-ha-haproxy'], 'secret-init'),
  ...each('unpinned-image', 'argocd-ha-namespace-install.yaml', 'Deployment/argocd-repo-server', ['copyutil', 'argocd-repo-server']),
  ...at('unpinned-image', ISTIO_CLASSIC, ['Job/pi'], 'istio-proxy'),
  ...at('unpinned-image', ISTIO_NATIVE, ['Pod/hello'], 'istio-proxy'),
  ...at('unpinned-image', 'istio-samples-misc.yaml', ['Deployment/httpbin'], 'ext-authz'),
  ...at('unpinned-image', 'istio-samples-misc.yaml', ['Deployment/echo-v1', 'Deployment/echo-v2', 'Deployment/mtls-echo-v1', 'DaemonSet/enable-istio-coredumps']),
  ...at('unpinned-image', 'otel-collector-examples-sharedpid-prestop.yaml', ['DaemonSet/example-opentelemetry-collector-agent'], 'test'),
  ...at('unpinned-image', 'otel-demo-helm-rendered.yaml', ['Deployment/accounting', 'Deployment/cart', 'Deployment/checkout', 'Deployment/fraud-detection', 'Deployment/product-catalog']),
  ...at('unpinned-image', 'otel-demo-helm-rendered.yaml', ['Deployment/flagd'], 'init-config'),
  ...at('unpinned-image', 'gke-samples-sidecars-hpa.yaml', ['Deployment/wordpress'], 'wordpress'),
  ...at('unpinned-image', 'k8s-examples-misc.yaml', ['ReplicationController/es'], 'init-sysctl'),
  ...at('unpinned-image', 'k8s-examples-misc.yaml', ['DaemonSet/sysdig-agent', 'DaemonSet/newrelic-agent', 'DaemonSet/newrelic-infra-agent']),
  ...at('unpinned-image', WEBSITE_CLASSIC, ['Deployment/myapp', 'Job/myjob', 'Pod/init-demo', 'Pod/nginx', 'Pod/two-containers', 'Deployment/php-apache']),
  ...at('unpinned-image', WEBSITE_NATIVE, ['Deployment/myapp', 'Job/myjob']),
];

/** Traps INDEX.md lists: flagging any of these is a false positive. */
const MUST_NOT_FIRE: Case[] = [
  // Privileged, but the main container, an init container, or the only long-running one.
  ...at('privileged-sidecar', 'aws-ebs-csi-driver.yaml', ['DaemonSet/ebs-csi-node'], 'ebs-plugin'),
  ...at('privileged-sidecar', 'bitnami-elasticsearch.yaml', ['*']),
  ...at('privileged-sidecar', 'csi-driver-nfs.yaml', ['Deployment/csi-nfs-controller', 'DaemonSet/csi-nfs-node'], 'nfs'),
  ...at('privileged-sidecar', 'k8s-examples-misc.yaml', ['ReplicationController/es', 'DaemonSet/sysdig-agent', 'DaemonSet/newrelic-agent', 'DaemonSet/newrelic-infra-agent']),
  ...each('privileged-sidecar', 'calico-canal.yaml', 'DaemonSet/canal', ['calico-node', 'install-cni', 'ebpf-bootstrap']),
  ...at('privileged-sidecar', 'calico-csi-driver-and-etcd.yaml', ['DaemonSet/calico-node']),
  ...at('privileged-sidecar', 'istio-samples-misc.yaml', ['DaemonSet/enable-istio-coredumps']),
  // hostPID/hostIPC with a single long-running container.
  ...at('host-pid-ipc-sidecars', 'k8s-examples-misc.yaml', ['DaemonSet/sysdig-agent', 'DaemonSet/newrelic-agent', 'DaemonSet/newrelic-infra-agent']),
  ...at('host-pid-ipc-sidecars', 'prometheus-helm.yaml', ['*']),
  // healthz declared once per container and probed by name there; numeric probe ports served by a sidecar.
  ...at('duplicate-port-name', 'csi-driver-host-path.yaml', ['*']),
  ...at('duplicate-port-name', 'aws-ebs-csi-driver.yaml', ['*']),
  ...at('probe-named-port-undeclared', 'csi-driver-host-path.yaml', ['*']),
  ...at('probe-named-port-undeclared', 'aws-ebs-csi-driver.yaml', ['*']),
  ...at('probe-named-port-undeclared', 'csi-driver-nfs.yaml', ['*']),
  // hostNetwork with a single long-running container.
  ...at('host-network-sidecars', 'calico-csi-driver-and-etcd.yaml', ['DaemonSet/calico-node']),
  ...at('host-network-sidecars', 'flannel.yaml', ['DaemonSet/kube-flannel-ds']),
  ...at('host-network-sidecars', 'k8s-examples-misc.yaml', ['DaemonSet/sysdig-agent', 'DaemonSet/newrelic-agent', 'DaemonSet/newrelic-infra-agent']),
  ...at('host-network-sidecars', 'istio-samples-misc.yaml', ['DaemonSet/enable-istio-coredumps']),
  ...at('host-network-sidecars', 'prometheus-helm.yaml', ['*']),
  // Jobs with one container, or with a native sidecar.
  ...at('classic-sidecar-in-job', 'bitnami-airflow.yaml', ['Job/airflow-setup-db']),
  ...at('classic-sidecar-in-job', 'cert-manager-helm.yaml', ['Job/cert-manager-startupapicheck']),
  ...at('classic-sidecar-in-job', 'descheduler-manifests.yaml', ['CronJob/descheduler-cronjob', 'Job/descheduler-job']),
  ...at('classic-sidecar-in-job', 'ingress-nginx-cloud.yaml', ['Job/ingress-nginx-admission-create', 'Job/ingress-nginx-admission-patch']),
  ...at('classic-sidecar-in-job', ISTIO_NATIVE, ['Job/pi', 'CronJob/hellocron']),
  ...at('classic-sidecar-in-job', WEBSITE_NATIVE, ['Job/myjob']),
  ...at('classic-sidecar-in-job', 'kube-prometheus-stack-helm.yaml', ['Job/kps-kube-prometheus-stack-admission-create', 'Job/kps-kube-prometheus-stack-admission-patch']),
  ...at('classic-sidecar-in-job', 'linkerd-install-default.yaml', ['CronJob/linkerd-heartbeat']),
  ...at('classic-sidecar-in-job', 'linkerd-install-ha.yaml', ['CronJob/linkerd-heartbeat']),
  // Probes, restartPolicy and endless loops on native sidecars are legal; bounded loops exit.
  ...at('init-container-probes', ISTIO_NATIVE, ['*']),
  ...at('init-container-probes', 'linkerd-inject-native-sidecar.yaml', ['*']),
  ...at('init-container-probes', WEBSITE_NATIVE, ['Pod/startup-coordination-example'], 'config-sidecar'),
  ...at('init-container-never-exits', WEBSITE_NATIVE, ['Pod/startup-coordination-example'], 'config-sidecar'),
  ...at('init-container-never-exits', 'otel-demo-helm-rendered.yaml', ['Deployment/accounting', 'Deployment/cart', 'Deployment/checkout', 'Deployment/fraud-detection', 'Deployment/product-catalog', 'Deployment/flagd']),
  ...at('init-container-never-exits', 'otel-collector-examples-sharedpid-prestop.yaml', ['DaemonSet/example-opentelemetry-collector-agent'], 'test'),
  ...at('init-container-never-exits', 'microservices-demo-release.yaml', ['Deployment/loadgenerator'], 'frontend-check'),
  ...at('init-container-never-exits', 'k8s-examples-misc.yaml', ['Pod/javaweb'], 'war'),
  ...at('restart-policy-on-container', ISTIO_NATIVE, ['*']),
  ...at('restart-policy-on-container', 'linkerd-inject-native-sidecar.yaml', ['*']),
  ...at('restart-policy-on-container', WEBSITE_NATIVE, ['*']),
  ...at('native-sidecar-unsupported', ISTIO_NATIVE, ['*']),
  ...at('native-sidecar-unsupported', WEBSITE_NATIVE, ['*']),
  ...at('native-sidecar-unsupported', 'linkerd-install-default.yaml', ['*']),
  // Pods metrics, or a Resource metric on a single-container target.
  ...at('hpa-pod-average-on-multi-container', 'gke-samples-sidecars-hpa.yaml', ['HorizontalPodAutoscaler/custom-prometheus-hpa']),
  ...at('hpa-pod-average-on-multi-container', 'otel-collector-example-custom-metrics-hpa.yaml', ['HorizontalPodAutoscaler/example-opentelemetry-collector']),
  ...at('hpa-pod-average-on-multi-container', 'k8s-examples-ai-vllm.yaml', ['HorizontalPodAutoscaler/gemma-server-hpa', 'HorizontalPodAutoscaler/gemma-server-gpu-hpa']),
  ...at('hpa-pod-average-on-multi-container', WEBSITE_CLASSIC, ['HorizontalPodAutoscaler/php-apache']),
  // preStop hooks that end within the grace period, or whose duration is unknown.
  ...at('prestop-exceeds-grace-period', 'vault-helm-ha.yaml', ['StatefulSet/vault']),
  ...at('prestop-exceeds-grace-period', 'otel-collector-examples-sharedpid-prestop.yaml', ['DaemonSet/example-opentelemetry-collector-agent']),
  ...at('prestop-exceeds-grace-period', 'bitnami-redis-sentinel-metrics.yaml', ['StatefulSet/redis-node']),
  ...at('prestop-exceeds-grace-period', 'argocd-ha-namespace-install.yaml', ['StatefulSet/argocd-redis-ha-server']),
  ...at('prestop-exceeds-grace-period', 'ingress-nginx-cloud.yaml', ['Deployment/ingress-nginx-controller']),
  ...at('prestop-exceeds-grace-period', 'k8s-examples-misc.yaml', ['StatefulSet/cassandra']),
  // The sidecar has resources (the app has none), the container is the main one, or every container has resources.
  ...at('sidecar-missing-resources', ISTIO_CLASSIC, ISTIO_WORKLOADS_CLASSIC),
  ...at('sidecar-missing-resources', 'prometheus-helm.yaml', ['Deployment/prometheus-server'], 'prometheus-server'),
  ...at('sidecar-missing-resources', 'istio-addons.yaml', ['Deployment/prometheus'], 'prometheus-server'),
  ...at('sidecar-missing-resources', 'kube-prometheus-stack-helm.yaml', ['Deployment/kps-grafana'], 'grafana'),
  ...at('sidecar-missing-resources', 'otel-demo-helm-rendered.yaml', ['Deployment/grafana']),
  ...at('sidecar-missing-resources', WEBSITE_NATIVE, ['Pod/resources-example']),
  ...at('sidecar-missing-resources', WEBSITE_CLASSIC, ['StatefulSet/mysql']),
  ...at('sidecar-missing-resources', 'csi-driver-nfs.yaml', ['*']),
  ...at('sidecar-missing-resources', 'aws-ebs-csi-driver.yaml', ['*']),
  ...at('sidecar-missing-resources', 'kube-prometheus-manifests.yaml', ['*']),
  ...at('sidecar-missing-resources', 'bitnami-redis-sentinel-metrics.yaml', ['StatefulSet/redis-node']),
  ...at('sidecar-missing-resources', 'bitnami-postgresql-metrics.yaml', ['StatefulSet/postgresql']),
  ...at('sidecar-missing-resources', 'metrics-server-helm-addon-resizer.yaml', ['Deployment/metrics-server']),
  ...at('shared-process-namespace', 'kube-prometheus-stack-helm.yaml', ['Deployment/kps-grafana']),
  // Localhost ports served by an undeclared listener of the same pod: they work.
  ...at('localhost-port-not-declared', 'kube-prometheus-manifests.yaml', ['Deployment/kube-state-metrics', 'DaemonSet/node-exporter']),
  ...at('localhost-port-not-declared', 'linkerd-inject-native-sidecar.yaml', ['*']),
  ...at('localhost-port-not-declared', 'linkerd-install-default.yaml', ['*']),
  ...at('localhost-port-not-declared', 'linkerd-install-ha.yaml', ['*']),
  ...at('localhost-port-not-declared', 'csi-driver-nfs.yaml', ['Deployment/csi-nfs-controller', 'DaemonSet/csi-nfs-node']),
  ...at('localhost-port-not-declared', 'gke-samples-sidecars-hpa.yaml', ['Deployment/wordpress', 'Deployment/custom-metric-prometheus-sd']),
  ...at('localhost-port-not-declared', WEBSITE_NATIVE, ['Pod/ambassador-sidecar-example', 'Pod/localhost-example']),
  // Pinned by digest (with or without a tag).
  ...at('unpinned-image', 'ingress-nginx-cloud.yaml', ['*']),
  ...at('unpinned-image', 'fluent-bit-kubernetes-logging.yaml', ['Pod/testpod-fluentbit-kafka']),
  ...at('unpinned-image', 'microservices-demo-release.yaml', ['Deployment/loadgenerator'], 'frontend-check'),
  // The same port over TCP and UDP in one container, single declarations, or different ports.
  ...at('port-conflict', 'kube-prometheus-stack-helm.yaml', ['Deployment/kps-grafana']),
  ...at('port-conflict', 'otel-demo-helm-rendered.yaml', ['Deployment/grafana']),
  ...at('port-conflict', 'metallb-frr-prometheus.yaml', ['DaemonSet/speaker']),
  ...at('port-conflict', 'argocd-ha-namespace-install.yaml', ['StatefulSet/argocd-redis-ha-server']),
  ...at('port-conflict', 'aws-ebs-csi-driver.yaml', ['DaemonSet/ebs-csi-node']),
  ...at('port-conflict', 'csi-driver-host-path.yaml', ['StatefulSet/csi-hostpathplugin']),
  ...at('port-conflict', 'linkerd-install-default.yaml', ['*']),
  ...at('port-conflict', 'gke-samples-sidecars-hpa.yaml', ['StatefulSet/mysql']),
  ...at('port-conflict', WEBSITE_CLASSIC, ['StatefulSet/mysql']),
  // An emptyDir with a sizeLimit and no Memory medium.
  ...at('memory-emptydir-no-size-limit', WEBSITE_CLASSIC, ['Pod/shared-volume-example']),
];

const SHIPPED = new Set(ALL_RULES.map((rule) => rule.id));
const shipped = (cases: Case[]): Case[] => cases.filter((entry) => SHIPPED.has(entry.rule));

function matches(finding: LocatedFinding, entry: Case): boolean {
  return (
    finding.rule === entry.rule &&
    basename(finding.file) === entry.file &&
    (entry.resource === '*' || `${finding.resource.kind}/${finding.resource.name}` === entry.resource) &&
    (entry.container === undefined || finding.container === entry.container)
  );
}

const describeCase = (entry: Case): string => `${entry.resource === '*' ? 'any resource' : entry.resource}${entry.container ? ` (${entry.container})` : ''} in ${entry.file}`;

describe.skipIf(!realWorldCorpus.available)('real-world manifests (shared/real-world, INDEX.md)', () => {
  let report: AuditReport;

  beforeAll(async () => {
    const settings = {
      context: { kubernetesVersion: NEWEST_KNOWN_VERSION, minKubeletVersion: NEWEST_KNOWN_VERSION },
      policy: defaultPolicy(ALL_RULES),
      rules: ALL_RULES,
    };
    report = await auditPaths([CORPUS], settings, () => Promise.reject(new Error('the corpus is read from files')));
    const counts = new Map<string, number>();
    for (const finding of report.findings) counts.set(`${finding.rule} ${finding.severity}`, (counts.get(`${finding.rule} ${finding.severity}`) ?? 0) + 1);
    const lines = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([key, count]) => `  ${String(count).padStart(4)}  ${key}`);
    const absent = [...new Set([...MUST_FIRE, ...MUST_NOT_FIRE].map((entry) => entry.rule))].filter((rule) => !SHIPPED.has(rule));
    console.log(
      `real-world corpus: ${report.findings.length} findings in ${report.resources} resources, ${report.documents} documents, ${report.files} files\n${lines.join('\n')}` +
        (absent.length > 0 ? `\n  rules in the tables but not shipped, left out: ${absent.join(', ')}` : ''),
    );
  });

  it('reads all 40 files and their 1030 documents without an error', () => {
    expect(report.errors).toEqual([]);
    expect(report.files).toBe(40);
    expect(report.documents).toBe(1030);
    expect(report.resources).toBe(1034);
  });

  it('names only files of the corpus in its tables', async () => {
    const files = new Set(await readdir(CORPUS));
    for (const entry of [...MUST_FIRE, ...MUST_NOT_FIRE]) expect(files, entry.file).toContain(entry.file);
  });

  it('denies nothing but the true positives INDEX.md names', () => {
    const unexpected = report.findings.filter((finding) => finding.severity === 'deny' && !ALLOWED_DENIALS.some((entry) => matches(finding, entry)));
    expect(unexpected.map((finding) => `${finding.rule} ${finding.resource.kind}/${finding.resource.name} ${finding.file}:${finding.line}`)).toEqual([]);
  });

  for (const entry of shipped(MUST_FIRE)) {
    it(`finds ${entry.rule} on ${describeCase(entry)}`, () => {
      expect(report.findings.some((finding) => matches(finding, entry))).toBe(true);
    });
  }

  for (const entry of shipped(MUST_NOT_FIRE)) {
    it(`does not report ${entry.rule} on ${describeCase(entry)}`, () => {
      const wrong = report.findings.filter((finding) => matches(finding, entry));
      expect(wrong.map((finding) => `${finding.file}:${finding.line} ${finding.container ?? ''} ${finding.message}`)).toEqual([]);
    });
  }
});
