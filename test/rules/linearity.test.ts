import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/engine/engine.js';
import type { EvaluationContext } from '../../src/engine/types.js';
import type { KubeObject } from '../../src/model/kube.js';
import { NEWEST_KNOWN_VERSION } from '../../src/model/version.js';
import { defaultPolicy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { measureWork } from '../support/work.js';

/**
 * Every rule must stay linear (or n log n) in the size of the object, whatever grows: an admission webhook
 * answers any object the API server accepts (up to 3 MiB), in enforce mode too. Each family grows one part of
 * a pod fourfold; the work counted by measureWork may grow at most 1.5 times as fast as the JSON does. A
 * quadratic rule grows sixteenfold and fails.
 */

type Family = (n: number) => { object: KubeObject; related?: KubeObject[] };

const range = (n: number) => Array.from({ length: n }, (_, index) => index);

function pod(spec: Record<string, unknown>, annotations: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'big', namespace: 'shop', annotations }, spec };
}

function job(spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'big', namespace: 'shop' }, spec: { template: { spec: { restartPolicy: 'Never', ...spec } } } };
}

const app = { name: 'app', image: 'registry.example.com/app:1.0.0', ports: [{ containerPort: 8080 }] };

const FAMILIES: Record<string, Family> = {
  'containers that share a port, a volume and a loopback peer': (n) => ({
    object: pod({
      shareProcessNamespace: true,
      volumes: [{ name: 'data', emptyDir: { medium: 'Memory' } }],
      containers: range(n).map((i) => ({
        name: `c${i}`,
        image: 'busybox',
        ports: [{ containerPort: 8080 }, { containerPort: 9000 + i, hostPort: 9000 }],
        env: [{ name: 'PEER_ADDR', value: `localhost:${20_000 + i}` }],
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
        securityContext: { privileged: true },
        resources: { limits: { cpu: '100m' } },
        lifecycle: { preStop: { exec: { command: ['sh', '-c', 'sleep 60'] } } },
      })),
    }),
  }),
  'init containers that never exit, with probes and ports': (n) => ({
    object: pod({
      initContainers: range(n).map((i) => ({
        name: `init${i}`,
        image: 'busybox:1.37.0',
        command: ['sh', '-c', 'sleep infinity'],
        ports: [{ containerPort: 8080 }],
        readinessProbe: { tcpSocket: { port: 8080 } },
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
        ...(i % 2 === 1 && { restartPolicy: 'Always' }),
      })),
      volumes: [{ name: 'data', emptyDir: {} }],
      containers: [app],
    }),
  }),
  'a job with many classic sidecars': (n) => ({
    object: job({
      containers: [app, ...range(n).map((i) => ({ name: `proxy${i}`, image: 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0', args: [`--port=${5000 + i}`], restartPolicy: 'Always' }))],
    }),
  }),
  'two containers with many ports each': (n) => ({
    object: pod({
      hostNetwork: true,
      containers: [0, 1].map((c) => ({ name: `c${c}`, image: 'registry.example.com/app:1.0.0', ports: range(n).map((i) => ({ containerPort: 1000 + i, hostPort: 1000 + i })) })),
    }),
  }),
  'a container with many host/port env pairs and loopback addresses': (n) => ({
    object: pod({
      containers: [
        app,
        {
          name: 'sidecar',
          image: 'registry.example.com/sidecar:1.0.0',
          env: range(n).flatMap((i) => [
            { name: `S${i}_HOST`, value: 'localhost' },
            { name: `S${i}_PORT`, value: String(10_000 + i) },
            { name: `S${i}_LISTEN_ADDR`, value: `127.0.0.1:${30_000 + (i % 1000)}` },
            { name: `S${i}_URL`, value: `http://$(S${i}_HOST):$(S${i}_PORT)/` },
          ]),
        },
      ],
    }),
  }),
  'env values that reference earlier ones twice over': (n) => ({
    object: pod({
      containers: [
        app,
        {
          name: 'sidecar',
          image: 'registry.example.com/sidecar:1.0.0',
          args: ['--upstream=$(V' + (n - 1) + ')'],
          env: range(n).map((i) => ({ name: `V${i}`, value: i === 0 ? 'localhost:1234 ' : `$(V${i - 1})$(V${i - 1})` })),
        },
      ],
    }),
  }),
  'memory volumes mounted by every container': (n) => ({
    object: pod({
      volumes: range(n).map((i) => ({ name: `v${i}`, emptyDir: { medium: 'Memory' } })),
      containers: range(3).map((c) => ({ name: `c${c}`, image: 'registry.example.com/app:1.0.0', volumeMounts: range(n).map((i) => ({ name: `v${i}`, mountPath: `/v/${i}` })) })),
    }),
  }),
  'many read-write mounts of one volume at nested subPaths': (n) => ({
    object: pod({
      volumes: [{ name: 'data', emptyDir: {} }],
      containers: range(2).map((c) => ({
        name: `c${c}`,
        image: 'registry.example.com/app:1.0.0',
        volumeMounts: range(n).map((i) => ({ name: 'data', mountPath: `/m/${i}`, subPath: `a/${'b/'.repeat(i % 7)}${i}` })),
      })),
    }),
  }),
  'a long shell script of sleeps, loops and background jobs': (n) => ({
    object: pod({
      initContainers: [{ name: 'setup', image: 'busybox:1.37.0', command: ['sh', '-c', `${'sleep 1 ; tail -n 1 x ; while true; do echo ; '.repeat(n)}nginx ${'x '.repeat(n)}`] }],
      containers: [app, { name: 'loop', image: 'busybox:1.37.0', command: ['sh', '-c', `${'sleep 2 &    '.repeat(n)}${'until false; do x; '.repeat(n)}`] }],
    }),
  }),
  'many arguments naming listen and upstream addresses': (n) => ({
    object: pod({
      containers: [
        app,
        { name: 'proxy', image: 'registry.example.com/proxy:1.0.0', args: range(n).flatMap((i) => [`--listen=127.0.0.1:${1000 + i}`, '--upstream', `localhost:${40_000 + (i % 1000)}`]) },
      ],
    }),
  }),
  'many annotations and labels': (n) => ({
    object: pod(
      { containers: [app, { name: 'peer', image: 'registry.example.com/peer:1.0.0', env: [{ name: 'UPSTREAM_ADDR', value: 'localhost:7000' }] }] },
      Object.fromEntries(range(n).map((i) => [`example.com/key-${i}`, `value-${i}`])),
    ),
  }),
  'a preStop hook of many sleeps': (n) => ({
    object: pod({ containers: [app, { name: 'drain', image: 'registry.example.com/drain:1.0.0', lifecycle: { preStop: { exec: { command: ['sh', '-c', 'sleep 1; '.repeat(n)] } } } }] }),
  }),
  'a sidecar adding many capabilities': (n) => ({
    object: pod({ containers: [app, { name: 'net', image: 'registry.example.com/net:1.0.0', securityContext: { capabilities: { add: range(n).map((i) => (i % 2 ? 'NET_ADMIN' : `CAP_${i}`)) } } }] }),
  }),
  'containers whose long scripts name many files of the volume they share': (n) => ({
    object: pod({
      volumes: [{ name: 'data', emptyDir: {} }],
      containers: range(3).map((c) => ({
        name: `c${c}`,
        image: 'busybox:1.37.0',
        command: ['sh', '-c', range(n).map((i) => `tail -F /m/${i}/a.log | grep x >> /m/${i}/b.log; cp /m/${i}/c /srv/${i}/d`).join('; ')],
        env: range(n).map((i) => ({ name: `SOCKET_${i}`, value: `unix:///run/${i}/s.sock` })),
        volumeMounts: range(n).map((i) => ({ name: 'data', mountPath: `/m/${i}`, subPath: `${i % 3}` })),
      })),
    }),
  }),
  'two containers declaring and probing many port names, with many Services targeting them': (n) => {
    const object: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: range(2).map((c) => ({
              name: `c${c}`,
              image: 'registry.example.com/app:1.0.0',
              ports: range(n).map((i) => ({ name: `p${i}`, containerPort: 1000 * c + i })),
              readinessProbe: { httpGet: { path: '/', port: `missing${c}` } },
              livenessProbe: { tcpSocket: { port: `p${n - 1}` } },
            })),
          },
        },
      },
    };
    const services: KubeObject[] = range(n).map((i) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `s${i}`, namespace: 'shop' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: `p${i}` }, { port: 81, targetPort: `q${i}`, protocol: 'UDP' }] },
    }));
    return { object, related: [object, ...services] };
  },
  'an HPA with many metrics on a workload with many containers': (n) => {
    const deployment: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { template: { spec: { containers: range(n).map((i) => ({ name: `c${i}`, image: 'registry.example.com/app:1.0.0' })) } } },
    };
    const hpa: KubeObject = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        metrics: range(n).map(() => ({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } })),
      },
    };
    return { object: hpa, related: [deployment] };
  },
};

const SMALL = 200;
const GROWTH = 4;
const policy = defaultPolicy(ALL_RULES);

function work(family: Family, n: number, ruleId: string): { work: number; size: number } {
  const { object, related } = family(n);
  const context: EvaluationContext = { kubernetesVersion: NEWEST_KNOWN_VERSION, minKubeletVersion: NEWEST_KNOWN_VERSION, ...(related && { related }) };
  const rules = ALL_RULES.filter((rule) => rule.id === ruleId);
  let errors = 0;
  const counted = measureWork(() => {
    errors = evaluate(object, context, policy, rules).errors.length;
  });
  expect(errors).toBe(0);
  return { work: counted, size: JSON.stringify([object, related]).length };
}

describe('rules stay linear in the size of the object', () => {
  describe.each(Object.entries(FAMILIES))('%s', (_name, family) => {
    it.each(ALL_RULES.map((rule) => rule.id))('%s', (ruleId) => {
      const small = work(family, SMALL, ruleId);
      const large = work(family, SMALL * GROWTH, ruleId);
      const allowed = 1.5 * (large.size / small.size) * small.work;
      expect(large.work, `work grew from ${small.work} to ${large.work} while the object grew ${(large.size / small.size).toFixed(1)}×`).toBeLessThanOrEqual(allowed);
    });
  });
});
