{{- define "podpatterns.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "podpatterns.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "podpatterns.selectorLabels" -}}
app.kubernetes.io/name: {{ include "podpatterns.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end }}

{{- /* Labels of everything the release makes, without the component. */}}
{{- define "podpatterns.releaseLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "podpatterns.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "podpatterns.labels" -}}
{{ include "podpatterns.releaseLabels" . }}
app.kubernetes.io/component: webhook
{{- end }}

{{- define "podpatterns.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "podpatterns.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "podpatterns.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{- /* The Secret holding tls.crt and tls.key (and ca.crt for the helm and cert-manager sources). */}}
{{- define "podpatterns.tlsSecretName" -}}
{{- if eq .Values.tls.source "existingSecret" }}
{{- required "tls.existingSecret is required when tls.source is existingSecret" .Values.tls.existingSecret }}
{{- else }}
{{- printf "%s-tls" (include "podpatterns.fullname" .) }}
{{- end }}
{{- end }}

{{- /* The names the serving certificate must carry: the API server calls <service>.<namespace>.svc. */}}
{{- define "podpatterns.dnsNames" -}}
{{- $service := include "podpatterns.fullname" . }}
{{- list (printf "%s.%s.svc" $service .Release.Namespace) (printf "%s.%s.svc.cluster.local" $service .Release.Namespace) | toJson }}
{{- end }}

{{- /*
True when the server must ask the API for the cluster's versions (and so needs a token and RBAC): it reads
/version unless --kubernetes-version is given and lists nodes unless --min-kubelet-version is given.
*/}}
{{- define "podpatterns.needsApiAccess" -}}
{{- if not (and .Values.cluster.kubernetesVersion .Values.cluster.minKubeletVersion) }}true{{ end }}
{{- end }}

{{- /*
True when native sidecars must be denied at mutation: an API server older than 1.29 drops
initContainers[].restartPolicy after mutating admission and before validation, so only a mutating
webhook still sees it (shared/sidecar-migration.md; kubernetes pkg/api/pod DropDisabledPodFields).
Without cluster.kubernetesVersion the version of the cluster helm installs into decides.
*/}}
{{- define "podpatterns.nativeSidecarGuard" -}}
{{- $version := .Values.cluster.kubernetesVersion | default .Capabilities.KubeVersion.Version }}
{{- if or .Values.nativeSidecarGuard (semverCompare "<1.29-0" $version) }}true{{ end }}
{{- end }}

{{- /* Whether a ValidatingWebhookConfiguration is rendered: with validation.engine=cel the policies do it all. */}}
{{- define "podpatterns.validatingWebhook" -}}
{{- if ne .Values.validation.engine "cel" }}true{{ end }}
{{- end }}

{{- /* Whether a MutatingWebhookConfiguration is rendered: for the native-sidecar guard, or a migration the webhook makes. */}}
{{- define "podpatterns.mutatingWebhook" -}}
{{- if or (include "podpatterns.nativeSidecarGuard" .) (and (ne .Values.migration.mode "off") (eq .Values.migration.engine "webhook")) }}true{{ end }}
{{- end }}

{{- /* Whether the podpatterns server runs in the cluster: some webhook calls it, and it is not the server at webhook.url. */}}
{{- define "podpatterns.runsServer" -}}
{{- if and (not .Values.webhook.url) (or (include "podpatterns.validatingWebhook" .) (include "podpatterns.mutatingWebhook" .)) }}true{{ end }}
{{- end }}

{{- define "podpatterns.securityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "podpatterns.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
# Secret and ConfigMap volumes are group-owned by fsGroup, so mode 0440 keeps tls.key readable by the server only.
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- /* Labels of one alert: its severity and metrics.prometheusRule.alertLabels. */}}
{{- define "podpatterns.alertLabels" -}}
{{- toYaml (merge (dict "severity" .severity) (deepCopy .root.Values.metrics.prometheusRule.alertLabels)) }}
{{- end }}

{{- /* The alert's runbook: its section of the chart README (GitHub anchors are the heading in lower case). */}}
{{- define "podpatterns.runbookUrl" -}}
{{- printf "%s#%s" .root.Values.metrics.prometheusRule.runbookUrl (lower .alert) | quote }}
{{- end }}
