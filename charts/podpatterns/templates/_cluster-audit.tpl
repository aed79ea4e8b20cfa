{{- /* Names and labels of the cluster audit (clusterAudit.*): a CronJob with its own ServiceAccount and ClusterRole. */}}

{{- define "podpatterns.clusterAudit.fullname" -}}
{{- printf "%s-cluster-audit" (include "podpatterns.fullname" . | trunc 49 | trimSuffix "-") }}
{{- end }}

{{- define "podpatterns.clusterAudit.labels" -}}
{{ include "podpatterns.releaseLabels" . }}
app.kubernetes.io/component: cluster-audit
{{- end }}

{{- define "podpatterns.clusterAudit.serviceAccountName" -}}
{{- if .Values.clusterAudit.serviceAccount.create }}
{{- default (include "podpatterns.clusterAudit.fullname" .) .Values.clusterAudit.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.clusterAudit.serviceAccount.name }}
{{- end }}
{{- end }}

{{- /* clusterAudit.image when its repository is set, else the webhook's image. */}}
{{- define "podpatterns.clusterAudit.image" -}}
{{- with .Values.clusterAudit.image }}
{{- if not .repository }}
{{- include "podpatterns.image" $ }}
{{- else if .digest }}
{{- printf "%s@%s" .repository .digest }}
{{- else }}
{{- printf "%s:%s" .repository (.tag | default $.Chart.AppVersion) }}
{{- end }}
{{- end }}
{{- end }}

{{- /* The audit runs only next to an in-cluster install: it reads the policy from the server's ConfigMap. */}}
{{- define "podpatterns.clusterAudit.enabled" -}}
{{- if .Values.clusterAudit.enabled }}
{{- if .Values.webhook.url }}
{{- fail "clusterAudit.enabled needs the in-cluster install: with webhook.url no server, policy ConfigMap or CronJob is rendered" }}
{{- end }}true
{{- end }}
{{- end }}
