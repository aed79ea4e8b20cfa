import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parseDocument } from 'yaml';
import { applyChangeToDocument, planMigration } from '../../src/migration/index.js';
import { realWorldCorpus } from '../support/corpus.js';
import { applyPlan, options, REAL_WORLD, realWorldFiles } from './support.js';

const everything = options({ settings: { cronJobs: true, pods: true } });

describe('applying a change to YAML documents', () => {
  it.skipIf(!realWorldCorpus.available).each(realWorldFiles())('%s: edits the document nodes into exactly what the JSON Patch produces', (file) => {
    for (const document of parseAllDocuments(readFileSync(new URL(file, REAL_WORLD), 'utf8'))) {
      const object: unknown = document.toJS();
      const plan = planMigration(object, everything);
      if (!plan.change) continue;
      applyChangeToDocument(document, plan.change);
      expect(document.toJS()).toEqual(applyPlan(object, plan));
    }
  });

  it('keeps the comments of a moved container and puts new keys where readers look for them', () => {
    const document = parseDocument(`apiVersion: batch/v1
kind: Job
metadata:
  name: report
spec:
  template:
    spec:
      restartPolicy: Never
      # the report itself
      containers:
        - name: report
          image: registry.example.com/report:3.2
        # ships the report's log
        - name: shipper # tails the log
          image: fluent/fluent-bit:3.1 # pinned
          args: [-c, /etc/fluent-bit.conf]
`);
    const plan = planMigration(document.toJS(), options());
    applyChangeToDocument(document, plan.change!);
    expect(document.toString()).toBe(`apiVersion: batch/v1
kind: Job
metadata:
  name: report
spec:
  template:
    metadata:
      annotations:
        podpatterns.io/migrated-sidecars: shipper
    spec:
      restartPolicy: Never
      initContainers:
        # ships the report's log
        - name: shipper # tails the log
          image: fluent/fluent-bit:3.1 # pinned
          restartPolicy: Always
          args: [ -c, /etc/fluent-bit.conf ]
      # the report itself
      containers:
        - name: report
          image: registry.example.com/report:3.2
`);
  });

  it('turns an empty flow mapping into a block one rather than a one-line mapping', () => {
    const document = parseDocument(`kind: Job
spec:
  template:
    metadata: {}
    spec:
      containers:
        - {name: app, image: app:1}
        - {name: proxy, image: docker.io/istio/proxyv2:1.24.0}
`);
    applyChangeToDocument(document, planMigration(document.toJS(), options()).change!);
    expect(document.toString()).toContain(`    metadata:
      annotations:
        podpatterns.io/migrated-sidecars: proxy
`);
    expect(document.toString()).toContain('      initContainers:\n        - { name: proxy, image: docker.io/istio/proxyv2:1.24.0, restartPolicy: Always }\n');
  });

  it('edits an item of a List at its path', () => {
    const document = parseDocument(`apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: settings}
  - apiVersion: batch/v1
    kind: Job
    metadata: {name: export}
    spec:
      template:
        spec:
          containers:
            - {name: app, image: app:1}
            - {name: shipper, image: grafana/promtail:3.0.0}
`);
    const item = (document.toJS() as { items: unknown[] }).items[1];
    applyChangeToDocument(document, planMigration(item, options()).change!, ['items', 1]);
    expect((document.toJS() as { items: unknown[] }).items[1]).toEqual(applyPlan(item, planMigration(item, options())));
  });
});
