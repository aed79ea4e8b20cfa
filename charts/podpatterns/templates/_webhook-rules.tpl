{{- /*
Written by `npm run docs` from what the rules declare (src/rules/*.ts: kinds, related, droppedFields); do not
edit: test/chart/webhook-rules.test.ts fails while it is out of date.
*/}}

{{- /*
What /validate is sent: every kind a rule that runs at admission judges.
Not sent: what only rules that need related objects an admission request does not carry judge; they run
in audits (podpatterns audit, the cluster audit) only:
hpa-pod-average-on-multi-container.
*/}}
{{- define "podpatterns.validatingRules" -}}
- apiGroups: [""]
  apiVersions: ["v1"]
  resources: ["pods", "replicationcontrollers", "podtemplates"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
- apiGroups: ["apps"]
  apiVersions: ["v1"]
  resources: ["deployments", "statefulsets", "daemonsets", "replicasets"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
- apiGroups: ["batch"]
  apiVersions: ["v1"]
  resources: ["jobs", "cronjobs"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
{{- end }}

{{- /*
What /mutate is sent for the rules on fields the API server drops before validating admission when their
feature gate is off, which only the mutating webhook still sees:
restart-policy-on-container, native-sidecar-unsupported.
*/}}
{{- define "podpatterns.droppedFieldRules" -}}
- apiGroups: [""]
  apiVersions: ["v1"]
  resources: ["pods", "replicationcontrollers", "podtemplates"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
- apiGroups: ["apps"]
  apiVersions: ["v1"]
  resources: ["deployments", "statefulsets", "daemonsets", "replicasets"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
- apiGroups: ["batch"]
  apiVersions: ["v1"]
  resources: ["jobs", "cronjobs"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
{{- end }}
