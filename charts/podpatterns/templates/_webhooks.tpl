{{- /*
Webhook paths use path segments (/validate/enforce), never a query string: the API server rejects a
clientConfig.url with a query, and every segment of clientConfig.service.path must be a DNS-1123
subdomain (kubernetes/apiserver pkg/util/webhook/validation.go: ValidateWebhookURL, ValidateWebhookService).
*/}}
{{- define "podpatterns.clientConfig" -}}
{{- if .root.Values.webhook.url -}}
url: {{ printf "%s%s" (trimSuffix "/" .root.Values.webhook.url) .path | quote }}
{{- else -}}
service:
  name: {{ include "podpatterns.fullname" .root }}
  namespace: {{ .root.Release.Namespace }}
  port: 443
  path: {{ .path | quote }}
{{- end }}
{{- with .caBundle }}
caBundle: {{ . }}
{{- end }}
{{- end }}

{{- /* Namespaces no webhook ever reviews: the control plane's, the webhook's own (so it can always start), the user's. */}}
{{- define "podpatterns.excludedNamespaces" -}}
{{- concat (list "kube-system" .Release.Namespace) .Values.webhook.excludeNamespaces | uniq | toJson }}
{{- end }}

{{- /*
No objectSelector: an object skipped by a selector is never seen, so its exemption would show in no warning,
annotation or metric. Self-exemption is the podpatterns.io/ignore annotation, honoured (visibly) by the server
when policy.exemptions allows it.
*/}}
{{- define "podpatterns.commonWebhookFields" -}}
admissionReviewVersions: ["v1"]
sideEffects: NoneOnDryRun
matchPolicy: Equivalent
failurePolicy: {{ .Values.webhook.failurePolicy }}
timeoutSeconds: {{ .Values.webhook.timeoutSeconds }}
{{- end }}

{{- /*
Validating entries, one per mode: the enforce and warn entries select their namespaces by name and the
default entry excludes those names, so no object is reviewed twice. The in-tree policies bind per entry too
(`key` names the binding).
*/}}
{{- define "podpatterns.validatingEntries" -}}
{{- $excluded := include "podpatterns.excludedNamespaces" . | fromJsonArray }}
{{- $enforce := .Values.validation.namespaces.enforce }}
{{- $warn := .Values.validation.namespaces.warn }}
{{- range $enforce }}
{{- if has . $warn }}
{{- fail (printf "validation.namespaces: namespace %q is listed under both enforce and warn; keep it in one" .) }}
{{- end }}
{{- end }}
{{- $entries := list }}
{{- if $enforce }}
{{- $entries = append $entries (dict "name" "enforce.validate.podpatterns.io" "key" "enforce" "mode" "enforce" "in" $enforce "notIn" $excluded) }}
{{- end }}
{{- if $warn }}
{{- $entries = append $entries (dict "name" "warn.validate.podpatterns.io" "key" "warn" "mode" "warn" "in" $warn "notIn" $excluded) }}
{{- end }}
{{- $entries = append $entries (dict "name" "validate.podpatterns.io" "key" "default" "mode" .Values.validation.mode "in" (list) "notIn" (concat $excluded $enforce $warn | uniq)) }}
{{- toJson $entries }}
{{- end }}
