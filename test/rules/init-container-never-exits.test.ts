import { describe, expect, it } from 'vitest';
import { ruleFindings } from '../support/engine.js';
import { realWorldCorpus } from '../support/corpus.js';
import { everyWorkloadKind, realWorld } from './workloads.js';

const RULE = 'init-container-never-exits';

const pod = (init: string) => `apiVersion: v1
kind: Pod
metadata: { name: p, namespace: team-a }
spec:
  initContainers:
    - name: setup
      image: busybox:1.37.0
${init}
  containers:
    - { name: app, image: "registry.example.com/app:1.0.0" }
`;

const flagged = (init: string, options = {}) => ruleFindings(RULE, pod(init), options);

describe('init-container-never-exits', () => {
  it('denies the seed article\'s log shipper written as an init container with `& sleep infinity`', () => {
    const findings = ruleFindings(RULE, `apiVersion: v1
kind: Pod
metadata: { name: app-with-sidecar }
spec:
  initContainers:
    - name: log-shipper
      image: fluent/fluent-bit:3.0
      command: ["sh", "-c", "fluent-bit -c /etc/fluent-bit.conf & sleep infinity"]
  containers:
    - { name: app, image: "myorg/app:2.1" }
`);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'deny', container: 'log-shipper', path: 'spec.initContainers[0].command' });
    expect(findings[0]!.message).toContain('`sleep infinity`');
    expect(findings[0]!.message).toContain("stays in 'Init' forever");
    expect(findings[0]!.fix).toContain('`restartPolicy: Always`');
    expect(findings[0]!.fix).toContain('1.29+');
  });

  it.each([
    ['tail -f /dev/null', '      command: ["tail", "-f", "/dev/null"]', 'spec.initContainers[0].command'],
    ['an endless while loop in args', '      command: ["/bin/sh", "-c"]\n      args: ["while true; do date; sleep 10; done"]', 'spec.initContainers[0].args'],
    ['sleep split over command and args', '      command: ["sleep"]\n      args: ["infinity"]', 'spec.initContainers[0].args'],
    ['a server started in the background and waited for', '      command: ["sh", "-c", "nginx -g \'daemon off;\' -c /etc/nginx/nginx.conf & echo started; envoy -c /etc/envoy.yaml & wait"]', 'spec.initContainers[0].command'],
    ['a week-long sleep', '      command: ["sh", "-c", "sleep 7d"]', 'spec.initContainers[0].command'],
    ['tail with an option value before -F', '      command: ["sh", "-c", "tail -n +1 -F /var/log/app.log"]', 'spec.initContainers[0].command'],
  ])('denies an init container that keeps running with %s', (_, init, path) => {
    const findings = flagged(init);
    expect(findings.map((f) => f.path)).toEqual([path]);
  });

  it.each([
    ['the otel-demo wait loop', `      command: ["sh", "-c", "until nc -z -v -w30 kafka 9092; do echo waiting for kafka; sleep 2; done;"]`],
    ['the seed article\'s wait-for-postgres', '      command:\n        - sh\n        - -c\n        - |\n          until nc -z postgres-service 5432; do\n            echo "waiting for postgres..."\n            sleep 2\n          done'],
    ['a bounded for loop', `      command: ["/bin/sh", "-exc", "for i in $(seq 1 12); do wget -qO- http://frontend:80 && exit 0; sleep 10; done; exit 1"]`],
    ['a copy of the sleep binary', '      command: ["sh", "-c", "cp /bin/sleep /test/sleep"]'],
    ['a while true loop that breaks out', '      command: ["sh", "-c", "while true; do if [ -f /ready ]; then break; fi; sleep 1; done"]'],
    ['a keep-alive loop in the background while the real work runs', '      command: ["sh", "-c", "(while true; do touch /tmp/alive; sleep 5; done) & ./migrate.sh"]'],
    ['a short sleep', '      command: ["sh", "-c", "sleep 30 && ./seed.sh"]'],
    ['no command at all (the image entrypoint is unknown)', '      args: []'],
  ])('allows %s', (_, init) => {
    expect(flagged(init)).toEqual([]);
  });

  it('skips malformed commands and containers without an error', () => {
    expect(ruleFindings(RULE, `apiVersion: v1
kind: Pod
metadata: { name: broken }
spec:
  initContainers: [{ name: a, command: "sleep infinity" }, { name: b, command: [42, null], args: { x: 1 } }, 7, null]
  containers: [{ name: app }]
`)).toEqual([]);
  });

  it('never reports a native sidecar, which is meant to keep running', () => {
    expect(flagged('      restartPolicy: Always\n      command: ["sh", "-c", "tail -F /var/log/app.log"]')).toEqual([]);
  });

  it('tells clusters below 1.29 to move the container to containers instead of making it a native sidecar', () => {
    for (const versions of [{ kubernetesVersion: '1.28' }, { kubernetesVersion: '1.30', minKubeletVersion: '1.27' }]) {
      const [finding] = flagged('      command: ["sh", "-c", "sleep infinity"]', versions);
      expect(finding!.fix).toContain('move it from `initContainers` to `containers`');
      expect(finding!.fix).not.toContain('add `restartPolicy: Always`');
    }
  });

  it('reaches the init containers of every workload kind', () => {
    const spec = {
      initContainers: [{ name: 'hold', image: 'busybox:1.37.0', command: ['sh', '-c', 'sleep infinity'] }],
      containers: [{ name: 'app', image: 'registry.example.com/app:1.0.0' }],
    };
    for (const { kind, yaml, specPath } of everyWorkloadKind(spec)) {
      expect(ruleFindings(RULE, yaml).map((f) => f.path), kind).toEqual([`${specPath}.initContainers[0].command`]);
    }
  });

  it.skipIf(!realWorldCorpus.available).each([
    ['otel-demo-helm-rendered.yaml', 'wait-for-* loops `until nc -z …; do sleep 2; done`'],
    ['microservices-demo-release.yaml', 'the loadgenerator frontend-check retries a bounded 12x10s loop'],
    ['otel-collector-examples-sharedpid-prestop.yaml', 'the agent init runs `cp /bin/sleep /test/sleep`'],
    ['k8s-website-native-sidecars.yaml', 'native sidecars loop and `tail -F` forever, as they should'],
    ['bitnami-airflow.yaml', 'plain init containers prepare config and exit'],
  ])('raises nothing on real-world %s (%s)', (file) => {
    expect(ruleFindings(RULE, realWorld(file))).toEqual([]);
  });
});
