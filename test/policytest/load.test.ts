import { describe, expect, it } from 'vitest';
import { parseTestFile } from '../../src/policytest/load.js';
import { ALL_RULES } from '../../src/rules/index.js';

const FILE = 'team/podpatterns-test.yaml';

const header = 'apiVersion: podpatterns.io/v1alpha1\nkind: Test\n';

function errorsOf(text: string): string[] {
  return parseTestFile(text, FILE, ALL_RULES).errors.map((error) => `${error.file}:${error.line ?? '?'}: ${error.message}`);
}

describe('test files', () => {
  it('reads a test with paths, an inline manifest, versions, results and migrations', () => {
    const text = `${header}metadata:
  name: shop
policy: ../policy.yaml
cluster:
  kubernetesVersion: "1.30"
  minKubeletVersion: v1.29.4
strict: true
resources:
  - manifests/
  - apiVersion: v1
    kind: Pod
    metadata:
      name: web
    spec:
      containers:
        - name: app
          image: app:1.0
results:
  - resources: [Pod/web, shop/Deployment/api]
    rule: port-conflict
    result: deny
migrations:
  - resource: Job/backup
    expected: expected/backup.yaml
`;
    const { tests, errors } = parseTestFile(text, FILE, ALL_RULES);
    expect(errors).toEqual([]);
    expect(tests).toHaveLength(1);
    const test = tests[0]!;
    expect(test).toMatchObject({
      name: 'shop',
      line: 1,
      strict: true,
      policy: { path: 'policy.yaml', line: 5, key: 'policy' },
      context: { kubernetesVersion: { major: 1, minor: 30 }, minKubeletVersion: { major: 1, minor: 29 } },
      migrations: [{ resource: 'Job/backup', expected: 'team/expected/backup.yaml', expectedAsWritten: 'expected/backup.yaml', line: 25 }],
    });
    expect(test.resources[0]).toEqual({ line: 11, key: 'resources[0]', path: 'team/manifests/' });
    expect(test.expectations).toEqual([
      { line: 21, key: 'results[0].resources[0]', resource: 'Pod/web', rule: 'port-conflict', expected: 'deny' },
      { line: 21, key: 'results[0].resources[1]', resource: 'shop/Deployment/api', rule: 'port-conflict', expected: 'deny' },
    ]);
  });

  it('keeps an inline manifest as its own text on its own lines, so it is read like a manifest file', () => {
    const text = `${header}resources:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: settings}
    data:
      enabled: yes       # kubectl reads yes as true
      mode: 0644         # and 0644 as octal
results:
  - resources: [ConfigMap/settings]
    rule: port-conflict
    result: pass
`;
    const inline = parseTestFile(text, FILE, ALL_RULES).tests[0]!.resources[0]!;
    expect('inline' in inline && inline.inline.split('\n').slice(3, 9)).toEqual([
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: settings}',
      'data:',
      '  enabled: yes       # kubectl reads yes as true',
      '  mode: 0644         # and 0644 as octal',
    ]);
  });

  it('names the file, line and key of an unknown key, with a suggestion', () => {
    const text = `${header}resources: [a.yaml]\nresults:\n  - resources: [Pod/web]\n    rule: port-conflict\n    reslt: deny\n`;
    expect(errorsOf(text)).toEqual([
      `${FILE}:5: results[0]: missing required key 'result'`,
      `${FILE}:7: results[0].reslt: unknown key (did you mean 'result'?)`,
    ]);
  });

  it('rejects an unknown rule id with a suggestion', () => {
    const text = `${header}resources: [a.yaml]\nresults:\n  - resources: [Pod/web]\n    rule: port-conflcit\n    result: deny\n`;
    expect(errorsOf(text)).toEqual([`${FILE}:6: results[0].rule: unknown rule 'port-conflcit' (did you mean 'port-conflict'?)`]);
  });

  it('rejects an outcome that does not exist, listing the ones that do', () => {
    const text = `${header}resources: [a.yaml]\nresults:\n  - resources: [Pod/web]\n    rule: port-conflict\n    result: denny\n`;
    expect(errorsOf(text)).toEqual([`${FILE}:7: results[0].result: must be one of deny, warn, audit, pass, exempt, not string "denny" (did you mean 'deny'?)`]);
  });

  it('tells a Kyverno user that a failing expectation is named by its severity', () => {
    const text = `${header}resources: [a.yaml]\nresults:\n  - {resources: [Pod/web], rule: port-conflict, result: fail}\n`;
    expect(errorsOf(text)).toEqual([`${FILE}:5: results[0].result: must be one of deny, warn, audit, pass, exempt, not string "fail" (a finding is expected by its severity: deny, warn or audit)`]);
  });

  it('says to quote a version that YAML read as a number', () => {
    const text = `${header}cluster:\n  kubernetesVersion: 1.30\nresources: [a.yaml]\nmigrations:\n  - {resource: Job/a, expected: b.yaml}\n`;
    expect(errorsOf(text)).toEqual([
      `${FILE}:4: cluster.kubernetesVersion: must be a string, not number 1.3 (put it in quotes: unquoted, YAML reads it as a number, and 1.30 as 1.3)`,
    ]);
  });

  it('rejects kubelets newer than the API server', () => {
    const text = `${header}cluster: {kubernetesVersion: "1.29", minKubeletVersion: "1.30"}\nresources: [a.yaml]\nmigrations:\n  - {resource: Job/a, expected: b.yaml}\n`;
    expect(errorsOf(text)).toEqual([`${FILE}:3: cluster.minKubeletVersion: 1.30 is newer than kubernetesVersion 1.29: kubelets are never newer than the API server`]);
  });

  it('rejects a resource name that is not Kind/name or namespace/Kind/name', () => {
    const text = `${header}resources: [a.yaml]\nresults:\n  - resources: [web]\n    rule: port-conflict\n    result: deny\n`;
    expect(errorsOf(text)).toEqual([`${FILE}:5: results[0].resources[0]: must name a resource as Kind/name or namespace/Kind/name, not string "web"`]);
  });

  it('rejects a test that checks nothing, and one that lists a pair twice', () => {
    expect(errorsOf(`${header}resources: [a.yaml]\n`)).toEqual([`${FILE}:1: (top level): has neither results nor migrations: nothing to check`]);
    const twice = `${header}resources: [a.yaml]\nresults:\n  - {resources: [Pod/web], rule: port-conflict, result: deny}\n  - {resources: [Pod/web], rule: port-conflict, result: pass}\n`;
    expect(errorsOf(twice)).toEqual([`${FILE}:6: results[1].resources[0]: Pod/web is already expected for port-conflict at line 5`]);
  });

  it('rejects an inline manifest without a kind', () => {
    const text = `${header}resources:\n  - apiVersion: v1\n    metadata: {name: web}\nresults:\n  - {resources: [Pod/web], rule: port-conflict, result: deny}\n`;
    expect(errorsOf(text)).toEqual([`${FILE}:4: resources[0]: an inline manifest needs kind`]);
  });

  it('reports each broken document of a file and keeps the good ones', () => {
    const good = `${header}metadata: {name: good}\nresources: [a.yaml]\nresults:\n  - {resources: [Pod/web], rule: port-conflict, result: deny}\n`;
    const text = `${good}---\n${header.replace('Test', 'Tset')}resources: [a.yaml]\n---\nkind: [unclosed\n---\n${good.replace('good', 'also-good')}`;
    const { tests, errors } = parseTestFile(text, FILE, ALL_RULES);
    expect(tests.map((test) => test.name)).toEqual(['good', 'also-good']);
    expect(errors.map((error) => [error.line, error.code])).toEqual([
      [9, 'PODPATTERNS_ERR_TEST_INVALID'],
      [13, 'PODPATTERNS_ERR_TEST_SYNTAX'],
    ]);
    expect(errors[0]!.message).toBe('kind: must be Test, not string "Tset"');
  });

  it('rejects a file with no test in it', () => {
    expect(errorsOf('# nothing here yet\n')).toEqual([`${FILE}:1: has no Test document`]);
  });

  it('rejects repeated keys, as a policy file does', () => {
    expect(errorsOf(`${header}kind: Test\nresources: [a.yaml]\n`)[0]).toMatch(/^team\/podpatterns-test\.yaml:3: Map keys must be unique/);
  });
});
