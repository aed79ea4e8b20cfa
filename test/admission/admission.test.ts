import { describe, expect, it } from 'vitest';
import { validateRequest } from '../../src/admission/admit.js';
import { decide, denialMessage, responseFor } from '../../src/admission/decision.js';
import { annotationKey, boundedAnnotations, boundedWarnings, MAX_ANNOTATION_VALUE_LENGTH, MAX_STATUS_MESSAGE_LENGTH, MAX_WARNINGS } from '../../src/admission/limits.js';
import { parseMode } from '../../src/admission/mode.js';
import { mutateRequest, type MutationSettings } from '../../src/admission/mutate.js';
import { allowed, denied, patchResponse, patchResponseFromRaw, reviewResponse, withAuditAnnotations, withWarnings } from '../../src/admission/response.js';
import { decodeAdmissionReview, InvalidReviewError, type AdmissionRequest } from '../../src/admission/review.js';
import type { Finding } from '../../src/engine/types.js';
import { defaultPolicy, parsePolicy } from '../../src/policy/policy.js';
import { ALL_RULES } from '../../src/rules/index.js';
import { admissionReview, webPod } from '../server/support.js';

const finding = (overrides: Partial<Finding> = {}): Finding => ({
  rule: 'port-conflict',
  severity: 'deny',
  resource: { apiVersion: 'v1', kind: 'Pod', name: 'web' },
  container: 'metrics-proxy',
  path: 'spec.containers[1].ports[0].containerPort',
  message: "containers 'app' and 'metrics-proxy' both declare port 8080/TCP",
  fix: "Move 'metrics-proxy' to another port.",
  problem: "shares port 8080/TCP with 'app': one fails to bind",
  ...overrides,
});

const portConflict = ALL_RULES.filter((rule) => rule.id === 'port-conflict');
const settings = (overrides: Partial<MutationSettings> = {}): MutationSettings => ({
  rules: portConflict,
  policy: defaultPolicy(ALL_RULES),
  versions: { kubernetesVersion: { major: 1, minor: 35 }, minKubeletVersion: { major: 1, minor: 35 } },
  mode: 'enforce',
  ...overrides,
});
const requestFor = (object: unknown, options: Parameters<typeof admissionReview>[1] = {}): AdmissionRequest => decodeAdmissionReview(admissionReview(object, options)).request;

describe('decodeAdmissionReview', () => {
  it('keeps the fields podpatterns reads and the objects as sent', () => {
    const pod = webPod();
    const { apiVersion, request } = decodeAdmissionReview(admissionReview(pod, { uid: 'abc', dryRun: true }));
    expect(apiVersion).toBe('admission.k8s.io/v1');
    expect(request).toEqual({ uid: 'abc', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'default', name: 'web', object: pod, oldObject: null, dryRun: true });
  });

  it('names the uid in errors found after the uid is known', () => {
    const review = admissionReview(webPod(), { uid: 'u-7' });
    review.request.namespace = 7;
    expect(() => decodeAdmissionReview(review)).toThrow(new InvalidReviewError('request.namespace must be a string of at most 253 characters, not number 7', 'u-7'));
  });
});

describe('response helpers', () => {
  it('echoes the uid and apiVersion on every answer', () => {
    expect(reviewResponse('admission.k8s.io/v1beta1', 'u-1', denied('no'))).toEqual({
      apiVersion: 'admission.k8s.io/v1beta1',
      kind: 'AdmissionReview',
      response: { uid: 'u-1', allowed: false, status: { status: 'Failure', code: 403, reason: 'Forbidden', message: 'no' } },
    });
  });

  it('sets patchType only when there is a patch', () => {
    expect(patchResponse([])).toEqual({ allowed: true });
    const response = patchResponseFromRaw({ spec: { containers: [{ name: 'a', x: 1 }] } }, { spec: { containers: [{ name: 'a', x: 1 }], initContainers: [{ name: 'b' }] } });
    expect(response.patchType).toBe('JSONPatch');
    expect(JSON.parse(Buffer.from(response.patch!, 'base64').toString('utf8'))).toEqual([{ op: 'add', path: '/spec/initContainers', value: [{ name: 'b' }] }]);
  });

  it('makes warnings printable, at most 120 characters, unique and bounded in number', () => {
    const warned = withWarnings(allowed(), 'line one\nline two\u0007', 'x'.repeat(500), 'same', 'same');
    expect(warned.warnings).toEqual(['line one line two', `${'x'.repeat(119)}…`, 'same']);
    const many = boundedWarnings(Array.from({ length: 100 }, (_, index) => `warning ${index}`));
    expect(many).toHaveLength(MAX_WARNINGS);
    expect(many.at(-1)).toMatch(/71 more warnings not shown/);
  });

  it('keeps annotation keys the API server accepts after `<webhook name>/`', () => {
    expect(annotationKey('port-conflict')).toBe('port-conflict');
    expect(annotationKey('podpatterns.io/port-conflict')).toBe('podpatterns.io-port-conflict');
    expect(annotationKey('-rule-')).toBe('rule');
    expect(annotationKey('r'.repeat(80))).toHaveLength(63);
    expect(annotationKey('///')).toBeUndefined();
    const bounded = boundedAnnotations({ a: 'v'.repeat(20_000), b: 'v'.repeat(20_000), c: 'v'.repeat(20_000), d: 'v'.repeat(20_000) });
    expect(bounded.a).toHaveLength(MAX_ANNOTATION_VALUE_LENGTH);
    expect(Object.values(bounded).join('').length).toBeLessThanOrEqual(32 * 1024);
    expect(withAuditAnnotations(allowed(), {})).toEqual({ allowed: true });
  });
});

describe('decide', () => {
  it('denies deny findings in enforce mode, warns in warn mode and only records in audit mode', () => {
    const findings = [finding(), finding({ rule: 'unpinned-image', severity: 'warn' }), finding({ rule: 'too-many-sidecars', severity: 'audit' })];
    expect(decide(findings, undefined, 'enforce')).toMatchObject({ allowed: false, denials: [findings[0]], warnings: [findings[1]] });
    expect(decide(findings, undefined, 'warn')).toMatchObject({ allowed: true, denials: [], warnings: [findings[0], findings[1]] });
    expect(decide(findings, undefined, 'audit')).toMatchObject({ allowed: true, denials: [], warnings: [], findings });
  });

  it('ratchets only a finding with the same rule, container and path as before the update', () => {
    const old = finding();
    expect(decide([finding()], [old], 'enforce')).toMatchObject({ allowed: true, ratcheted: [finding()] });
    expect(decide([finding({ path: 'spec.containers[2].ports[0].containerPort' })], [old], 'enforce').allowed).toBe(false);
    expect(decide([finding({ container: 'sidecar' })], [old], 'enforce').allowed).toBe(false);
  });

  it('warns with the short form while the denial and the audit annotation keep the full message and fix', () => {
    const long = finding({ message: `${finding().message}: they share the pod's network namespace, so if both listen on it the second to bind fails.` });
    const warned = responseFor(decide([long], undefined, 'warn'));
    expect(warned.warnings).toEqual(["'metrics-proxy' shares port 8080/TCP with 'app': one fails to bind (fix: podpatterns rules port-conflict)."]);
    expect(warned.auditAnnotations).toEqual({ 'port-conflict': long.message });
    const ratcheted = responseFor(decide([long], [long], 'enforce'));
    expect(ratcheted.warnings).toEqual(["'metrics-proxy' shares port 8080/TCP with 'app': one fails to bind (pre-existing; fix: podpatterns rules port-conflict)."]);
    const denied = responseFor(decide([long], undefined, 'enforce'));
    expect(denied.warnings).toBeUndefined();
    expect(denied.status?.message).toBe(`port-conflict: ${long.message} Fix: ${long.fix}`);
  });

  it('fits a long list of denials into a message kubectl prints whole', () => {
    const many = Array.from({ length: 40 }, (_, index) => finding({ rule: `rule-${index % 3}`, message: 'm'.repeat(150), path: `p${index}` }));
    const message = denialMessage(many);
    expect(message.length).toBeLessThanOrEqual(MAX_STATUS_MESSAGE_LENGTH);
    expect(message.split('\n')[0]).toBe('40 problems:');
    expect(message).toMatch(/\(\+\d+ more: rule-\d, rule-\d, rule-\d\)$/);
    expect(denialMessage([finding({ message: 'x'.repeat(5000) })]).length).toBe(MAX_STATUS_MESSAGE_LENGTH);
  });
});

describe('validateRequest', () => {
  it('denies a port conflict padded with 4,097 env entries: size never buys an unchecked admission', () => {
    const pod = webPod();
    pod.spec.containers[0].env = Array.from({ length: 4097 }, (_, index) => ({ name: `V${index}`, value: 'x' }));
    const result = validateRequest(requestFor(pod), settings({ rules: ALL_RULES }));
    expect(result.failure).toBeUndefined();
    expect(result.response.allowed).toBe(false);
    expect(result.response.status?.message).toMatch(/^port-conflict: /);
  });

  it('denies a port conflict among 200 containers', () => {
    const pod = webPod({ containers: 200 });
    const result = validateRequest(requestFor(pod), settings({ rules: ALL_RULES }));
    expect(result.failure).toBeUndefined();
    expect(result.response.allowed).toBe(false);
  });

  it('keeps a failure out of warnings in audit mode', () => {
    const throwing = [{ ...portConflict[0]!, evaluate: () => { throw new Error('boom'); } }];
    const result = validateRequest(requestFor(webPod()), settings({ rules: throwing, mode: 'audit' }));
    expect(result.response.warnings).toBeUndefined();
    expect(result.response.auditAnnotations?.['evaluation-error']).toBe('rule port-conflict failed: boom');
  });
});

describe('exemptions at admission', () => {
  const policy = (yaml: string) => parsePolicy(yaml, 'policy.yaml', ALL_RULES);
  const ignored = () => {
    const pod = webPod();
    pod.metadata.annotations = { 'podpatterns.io/ignore': 'port-conflict', 'podpatterns.io/ignore-reason': 'load test rig' };
    return pod;
  };

  it('denies an annotated pod when the policy does not honour annotations, and names no exemption', () => {
    const result = validateRequest(requestFor(ignored()), settings({ policy: policy('exemptions:\n  annotations: false\n') }));
    expect(result.response.allowed).toBe(false);
    expect(result.exempted).toEqual([]);
  });

  it('admits an annotated pod when the policy honours annotations, with a warning and an audit annotation naming rule and reason', () => {
    const result = validateRequest(requestFor(ignored()), settings());
    expect(result.response.allowed).toBe(true);
    expect(result.exempted.map((finding) => [finding.rule, finding.exemption])).toEqual([['port-conflict', { source: 'annotation', reason: 'load test rig' }]]);
    expect(result.response.warnings).toEqual([expect.stringMatching(/^port-conflict exempted by annotation \(load test rig\): 'metrics-proxy' shares port 8080\/TCP with 'app': one fails to bind$/)]);
    expect(result.response.warnings![0]!.length).toBeLessThanOrEqual(120);
    expect(result.response.auditAnnotations?.['exempted.port-conflict']).toMatch(/^by annotation \(load test rig\): containers 'app'/);
  });

  it('honours annotations only in the namespaces the policy lists, judged by the request namespace', () => {
    const only = policy('exemptions:\n  namespaces: [sandbox]\n');
    expect(validateRequest(requestFor(ignored()), settings({ policy: only })).response.allowed).toBe(false);
    const inSandbox = requestFor(ignored());
    expect(validateRequest({ ...inSandbox, namespace: 'sandbox' }, settings({ policy: only })).response.allowed).toBe(true);
  });

  it('applies a central exemption by namespace, kind and name glob, and shows its reason even in warn mode', () => {
    const central = policy('exemptions:\n  annotations: false\n  list:\n    - namespace: default\n      kind: Pod\n      name: "w?b*"\n      rules: [port-conflict]\n      reason: ticket OPS-1234\n');
    const result = validateRequest(requestFor(webPod()), settings({ policy: central }));
    expect(result.response.allowed).toBe(true);
    expect(result.exempted[0]!.exemption).toEqual({ source: 'policy', reason: 'ticket OPS-1234', entry: 'default/Pod/w?b* (policy line 4)' });
    const warned = validateRequest(requestFor(webPod()), settings({ policy: central, mode: 'warn' }));
    expect(warned.response.warnings).toEqual([expect.stringMatching(/^port-conflict exempted by policy \(ticket OPS-1234\)/)]);
    const audited = validateRequest(requestFor(webPod()), settings({ policy: central, mode: 'audit' }));
    expect(audited.response.warnings).toBeUndefined();
    expect(audited.response.auditAnnotations?.['exempted.port-conflict']).toContain('ticket OPS-1234');
    const elsewhere = requestFor(webPod());
    expect(validateRequest({ ...elsewhere, namespace: 'payments' }, settings({ policy: central })).response.allowed).toBe(false);
  });
});

describe('mutateRequest', () => {
  const rules = ALL_RULES;
  const sidecarOn128 = () => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web' },
    spec: {
      initContainers: [{ name: 'log-shipper', image: 'fluent/fluent-bit:3.0.7', restartPolicy: 'Always' }],
      containers: [{ name: 'app', image: 'registry.example.com/web:1.4.2' }],
    },
  });
  const on128 = { kubernetesVersion: { major: 1, minor: 28 }, minKubeletVersion: { major: 1, minor: 28 } };

  it('runs only the rules on fields the API server drops before validation', async () => {
    const ran = new Set<string>();
    const spying = rules.map((rule) => ({ ...rule, evaluate: (input: Parameters<typeof rule.evaluate>[0]) => (ran.add(rule.id), rule.evaluate(input)) }));
    await mutateRequest(requestFor(webPod()), settings({ rules: spying }));
    expect([...ran].sort()).toEqual(['native-sidecar-unsupported', 'restart-policy-on-container']);
  });

  it('denies a native sidecar on 1.28 before the API server silently drops its restartPolicy', async () => {
    const result = await mutateRequest(requestFor(sidecarOn128()), settings({ rules, versions: on128 }));
    expect(result.response.allowed).toBe(false);
    expect(result.response.status?.message).toMatch(/^native-sidecar-unsupported: /);
    const warned = await mutateRequest(requestFor(sidecarOn128()), settings({ rules, versions: on128, mode: 'warn' }));
    expect(warned.response).toMatchObject({ allowed: true, warnings: [expect.stringMatching(/^'log-shipper' is a native sidecar: .* \(fix: podpatterns rules native-sidecar-unsupported\)\.$/)] });
  });

  it('returns the patch of a mutation step, and only records it in audit mode', async () => {
    const mutation = () => ({ patch: [{ op: 'add' as const, path: '/metadata/labels', value: { migrated: 'true' } }], warnings: ['moved 1 sidecar'], auditAnnotations: { migration: 'moved log-shipper' } });
    const applied = await mutateRequest(requestFor(webPod({ clash: false })), settings({ mutation }));
    expect(applied.response).toMatchObject({ allowed: true, patchType: 'JSONPatch', warnings: ['moved 1 sidecar'], auditAnnotations: { migration: 'moved log-shipper' } });
    const audited = await mutateRequest(requestFor(webPod({ clash: false })), settings({ mutation, mode: 'audit' }));
    expect(audited.response.patch).toBeUndefined();
    expect(audited.response.auditAnnotations?.mutation).toMatch(/^would apply 1 JSON Patch operations/);
  });

  it('admits the object unchanged with a warning when the mutation step throws', async () => {
    const result = await mutateRequest(requestFor(webPod({ clash: false })), settings({ mutation: () => { throw new Error('boom'); } }));
    expect(result.response).toMatchObject({ allowed: true, warnings: [expect.stringContaining('mutation failed: boom')] });
    expect(result.response.patch).toBeUndefined();
    expect(result.failure).toBe('mutation failed: boom');
  });
});

describe('parseMode', () => {
  it('defaults to enforce and names an unknown mode', () => {
    expect(parseMode(undefined)).toBe('enforce');
    expect(parseMode('audit')).toBe('audit');
    expect(() => parseMode(['warn', 'audit'])).toThrow('unknown mode "warn,audit" in the webhook URL: use /validate/enforce, /validate/warn, /validate/audit (or ?mode=)');
  });
});
