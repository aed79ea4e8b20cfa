import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { objectsFromYaml, ruleFindings } from '../support/engine.js';
import { realWorldCorpus } from '../support/corpus.js';
import { everyWorkloadKind, realWorld } from './workloads.js';

const RULE = 'localhost-port-not-declared';

const pod = (containers: string) => `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  containers: ${containers}
`;

describe('localhost-port-not-declared', () => {
  it('warns when the app points at localhost:5433 and the ambassador listens on 5432', () => {
    const findings = ruleFindings(RULE, pod(`
    - name: app
      image: registry.example.com/app:1.0.0
      env: [{ name: DB_HOST, value: "localhost:5433" }]
    - name: db-ambassador
      image: bitnami/pgbouncer:1.23.1
      env: [{ name: PGBOUNCER_PORT, value: "5432" }]
      ports: [{ containerPort: 5432 }]`));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'warn', container: 'app', path: 'spec.containers[0].env[0].value' });
    expect(findings[0]!.message).toContain('localhost:5433 (env DB_HOST)');
    expect(findings[0]!.message).toContain("5432 ('db-ambassador')");
    expect(findings[0]!.fix).toContain('(one of 5432)');
  });

  it("accepts the database ambassador of the patterns article (DATABASE_HOST=localhost, DATABASE_PORT=5432) and catches a wrong port in the pair", () => {
    const article = pod(`
    - name: main-app
      image: myapp:1.0
      env:
        - { name: DATABASE_HOST, value: "localhost" }
        - { name: DATABASE_PORT, value: "5432" }
      ports: [{ containerPort: 8080 }]
    - name: db-ambassador
      image: pgbouncer/pgbouncer:1.21.0
      ports: [{ containerPort: 5432 }]
      env:
        - { name: DATABASES_HOST, value: postgres-primary.database.svc.cluster.local }
        - { name: DATABASES_PORT, value: "5432" }`);
    expect(ruleFindings(RULE, article)).toEqual([]);
    const findings = ruleFindings(RULE, article.replace('value: "5432" }\n      ports: [{ containerPort: 8080 }]', 'value: "6432" }\n      ports: [{ containerPort: 8080 }]'));
    expect(findings.map((f) => [f.container, f.path])).toEqual([['main-app', 'spec.containers[0].env[1].value']]);
    expect(findings[0]!.message).toContain('localhost:6432 (env DATABASE_HOST + DATABASE_PORT)');
  });

  it('accepts the Kafka ambassador that is told to listen on localhost:9092, and warns once it listens elsewhere', () => {
    const article = pod(`
    - name: app
      image: myorg/app:2.1
      command: ["./app", "--broker=localhost:9092"]
    - name: kafka-ambassador
      image: myorg/kafka-ambassador:1.0
      command: ["./ambassador", "--listen=localhost:9092", "--target=$(BROKER_URL)"]
      env: [{ name: BROKER_URL, value: "kafka-prod.internal:9092" }]`);
    expect(ruleFindings(RULE, article)).toEqual([]);
    const findings = ruleFindings(RULE, article.replace('--listen=localhost:9092', '--listen=localhost:9093'));
    expect(findings.map((f) => [f.container, f.path])).toEqual([['app', 'spec.containers[0].command[1]']]);
    expect(findings[0]!.message).toContain('(arg --broker)');
  });

  it('accepts the Redis, MySQL and Postgres ambassadors of the articles that declare the port they serve', () => {
    expect(ruleFindings(RULE, pod(`
    - name: app
      image: mycompany/api:3.2.0
      env: [{ name: REDIS_URL, value: "redis://localhost:6379" }]
    - name: redis-ambassador
      image: kuiken/twemproxy:0.5
      ports: [{ containerPort: 6379 }]`))).toEqual([]);
    expect(ruleFindings(RULE, pod(`
    - name: main-app
      image: myapp:latest
      env: [{ name: DATABASE_URL, value: "http://localhost:3306" }]
    - name: database-ambassador
      image: ambassador-proxy:latest
      ports: [{ containerPort: 3306 }]`))).toEqual([]);
  });

  it("treats a CSI liveness-probe sidecar's --http-endpoint=localhost:PORT as its own listener", () => {
    const controller = (checked: number) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: csi-controller, namespace: kube-system }
spec:
  template:
    spec:
      containers:
        - name: csi-provisioner
          image: registry.k8s.io/sig-storage/csi-provisioner:v5.1.0
          args: [--csi-address=$(ADDRESS), --leader-election]
          env: [{ name: ADDRESS, value: /csi/csi.sock }]
        - name: liveness-probe
          image: registry.k8s.io/sig-storage/livenessprobe:v2.14.0
          args: [--csi-address=/csi/csi.sock, --probe-timeout=3s, --http-endpoint=localhost:29652]
        - name: csi-driver
          image: registry.example.com/csi-driver:4.9.0
          args: [--endpoint=$(CSI_ENDPOINT), --nodeid=$(NODE_ID)]
          env: [{ name: CSI_ENDPOINT, value: unix:///csi/csi.sock }]
        - name: checker
          image: curlimages/curl:8.11.1
          args: ["http://localhost:${checked}/healthz"]
`;
    expect(ruleFindings(RULE, controller(29652))).toEqual([]);
    expect(ruleFindings(RULE, controller(29653)).map((f) => [f.container, f.path])).toEqual([['checker', 'spec.template.spec.containers[3].args[0]']]);
  });

  it.skipIf(!realWorldCorpus.available)('accepts the ambassador examples of the Kubernetes docs', () => {
    expect(ruleFindings(RULE, realWorld('k8s-website-native-sidecars.yaml'))).toEqual([]);
  });

  it("flags the nginx adapter whose status listener on 8080 exists only in a ConfigMap, and is satisfied once it is declared", () => {
    const adapter = pod(`
    - name: main-app
      image: nginx:1.25
      ports: [{ containerPort: 80 }]
    - name: nginx-prometheus-adapter
      image: nginx/nginx-prometheus-exporter:1.0
      args: [-nginx.scrape-uri=http://localhost:8080/nginx_status]
      ports: [{ containerPort: 9113, name: metrics }]`);
    const findings = ruleFindings(RULE, adapter);
    expect(findings.map((f) => f.path)).toEqual(['spec.containers[1].args[0]']);
    expect(findings[0]!.fix).toContain('add `containerPort: 8080` to its ports');
    expect(ruleFindings(RULE, adapter.replace('[{ containerPort: 80 }]', '[{ containerPort: 80 }, { containerPort: 8080 }]'))).toEqual([]);
  });

  it.skipIf(!realWorldCorpus.available)('leaves alone every literal loopback match of the corpus that works', () => {
    const traps = [
      'kube-prometheus-manifests.yaml', // kube-state-metrics --port=8081/--telemetry-port=8082 and node-exporter --web.listen-address behind kube-rbac-proxy
      'linkerd-inject-native-sidecar.yaml', // LINKERD2_PROXY_OUTBOUND_LISTEN_ADDR=127.0.0.1:4140
      'linkerd-install-default.yaml',
      'linkerd-install-ha.yaml',
      'csi-driver-nfs.yaml', // liveness-probe --http-endpoint=localhost:29652
      'gke-samples-sidecars-hpa.yaml', // wordpress -> cloudsql-proxy tcp:3306, prometheus-to-sd -> --port=8080
      'k8s-website-native-sidecars.yaml',
      'kube-prometheus-stack-helm.yaml',
      'otel-demo-helm-rendered.yaml',
      'prometheus-helm.yaml',
      'istio-addons.yaml',
      'bitnami-postgresql-metrics.yaml',
      'vault-helm-ha.yaml',
    ];
    for (const file of traps) expect(ruleFindings(RULE, realWorld(file)), file).toEqual([]);
  });

  it.skipIf(!realWorldCorpus.available)("treats csi-nfs liveness-probe's --http-endpoint=localhost:29652 as its own listener even without hostNetwork", () => {
    const objects = objectsFromYaml(realWorld('csi-driver-nfs.yaml'));
    const controller = objects.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'csi-nfs-controller')!;
    const spec = (controller.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    delete spec.hostNetwork;
    // Drop the probe of the nfs container too, so only the flag tells who listens on 29652.
    const containers = spec.containers as Array<Record<string, unknown>>;
    for (const container of containers) delete container.livenessProbe;
    containers.push({ name: 'checker', image: 'curlimages/curl:8.11.1', args: ['http://localhost:29652/healthz'] });
    expect(ruleFindings(RULE, stringify(controller))).toEqual([]);
    const broken = structuredClone(controller);
    const brokenContainers = (broken.spec as { template: { spec: { containers: Array<Record<string, unknown>> } } }).template.spec.containers;
    brokenContainers.at(-1)!.args = ['http://localhost:29653/healthz'];
    expect(ruleFindings(RULE, stringify(broken)).map((f) => f.container)).toEqual(['checker']);
  });

  it('recognises a listener by the name of its flag or variable', () => {
    const listeners = [
      '{ name: proxy, image: p:1, env: [{ name: PROXY_OUTBOUND_LISTEN_ADDR, value: "127.0.0.1:4140" }] }',
      '{ name: proxy, image: p:1, args: ["--web.listen-address=127.0.0.1:4140"] }',
      '{ name: proxy, image: p:1, args: ["--metrics-bind-address=localhost:4140"] }',
      '{ name: proxy, image: p:1, args: ["--health-port=4140"] }',
      '{ name: proxy, image: p:1, args: ["--port", "4140"] }',
      '{ name: proxy, image: p:1, env: [{ name: PORT, value: "4140" }] }',
      '{ name: proxy, image: p:1, args: ["--admin-addr=0.0.0.0:4140"] }',
      '{ name: proxy, image: p:1, args: ["-instances=project:region:db=tcp:4140"] }',
      '{ name: proxy, image: p:1, args: ["project:region:db?port=4140"] }',
    ];
    const app = '{ name: app, image: a:1, env: [{ name: HTTP_PROXY, value: "http://127.0.0.1:4140" }] }';
    for (const listener of listeners) expect(ruleFindings(RULE, pod(`[${app}, ${listener}]`)), listener).toEqual([]);
    // A peer's address is not a listener, even when the variable ends in ADDR or ENDPOINT.
    const peers = [
      '{ name: proxy, image: p:1, env: [{ name: VAULT_ADDR, value: "http://127.0.0.1:4140" }] }',
      '{ name: proxy, image: p:1, args: ["--upstream=http://127.0.0.1:4140/"] }',
      '{ name: proxy, image: p:1, env: [{ name: SHIPPING_ADDR, value: "http://shipping:4140" }] }',
    ];
    for (const peer of peers) expect(ruleFindings(RULE, pod(`[${app}, ${peer}]`)), peer).not.toEqual([]);
  });

  it('treats an OTLP exporter endpoint as a connection, not a listener', () => {
    const findings = ruleFindings(RULE, pod(`
    - name: app
      image: registry.example.com/app:1.0.0
      env: [{ name: OTEL_EXPORTER_OTLP_ENDPOINT, value: "http://localhost:4317" }]
    - name: otel-collector
      image: otel/opentelemetry-collector-contrib:0.116.0
      ports: [{ containerPort: 4318 }]`));
    expect(findings.map((f) => f.message)).toEqual([expect.stringContaining('localhost:4317 (env OTEL_EXPORTER_OTLP_ENDPOINT)')]);
  });

  it('understands [::1], 127.0.0.1, two-word flags, $(VAR) expansion and probe ports', () => {
    expect(ruleFindings(RULE, pod(`
    - name: app
      image: a:1
      env:
        - { name: PROXY_PORT, value: "7000" }
        - { name: UPSTREAM, value: "http://[::1]:$(PROXY_PORT)" }
    - name: proxy
      image: b:1
      args: ["--listen", "127.0.0.1:7000"]`))).toEqual([]);
    const findings = ruleFindings(RULE, pod(`
    - name: app
      image: a:1
      env: [{ name: UPSTREAM, value: "http://[::1]:7001" }]
      args: ["--cache=127.0.0.1:11211"]
    - name: memcached
      image: memcached:1.6.34
      readinessProbe: { tcpSocket: { port: 11211 } }`));
    expect(findings.map((f) => f.path)).toEqual(['spec.containers[0].env[0].value']);
  });

  it('trusts injected mesh sidecars the pod asks for, unless it opts out', () => {
    const job = (inject: string) => `apiVersion: batch/v1
kind: Job
metadata: { name: migrate }
spec:
  template:
    metadata:
      annotations: { sidecar.istio.io/inject: "${inject}" }
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: registry.example.com/migrate:1.0.0
          command: ["sh", "-c", "./migrate && curl -fsS -X POST http://localhost:15020/quitquitquit"]
`;
    expect(ruleFindings(RULE, job('true'))).toEqual([]);
    expect(ruleFindings(RULE, job('false')).map((f) => f.path)).toEqual(['spec.template.spec.containers[0].command[2]']);
  });

  it('skips hostNetwork pods, whose localhost is the node', () => {
    expect(ruleFindings(RULE, `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  hostNetwork: true
  containers:
    - { name: agent, image: a:1, args: ["--kubelet=http://127.0.0.1:10248/healthz"] }
`)).toEqual([]);
  });

  it('points at the offending field in every workload kind', () => {
    const spec = {
      containers: [
        { name: 'app', image: 'a:1', env: [{ name: 'CACHE_URL', value: 'redis://127.0.0.1:6380' }] },
        { name: 'redis', image: 'redis:7.4.1', ports: [{ containerPort: 6379 }] },
      ],
    };
    for (const workload of everyWorkloadKind(spec)) {
      expect(ruleFindings(RULE, workload.yaml).map((f) => f.path), workload.kind).toEqual([`${workload.specPath}.containers[0].env[0].value`]);
    }
  });

  it('ignores malformed env, args and ports without an error', () => {
    expect(ruleFindings(RULE, pod(`
    - name: app
      image: a:1
      env: [null, { name: 1, value: 2 }, { value: "localhost:1" }, { name: X_HOST, value: localhost }, { name: X_PORT, value: "99999" }]
      args: [1, null, "--listen", "--port=", "localhost:0", "localhost:70000"]
      command: "sh -c 'curl localhost:8080'"
      ports: [null, { containerPort: "80" }]
      livenessProbe: { httpGet: null, tcpSocket: { port: http } }`))).toEqual([]);
  });
});
