import { describe, expect, it } from 'vitest';
import { effectivePodRequest } from '../../src/model/resources.js';
import { migrateObject, planMigration } from '../../src/migration/index.js';
import { applyPlan, container, context, names, one, options, podSpecOf, podSpecViolations } from './support.js';

const job = (containers: string, extra = ''): string => `
apiVersion: batch/v1
kind: Job
metadata:
  name: export
spec:
${extra}  template:
    spec:
      restartPolicy: Never
      containers:
${containers}`;

const APP = `        - name: app
          image: registry.example.com/export:1.8.0
`;
const PROXY = `        - name: cloud-sql-proxy
          image: gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0
          args: ["--port=5432", "project:region:main"]
`;

describe('which containers move', () => {
  it('moves a well-known sidecar image out of containers into initContainers with restartPolicy Always', () => {
    const object = one(job(APP + PROXY));
    const plan = planMigration(object, options());
    expect(plan.action).toBe('patch');
    expect(plan.moved).toEqual(['cloud-sql-proxy']);
    const spec = podSpecOf(applyPlan(object, plan));
    expect(names(spec.containers)).toEqual(['app']);
    expect(names(spec.initContainers)).toEqual(['cloud-sql-proxy']);
    expect(container(spec, 'cloud-sql-proxy')).toMatchObject({ restartPolicy: 'Always', args: ['--port=5432', 'project:region:main'] });
  });

  it('moves a container whose command never ends (tail -F)', () => {
    const object = one(job(APP + `        - name: shipper
          image: alpine:3.20
          command: ['sh', '-c', 'tail -F /var/log/app.log']
`));
    expect(planMigration(object, options()).moved).toEqual(['shipper']);
  });

  it('leaves an ambiguous helper image (envoy) in place unless the annotation names it', () => {
    const envoy = `        - name: envoy
          image: envoyproxy/envoy:v1.31.0
`;
    expect(planMigration(one(job(APP + envoy)), options()).action).toBe('none');
    const named = one(job(APP + envoy).replace('    spec:\n      restartPolicy', '    metadata:\n      annotations:\n        podpatterns.io/sidecars: envoy\n    spec:\n      restartPolicy'));
    expect(planMigration(named, options()).moved).toEqual(['envoy']);
  });

  it('lets the annotation on the Job metadata name the sidecars, and moves only those', () => {
    const object = one(job(APP + PROXY + `        - name: shipper
          image: alpine:3.20
          command: ['sh', '-c', 'tail -F /var/log/app.log']
`).replace('  name: export\n', '  name: export\n  annotations:\n    podpatterns.io/sidecars: shipper\n'));
    expect(planMigration(object, options()).moved).toEqual(['shipper']);
  });

  it('never moves the main container the default-container annotation names, even when it is a sidecar image', () => {
    const object = one(job(PROXY + APP).replace('    spec:\n      restartPolicy', '    metadata:\n      annotations:\n        kubectl.kubernetes.io/default-container: cloud-sql-proxy\n    spec:\n      restartPolicy'));
    expect(planMigration(object, options()).action).toBe('none');
  });

  it('refuses an annotation that names a container that does not exist, and says which', () => {
    const object = one(job(APP + PROXY).replace('  name: export\n', '  name: export\n  annotations:\n    podpatterns.io/sidecars: cloud-sql-proxy,sql-proxy\n'));
    const plan = planMigration(object, options());
    expect(plan.action).toBe('none');
    expect(plan.patch).toEqual([]);
    expect(plan.warnings).toEqual(['podpatterns.io/sidecars names sql-proxy, which is not a container of this pod: nothing migrated']);
  });

  it('refuses an annotation that names the main container', () => {
    const object = one(
      job(APP + PROXY)
        .replace('  name: export\n', '  name: export\n  annotations:\n    podpatterns.io/sidecars: app\n')
        .replace('    spec:\n      restartPolicy', '    metadata:\n      annotations:\n        kubectl.kubernetes.io/default-container: app\n    spec:\n      restartPolicy'),
    );
    const plan = planMigration(object, options());
    expect(plan.action).toBe('none');
    expect(plan.warnings[0]).toContain('names app, the main container');
  });

  it('refuses an annotation that would leave no regular container', () => {
    const object = one(job(APP + PROXY).replace('  name: export\n', '  name: export\n  annotations:\n    podpatterns.io/sidecars: app,cloud-sql-proxy\n'));
    const plan = planMigration(object, options());
    expect(plan.action).toBe('none');
    expect(plan.warnings[0]).toContain('names every container');
  });

  it('treats the unnamed container as the main one when the annotation names the engine\'s guess', () => {
    const sqlproxy = `        - name: sqlproxy
          image: registry.example.com/sqlproxy:1.0
`;
    const object = one(job(sqlproxy + APP).replace('  name: export\n', '  name: export\n  annotations:\n    podpatterns.io/sidecars: sqlproxy\n'));
    expect(planMigration(object, options()).moved).toEqual(['sqlproxy']);
  });

  it('leaves a single-container Job alone', () => {
    const plan = planMigration(one(job(PROXY)), options());
    expect(plan).toMatchObject({ action: 'none', patch: [], warnings: [] });
  });

  it('refuses a pod spec with a duplicate container name', () => {
    const object = one(job(APP + PROXY + PROXY));
    const plan = planMigration(object, options());
    expect(plan.action).toBe('none');
    expect(plan.warnings[0]).toContain('cloud-sql-proxy is used twice');
  });
});

describe('placement', () => {
  const withInit = one(`
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    spec:
      restartPolicy: OnFailure
      initContainers:
        - name: wait-for-db
          image: busybox:1.36
          command: ['sh', '-c', 'until nc -z db 5432; do sleep 2; done']
          resources: {requests: {cpu: 500m, memory: 256Mi}}
        - name: vault-agent
          image: hashicorp/vault:1.17
          restartPolicy: Always
          resources: {requests: {cpu: 50m, memory: 64Mi}}
      containers:
        - name: fluent-bit
          image: fluent/fluent-bit:3.1
          resources: {requests: {cpu: 100m, memory: 128Mi}}
        - name: migrate
          image: registry.example.com/migrate:2.0
          resources: {requests: {cpu: 250m, memory: 512Mi}}
        - name: otel
          image: otel/opentelemetry-collector-contrib:0.110.0
          resources: {limits: {cpu: 200m, memory: 300Mi}}
`);

  it('appends the sidecars after the existing init containers in their original order', () => {
    const spec = podSpecOf(applyPlan(withInit, planMigration(withInit, options())));
    expect(names(spec.initContainers)).toEqual(['wait-for-db', 'vault-agent', 'fluent-bit', 'otel']);
    expect(names(spec.containers)).toEqual(['migrate']);
  });

  it('keeps the effective cpu and memory request of the pod when appending', () => {
    const before = podSpecOf(withInit);
    const after = podSpecOf(applyPlan(withInit, planMigration(withInit, options())));
    for (const resource of ['cpu', 'memory']) expect(effectivePodRequest(after, resource)).toBe(effectivePodRequest(before, resource));
    expect(effectivePodRequest(after, 'cpu')).toBeCloseTo(0.6);
  });

  it('puts the sidecars first with podpatterns.io/sidecars-first and warns that the effective request grows', () => {
    const first = structuredClone(withInit);
    (first.metadata as Record<string, unknown>).annotations = { 'podpatterns.io/sidecars-first': 'true' };
    const plan = planMigration(first, options());
    const spec = podSpecOf(applyPlan(first, plan));
    expect(names(spec.initContainers)).toEqual(['fluent-bit', 'otel', 'wait-for-db', 'vault-agent']);
    expect(plan.warnings).toContain("podpatterns.io/sidecars-first changes the pod's effective cpu request from 600m to 800m");
    expect(plan.warnings.join('\n')).not.toContain('memory request');
  });

  it('creates initContainers when the pod has none', () => {
    const object = one(job(APP + PROXY));
    expect(planMigration(object, options()).patch).toContainEqual({
      op: 'add',
      path: '/spec/template/spec/initContainers',
      value: [expect.objectContaining({ name: 'cloud-sql-proxy', restartPolicy: 'Always' })],
    });
  });
});

describe('the patch', () => {
  it('removes from the highest index down, adds, then marks the pod template with escaped JSON Pointers', () => {
    const object = one(job(PROXY + APP + `        - name: promtail
          image: grafana/promtail:3.0.0
`));
    expect(planMigration(object, options()).patch.map(({ op, path }) => `${op} ${path}`)).toEqual([
      'remove /spec/template/spec/containers/2',
      'remove /spec/template/spec/containers/0',
      'add /spec/template/spec/initContainers',
      'add /spec/template/metadata',
    ]);
    const migrated = applyPlan(object, planMigration(object, options()));
    expect((migrated.spec as { template: { metadata: unknown } }).template.metadata).toEqual({
      annotations: { 'podpatterns.io/migrated-sidecars': 'cloud-sql-proxy,promtail' },
    });
  });

  it('adds one annotation key when the pod template already has annotations', () => {
    const object = one(job(APP + PROXY).replace('    spec:\n      restartPolicy', '    metadata:\n      annotations:\n        team: data\n    spec:\n      restartPolicy'));
    expect(planMigration(object, options()).patch.at(-1)).toEqual({
      op: 'add',
      path: '/spec/template/metadata/annotations/podpatterns.io~1migrated-sidecars',
      value: 'cloud-sql-proxy',
    });
  });

  it('keeps every field of the moved container, including fields it does not know', () => {
    const object = one(job(APP + `        - name: istio-proxy
          image: docker.io/istio/proxyv2:1.24.0
          args: [proxy, sidecar]
          env: [{name: PILOT_CERT_PROVIDER, value: istiod}]
          ports: [{containerPort: 15090, name: http-envoy-prom}]
          resources: {requests: {cpu: 100m}}
          volumeMounts: [{name: istio-envoy, mountPath: /etc/istio/proxy}]
          securityContext: {runAsUser: 1337}
          lifecycle: {postStart: {exec: {command: [pilot-agent, wait]}}}
          readinessProbe: {httpGet: {path: /healthz/ready, port: 15021}}
          futureField: {kept: true}
`));
    const before = podSpecOf(object).containers![1]!;
    const after = container(podSpecOf(applyPlan(object, planMigration(object, options()))), 'istio-proxy');
    expect(after).toEqual({ ...before, restartPolicy: 'Always' });
    expect(Object.keys(after).indexOf('restartPolicy')).toBe(Object.keys(after).indexOf('image') + 1);
  });

  it('leaves the input object untouched and returns a migrated copy', () => {
    const object = one(job(APP + PROXY));
    const snapshot = structuredClone(object);
    const { object: migrated, plan } = migrateObject(object, options());
    expect(object).toEqual(snapshot);
    expect(migrated).toEqual(applyPlan(object, plan));
  });

  it('changes nothing on a second pass over a migrated Job', () => {
    const object = one(job(APP + PROXY));
    const migrated = applyPlan(object, planMigration(object, options()));
    expect(planMigration(migrated, options())).toMatchObject({ action: 'none', patch: [] });
  });

  it('changes nothing on a second pass when the annotation named the sidecars', () => {
    const object = one(job(APP + PROXY).replace('  name: export\n', '  name: export\n  annotations:\n    podpatterns.io/sidecars: cloud-sql-proxy\n'));
    const migrated = applyPlan(object, planMigration(object, options()));
    expect(planMigration(migrated, options())).toMatchObject({ action: 'none', patch: [], warnings: [] });
  });
});

describe('fields a native sidecar may not carry', () => {
  const object = one(job(APP + `        - name: shipper
          image: fluent/fluent-bit:3.1
          restartPolicy: OnFailure
          restartPolicyRules:
            - action: Restart
              exitCodes: {operator: In, values: [42]}
          livenessProbe: {exec: {command: [true]}, successThreshold: 3}
          startupProbe: {exec: {command: [true]}, successThreshold: 2}
          readinessProbe: {exec: {command: [true]}, terminationGracePeriodSeconds: 10}
          resizePolicy: [{resourceName: cpu, restartPolicy: NotRequired}]
`));

  it('fixes each of them and says so', () => {
    const plan = planMigration(object, options({ context: context('1.32') }));
    const shipper = container(podSpecOf(applyPlan(object, plan)), 'shipper');
    expect(shipper).toMatchObject({ restartPolicy: 'Always', livenessProbe: { successThreshold: 1 }, startupProbe: { successThreshold: 1 } });
    expect(shipper).not.toHaveProperty('restartPolicyRules');
    expect(shipper).not.toHaveProperty('resizePolicy');
    expect(shipper.readinessProbe).toEqual({ exec: { command: [true] } });
    expect(plan.warnings).toEqual(
      expect.arrayContaining([
        'shipper: restartPolicy OnFailure replaced by Always, which makes it a native sidecar',
        'shipper: restartPolicyRules removed: a native sidecar always restarts and rejects them',
        'shipper: livenessProbe.successThreshold 3 set to 1, the only value allowed',
        'shipper: startupProbe.successThreshold 2 set to 1, the only value allowed',
        'shipper: readinessProbe.terminationGracePeriodSeconds removed: not allowed on a readiness probe',
        'shipper: resizePolicy removed: init containers accept it from Kubernetes 1.33',
      ]),
    );
    expect(podSpecViolations(podSpecOf(applyPlan(object, plan)), context('1.32').kubernetesVersion)).toEqual([]);
  });

  it('keeps resizePolicy from Kubernetes 1.33, where sidecars may be resized in place', () => {
    const shipper = container(podSpecOf(applyPlan(object, planMigration(object, options({ context: context('1.33') })))), 'shipper');
    expect(shipper.resizePolicy).toEqual([{ resourceName: 'cpu', restartPolicy: 'NotRequired' }]);
  });
});

describe('when it is safe', () => {
  it.each([
    ['1.28', '1.28', 'API server 1.28, oldest kubelet 1.28'],
    ['1.30', '1.27', 'oldest kubelet 1.27'],
  ])('changes nothing on API server %s with kubelet %s and says which is too old', (api, kubelet, why) => {
    const plan = planMigration(one(job(APP + PROXY)), options({ context: context(api, kubelet) }));
    expect(plan).toMatchObject({ action: 'none', patch: [] });
    expect(plan.warnings).toEqual([`native sidecars need Kubernetes 1.29+ (${why}): cloud-sql-proxy not migrated`]);
  });

  it('migrates from 1.29 on both sides', () => {
    expect(planMigration(one(job(APP + PROXY)), options({ context: context('1.29') })).action).toBe('patch');
  });
});

describe('modes and scope', () => {
  it('only reports in dry-run mode, in a warning and the would-migrate-sidecars audit annotation', () => {
    const plan = planMigration(one(job(APP + PROXY)), options({ settings: { mode: 'dry-run' } }));
    expect(plan).toMatchObject({
      action: 'dry-run',
      moved: ['cloud-sql-proxy'],
      patch: [],
      auditAnnotations: { 'would-migrate-sidecars': 'cloud-sql-proxy' },
    });
    expect(plan.warnings[0]).toBe('dry-run: would move cloud-sql-proxy to initContainers as a native sidecar');
  });

  it('records what moved in the migrated-sidecars audit annotation', () => {
    expect(planMigration(one(job(APP + PROXY)), options()).auditAnnotations).toEqual({ 'migrated-sidecars': 'cloud-sql-proxy' });
  });

  it('does nothing in off mode', () => {
    expect(planMigration(one(job(APP + PROXY)), options({ settings: { mode: 'off' } }))).toMatchObject({ action: 'none', warnings: [], skipped: 'migration mode is off' });
  });

  it('only migrates a Job when it is created, since its pod template is immutable afterwards', () => {
    expect(planMigration(one(job(APP + PROXY)), options({ operation: 'UPDATE' })).action).toBe('none');
    expect(planMigration(one(job(APP + PROXY)), options({ operation: 'CREATE' })).action).toBe('patch');
  });

  it('honours podpatterns.io/migrate: "false" on the Job and on its namespace', () => {
    const optedOut = one(job(APP + PROXY).replace('  name: export\n', '  name: export\n  annotations:\n    podpatterns.io/migrate: "false"\n'));
    expect(planMigration(optedOut, options()).action).toBe('none');
    expect(planMigration(one(job(APP + PROXY)), options({ namespaceAnnotations: { 'podpatterns.io/migrate': 'false' } })).action).toBe('none');
  });

  it('migrates CronJobs and bare Pods only when the settings opt in', () => {
    const cronJob = one(`
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 2 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
${APP.replace(/^ {8}/gm, '            ')}${PROXY.replace(/^ {8}/gm, '            ')}`);
    const pod = one(`
apiVersion: v1
kind: Pod
metadata: {name: once}
spec:
  restartPolicy: Never
  containers:
${APP.replace(/^ {8}/gm, '    ')}${PROXY.replace(/^ {8}/gm, '    ')}`);
    expect(planMigration(cronJob, options()).action).toBe('none');
    expect(planMigration(cronJob, options({ settings: { cronJobs: true } })).patch[0]).toEqual({ op: 'remove', path: '/spec/jobTemplate/spec/template/spec/containers/1' });
    expect(planMigration(pod, options()).action).toBe('none');
    expect(planMigration(pod, options({ settings: { pods: true } })).patch[0]).toEqual({ op: 'remove', path: '/spec/containers/1' });
    const owned = structuredClone(pod);
    (owned.metadata as Record<string, unknown>).ownerReferences = [{ kind: 'Job', name: 'export', controller: true }];
    expect(planMigration(owned, options({ settings: { pods: true } })).skipped).toBe('Pod is owned by Job export');
  });

  it.each([
    ['Argo Workflows', { 'workflows.argoproj.io/workflow': 'etl-x7' }, ['wait', 'main']],
    ['Tekton', { 'tekton.dev/taskRun': 'build-1' }, ['step-build', 'step-push']],
    ['Tekton', {}, ['step-build', 'sidecar-registry']],
    ['Airflow', {}, ['base', 'airflow-xcom-sidecar']],
  ])('leaves %s pods alone', (engine, labels, containerNames) => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'step', labels },
      spec: { restartPolicy: 'Never', containers: containerNames.map((name) => ({ name, image: 'busybox:1.36', command: ['sleep', 'infinity'] })) },
    };
    expect(planMigration(pod, options({ settings: { pods: true } })).skipped).toBe(`${engine} pod: the workflow engine drives its containers itself`);
  });

  it('ignores kinds that are not migrated and objects that are not Kubernetes objects', () => {
    expect(planMigration({ apiVersion: 'apps/v1', kind: 'Deployment' }, options()).skipped).toBe('Deployment is not migrated');
    expect(planMigration('not an object', options()).action).toBe('none');
    expect(planMigration({ kind: 'Job', spec: 'nonsense' }, options()).action).toBe('none');
  });
});

describe('injected meshes', () => {
  const injected = (metadata: string): ReturnType<typeof one> =>
    one(job(APP).replace('    spec:\n      restartPolicy', `    metadata:\n${metadata}    spec:\n      restartPolicy`));

  it('turns on Istio\'s native sidecar for a pod Istio will inject', () => {
    const object = injected('      labels:\n        sidecar.istio.io/inject: "true"\n');
    const plan = planMigration(object, options());
    expect(plan.patch).toEqual([{ op: 'add', path: '/spec/template/metadata/annotations', value: { 'sidecar.istio.io/nativeSidecar': 'true' } }]);
    expect(plan.auditAnnotations).toEqual({ 'mesh-native-sidecar': 'istio' });
    expect(plan.moved).toEqual([]);
  });

  it('turns on Linkerd\'s native sidecar under every name Linkerd releases read', () => {
    const plan = planMigration(injected('      annotations:\n        linkerd.io/inject: enabled\n'), options());
    const migrated = applyPlan(injected('      annotations:\n        linkerd.io/inject: enabled\n'), plan);
    expect((migrated.spec as { template: { metadata: { annotations: unknown } } }).template.metadata.annotations).toEqual({
      'linkerd.io/inject': 'enabled',
      'config.alpha.linkerd.io/proxy-enable-native-sidecar': 'true',
      'config.beta.linkerd.io/proxy-enable-native-sidecar': 'true',
      'config.linkerd.io/proxy-enable-native-sidecar': 'true',
    });
  });

  it('sees namespace-wide injection when the namespace labels are given', () => {
    expect(planMigration(one(job(APP)), options()).action).toBe('none');
    expect(planMigration(one(job(APP)), options({ namespaceLabels: { 'istio-injection': 'enabled' } })).auditAnnotations).toEqual({ 'mesh-native-sidecar': 'istio' });
    expect(planMigration(one(job(APP)), options({ namespaceAnnotations: { 'linkerd.io/inject': 'enabled' } })).auditAnnotations).toEqual({ 'mesh-native-sidecar': 'linkerd' });
  });

  it('respects a pod that opts out of injection or already chose classic injection', () => {
    expect(planMigration(injected('      labels:\n        sidecar.istio.io/inject: "false"\n'), options({ namespaceLabels: { 'istio-injection': 'enabled' } })).action).toBe('none');
    const classic = planMigration(injected('      labels:\n        sidecar.istio.io/inject: "true"\n      annotations:\n        sidecar.istio.io/nativeSidecar: "false"\n'), options());
    expect(classic.action).toBe('none');
    expect(classic.warnings).toEqual(['sidecar.istio.io/nativeSidecar is "false": the injected istio-proxy will keep this Job from completing']);
  });

  it('does not touch the switch when the pod template already carries the proxy, which moves instead', () => {
    const object = injected('      labels:\n        sidecar.istio.io/inject: "true"\n');
    (podSpecOf(object).containers as unknown[]).push({ name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.24.0' });
    const plan = planMigration(object, options());
    expect(plan.moved).toEqual(['istio-proxy']);
    expect(plan.auditAnnotations).toEqual({ 'migrated-sidecars': 'istio-proxy' });
  });

  it('does nothing for the mesh below Kubernetes 1.29', () => {
    const plan = planMigration(injected('      labels:\n        sidecar.istio.io/inject: "true"\n'), options({ context: context('1.28') }));
    expect(plan.action).toBe('none');
    expect(plan.warnings[0]).toContain('istio switch not migrated');
  });
});

describe('pre-native workarounds and Job semantics', () => {
  it.each([
    ['kubexit (KUBEXIT_* env)', `          env: [{name: KUBEXIT_NAME, value: app}, {name: KUBEXIT_GRAVEYARD, value: /graveyard}]\n`],
    ['Istio quitquitquit call', `          command: ['sh', '-c', 'run-export; curl -fsS -X POST http://localhost:15020/quitquitquit']\n`],
    ['cloud-sql-proxy --quitquitquit', `          command: ['sh', '-c', 'run-export; wget -qO- --post-data= http://127.0.0.1:9091/quitquitquit']\n`],
    ['linkerd-await --shutdown', `          command: ['linkerd-await', '--shutdown', '--', 'run-export']\n`],
    ['Dapr /v1.0/shutdown call', `          command: ['sh', '-c', 'run-export && curl -X POST http://localhost:3500/v1.0/shutdown']\n`],
    ['KRUISE_TERMINATE_SIDECAR_WHEN_JOB_EXIT', `          env: [{name: KRUISE_TERMINATE_SIDECAR_WHEN_JOB_EXIT, value: "true"}]\n`],
    ['shared "done" file', `          command: ['sh', '-c', 'run-export; touch /shared/done']\n`],
  ])('warns that %s now makes the native sidecar restart, counted against backoffLimit with OnFailure', (label, field) => {
    const object = one(job(APP + field + PROXY).replace('restartPolicy: Never', 'restartPolicy: OnFailure'));
    const plan = planMigration(object, options());
    expect(plan.action).toBe('patch');
    expect(plan.warnings).toContain(`app: ${label} makes the native sidecar exit and restart; restarts count to backoffLimit`);
  });

  it('warns about shareProcessNamespace with a kill of the sidecar, and never rewrites the command', () => {
    const object = one(job(APP + `          command: ['sh', '-c', 'run-export; pkill -f cloud-sql-proxy']\n` + PROXY).replace('      restartPolicy: Never', '      restartPolicy: Never\n      shareProcessNamespace: true'));
    const plan = planMigration(object, options());
    expect(plan.warnings).toContain('app: shareProcessNamespace + kill makes the native sidecar exit and restart');
    expect(container(podSpecOf(applyPlan(object, plan)), 'app').command).toEqual(['sh', '-c', 'run-export; pkill -f cloud-sql-proxy']);
  });

  it('warns about podFailurePolicy rules that match exit codes of any container', () => {
    const object = one(job(APP + PROXY, `  podFailurePolicy:
    rules:
      - action: FailJob
        onExitCodes: {operator: NotIn, values: [0]}
      - action: Ignore
        onExitCodes: {containerName: app, operator: In, values: [42]}
`));
    expect(planMigration(object, options()).warnings).toContain(
      'podFailurePolicy.rules[0] has onExitCodes without containerName: sidecar exit codes (143) match it too',
    );
    expect(planMigration(object, options()).warnings.join('\n')).not.toContain('rules[1]');
  });

  it('keeps every warning within 120 characters', () => {
    const long = 'a-container-with-a-remarkably-long-name-that-goes-on-and-on-and-on';
    const object = one(job(APP + PROXY.replace('cloud-sql-proxy\n', `${long}\n`) + `          restartPolicy: OnFailure\n          env: [{name: KUBEXIT_NAME, value: x}]\n`));
    for (const warning of planMigration(object, options()).warnings) expect(warning.length).toBeLessThanOrEqual(120);
  });
});
