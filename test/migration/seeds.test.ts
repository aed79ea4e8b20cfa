import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planMigration } from '../../src/migration/index.js';
import { seedArticles } from '../support/corpus.js';
import { applyPlan, container, names, one, options, podSpecOf, podSpecViolations, SEEDS, version } from './support.js';

/**
 * The articles the product grew from. Their text lost its indentation in places, so those examples are
 * transcribed here as they are printed; article 001 kept it and is read from the file.
 */

// 000 "Pattern 1: Sidecar (classic vs native)": the same pod template, classic then native.
const CLASSIC_000 = `
      containers:
        - name: app # main container, writes to /var/log/app
          image: mycompany/web:1.6.0
          volumeMounts:
            - name: logs
              mountPath: /var/log/app
        - name: log-shipper # classic sidecar, tails the same volume
          image: grafana/promtail:3.4.0
          args:
            - "-config.file=/etc/promtail/promtail.yaml"
          volumeMounts:
            - name: logs
              mountPath: /var/log/app
            - name: promtail-config
              mountPath: /etc/promtail
      volumes:
        - name: logs
          emptyDir: {}
        - name: promtail-config
          configMap:
            name: promtail-config
`;
const NATIVE_000 = `
      initContainers:
        - name: log-shipper # native sidecar
          image: grafana/promtail:3.4.0
          restartPolicy: Always # this is what makes it a sidecar
          args:
            - "-config.file=/etc/promtail/promtail.yaml"
          volumeMounts:
            - name: logs
              mountPath: /var/log/app
            - name: promtail-config
              mountPath: /etc/promtail
          startupProbe:
            httpGet:
              path: /ready
              port: 3101
            failureThreshold: 30
            periodSeconds: 2
      containers:
        - name: app
          image: mycompany/web:1.6.0
          volumeMounts:
            - name: logs
              mountPath: /var/log/app
      volumes:
        - name: logs
          emptyDir: {}
        - name: promtail-config
          configMap:
            name: promtail-config
`;

const deployment = (podSpec: string): string => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-app
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web-app
  template:
    metadata:
      labels:
        app: web-app
    spec:${podSpec}`;

/** The article's point: "For a Job it is a problem"; so the same pod template in a Job. */
const job = (podSpec: string): string => `
apiVersion: batch/v1
kind: Job
metadata:
  name: web-report
spec:
  template:
    spec:
      restartPolicy: Never${podSpec}`;

// 003 "7. Native Sidecars (k8s 1.29+)", "The migration path": Before / After (k8s 1.29+).
const BEFORE_003 = `
      initContainers:
        - name: log-shipper
          image: fluent/fluent-bit:3.0
          command: ["sh", "-c", "fluent-bit -c /etc/fluent-bit.conf & sleep infinity"]
      containers:
        - name: app
          image: myorg/app:2.1
`;
/** The article's "After" puts `restartPolicy: Always` on an entry of `containers`: no native sidecar. */
const AFTER_003 = `
      containers:
        - name: app
          image: myorg/app:2.1
        - name: log-shipper
          image: fluent/fluent-bit:3.0
          restartPolicy: Always
          command: ["fluent-bit", "-c", "/etc/fluent-bit.conf"]
`;

describe('the articles\' classic and native sidecar examples', () => {
  it('leaves article 000\'s classic Deployment alone: only Jobs are migrated', () => {
    expect(planMigration(one(deployment(CLASSIC_000)), options()).skipped).toBe('Deployment is not migrated');
  });

  it('turns article 000\'s classic log shipper into its native form in a Job, keeping what it has and adding no probe', () => {
    const classic = one(job(CLASSIC_000));
    const migrated = applyPlan(classic, planMigration(classic, options()));
    const native = podSpecOf(one(job(NATIVE_000)));
    delete (native.initContainers![0] as { startupProbe?: unknown }).startupProbe;
    expect(podSpecOf(migrated)).toEqual(native);
  });

  it('leaves article 003\'s "Before" alone: the never-ending init container is not a classic sidecar', () => {
    const plan = planMigration(one(job(BEFORE_003)), options());
    expect(plan).toMatchObject({ action: 'none', patch: [] });
  });

  it('corrects article 003\'s "After", which keeps restartPolicy: Always in containers, into a real native sidecar', () => {
    const after = one(job(AFTER_003));
    // Accepted from 1.35 (ContainerRestartRules), where it restarts log-shipper forever and the Job never completes.
    expect(podSpecViolations(podSpecOf(after), version('1.34'))).toEqual(['containers[log-shipper].restartPolicy needs 1.35']);
    const plan = planMigration(after, options({ context: { kubernetesVersion: version('1.34'), minKubeletVersion: version('1.34') } }));
    const spec = podSpecOf(applyPlan(after, plan));
    expect(names(spec.initContainers)).toEqual(['log-shipper']);
    expect(names(spec.containers)).toEqual(['app']);
    expect(container(spec, 'log-shipper')).toEqual({ name: 'log-shipper', image: 'fluent/fluent-bit:3.0', restartPolicy: 'Always', command: ['fluent-bit', '-c', '/etc/fluent-bit.conf'] });
    expect(podSpecViolations(spec, version('1.34'))).toEqual([]);
  });

  it.skipIf(!seedArticles.available)('migrates article 001\'s log-shipping Pod when bare Pods are opted in', () => {
    const text = readFileSync(new URL('001_8abd65e39881d6cf.txt', SEEDS), 'utf8');
    const example = text.slice(text.indexOf('apiVersion: v1\nkind: Pod\nmetadata:\n  name: app-with-log-sidecar'), text.indexOf('---\napiVersion: v1\nkind: ConfigMap'));
    const pod = one(example);
    expect(planMigration(pod, options()).action).toBe('none');
    const plan = planMigration(pod, options({ settings: { pods: true } }));
    expect(plan.moved).toEqual(['log-shipper']);
    expect(names(podSpecOf(applyPlan(pod, plan)).containers)).toEqual(['main-app']);
  });

  it('switches article 002\'s Istio-injected Pod to a native istio-proxy when bare Pods are opted in', () => {
    const pod = one(`
apiVersion: v1
kind: Pod
metadata:
  name: app-with-service-mesh
  annotations:
    sidecar.istio.io/inject: "true" # Istio automatically injects sidecar
spec:
  containers:
    # Main application (unchanged)
    - name: business-app
      image: myapp:latest
      ports:
        - containerPort: 8080
`);
    expect(planMigration(pod, options({ settings: { pods: true } })).patch).toEqual([
      { op: 'add', path: '/metadata/annotations/sidecar.istio.io~1nativeSidecar', value: 'true' },
    ]);
  });
});
