import { readFileSync } from 'node:fs';
import { SEEDS } from './support.js';

/**
 * The articles the product grew from. Their text lost its indentation in places, so those examples are
 * transcribed here as they are printed; article 001 kept it and is read from the file.
 */

// 000 "Pattern 1: Sidecar (classic vs native)": the same pod template, classic then native.
export const CLASSIC_000 = `
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
export const NATIVE_000 = `
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

export const deployment = (podSpec: string): string => `
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
export const job = (podSpec: string): string => `
apiVersion: batch/v1
kind: Job
metadata:
  name: web-report
spec:
  template:
    spec:
      restartPolicy: Never${podSpec}`;

// 003 "7. Native Sidecars (k8s 1.29+)", "The migration path": Before / After (k8s 1.29+).
export const BEFORE_003 = `
      initContainers:
        - name: log-shipper
          image: fluent/fluent-bit:3.0
          command: ["sh", "-c", "fluent-bit -c /etc/fluent-bit.conf & sleep infinity"]
      containers:
        - name: app
          image: myorg/app:2.1
`;
/** The article's "After" puts `restartPolicy: Always` on an entry of `containers`: no native sidecar. */
export const AFTER_003 = `
      containers:
        - name: app
          image: myorg/app:2.1
        - name: log-shipper
          image: fluent/fluent-bit:3.0
          restartPolicy: Always
          command: ["fluent-bit", "-c", "/etc/fluent-bit.conf"]
`;

// 001: the log-shipping Pod, read from the article.
export function logShipperPod001(): string {
  const text = readFileSync(new URL('001_8abd65e39881d6cf.txt', SEEDS), 'utf8');
  return text.slice(text.indexOf('apiVersion: v1\nkind: Pod\nmetadata:\n  name: app-with-log-sidecar'), text.indexOf('---\napiVersion: v1\nkind: ConfigMap'));
}

// 002: the Pod Istio injects a proxy into.
export const ISTIO_POD_002 = `
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
`;
