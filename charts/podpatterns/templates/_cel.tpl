{{- /*
In-tree admission policies (validation.engine: cel | hybrid, migration.engine: cel). The policies are
`podpatterns compile` output, generated from the rules into files/cel-policies.json by `npm run docs`: per rule,
severity setting and mode, the policy bodies and the actions they are bound with. The chart picks them from the
values, names them, binds them per mode like the validating webhooks (one binding per mode, by namespace), and
renders the exemption variables from policy.exemptions as src/cel/exemptions.ts writes them.
*/}}

{{- /* Labels of the policies and bindings: the release's, and the rule each one checks (`sidecar-migration` for the migration). */}}
{{- define "podpatterns.policyLabels" -}}
{{ include "podpatterns.releaseLabels" .root }}
app.kubernetes.io/component: admission-policy
podpatterns.io/rule: {{ .rule }}
{{- end }}

{{- define "podpatterns.cel.data" -}}
{{- .Files.Get "files/cel-policies.json" }}
{{- end }}

{{- /* The API server version the chart decides on: cluster.kubernetesVersion, else the cluster helm talks to. */}}
{{- define "podpatterns.kubernetesVersion" -}}
{{- .Values.cluster.kubernetesVersion | default .Capabilities.KubeVersion.Version }}
{{- end }}

{{- /* A CEL string literal, as src/cel/expr.ts str() writes it. */}}
{{- define "podpatterns.cel.string" -}}
'{{ . | replace "\\" "\\\\" | replace "'" "\\'" | replace "\n" "\\n" | replace "\r" "\\r" | replace "\t" "\\t" }}'
{{- end }}

{{- /* A name glob as an anchored RE2 pattern (src/cel/exemptions.ts globToRe2): `*` any run, `?` one character. */}}
{{- define "podpatterns.cel.glob" -}}
(?s)^{{ regexQuoteMeta . | replace "\\*" ".*" | replace "\\?" "." }}$
{{- end }}

{{- /* Whether an exemption entry applies now; an impossible date fails. CEL has no clock: rendering again after the day ends it. */}}
{{- define "podpatterns.cel.exemptionActive" -}}
{{- with .expires }}
{{- $start := toDate "2006-01-02T15:04:05Z07:00" (printf "%sT00:00:00Z" .) }}
{{- if ne (dateInZone "2006-01-02" $start "UTC") . }}
{{- fail (printf "policy.exemptions.list: expires %q is not a date (YYYY-MM-DD)" .) }}
{{- end }}
{{- if lt (int64 (now | unixEpoch)) (add (int64 ($start | unixEpoch)) 86400) }}true{{ end }}
{{- else }}true
{{- end }}
{{- end }}

{{- /*
The exemption variables of one rule for `object` or `oldObject` (src/cel/exemptions.ts exemptionVariables):
`exempted` and `exemptionNote`. Input: root, rule, variable (exempted | exemptionNote), object, annotations (the
pod annotations variable of that object), names (the data's exemptionAnnotations).
*/}}
{{- define "podpatterns.cel.exemption" -}}
{{- $rule := .rule }}
{{- $o := .object }}
{{- $exemptions := .root.Values.policy.exemptions }}
{{- $conditions := list }}
{{- $notes := list }}
{{- range $exemptions.list }}
{{- if and (or (has "*" .rules) (has $rule .rules)) (include "podpatterns.cel.exemptionActive" .) }}
{{- $parts := list (printf "request.namespace == %s" (include "podpatterns.cel.string" .namespace)) }}
{{- with .kind }}
{{- $parts = append $parts (printf "%s.kind == %s" $o (include "podpatterns.cel.string" .)) }}
{{- end }}
{{- with .name }}
{{- $parts = append $parts (printf "%s.metadata.?name.orValue(%s.metadata.?generateName.orValue('')).matches(%s)" $o $o (include "podpatterns.cel.string" (include "podpatterns.cel.glob" .))) }}
{{- end }}
{{- $conditions = append $conditions (join " && " $parts) }}
{{- $note := printf "%s skipped: policy exemption %s/%s/%s, reason: %s" $rule .namespace (.kind | default "*") (.name | default "*") (trim .reason) }}
{{- with .expires }}
{{- $note = printf "%s (until %s; generate the policies again after it)" $note . }}
{{- end }}
{{- $notes = append $notes $note }}
{{- end }}
{{- end }}
{{- $honoured := "false" }}
{{- if $exemptions.annotations }}
{{- $honoured = "true" }}
{{- with $exemptions.namespaces }}
{{- $quoted := list }}
{{- range . }}
{{- $quoted = append $quoted (include "podpatterns.cel.string" .) }}
{{- end }}
{{- $honoured = printf "request.namespace in [%s]" (join ", " $quoted) }}
{{- end }}
{{- end }}
{{- $annotation := dict }}
{{- range $key, $name := .names }}
{{- $literal := include "podpatterns.cel.string" $name }}
{{- $_ := set $annotation $key (printf "%s.metadata.?annotations.orValue({})[?%s].orValue(%s[?%s].orValue(''))" $o $literal $.annotations $literal) }}
{{- end }}
{{- if eq .variable "exempted" }}
{{- $listed := "false" }}
{{- if $conditions }}
{{- $wrapped := list }}
{{- range $conditions }}
{{- $wrapped = append $wrapped (printf "(%s)" .) }}
{{- end }}
{{- $listed = join " || " $wrapped }}
{{- end }}
{{- $byAnnotation := "false" }}
{{- if ne $honoured "false" }}
{{- $byAnnotation = printf "%s%s.split(',').exists(s, [s.trim()].map(t, t == '*' || t == 'all' || t == %s)[0])" (ternary "" (printf "%s && " $honoured) (eq $honoured "true")) $annotation.ignore (include "podpatterns.cel.string" $rule) }}
{{- end }}
{{- if eq $listed "false" }}{{ $byAnnotation }}{{ else if eq $byAnnotation "false" }}{{ $listed }}{{ else }}{{ printf "%s || %s" $listed $byAnnotation }}{{ end }}
{{- else }}
{{- $annotationNote := printf "%s + (%s.trim() != '' ? ', reason: ' + %s.trim() : '')" (include "podpatterns.cel.string" (printf "%s skipped: %s annotation" $rule .names.ignore)) $annotation.reason $annotation.reason }}
{{- if not $conditions }}{{ $annotationNote }}{{ else }}
{{- $listNote := "''" }}
{{- range $index := untilStep (sub (len $conditions) 1 | int) -1 -1 }}
{{- $listNote = printf "%s ? %s : %s" (index $conditions $index) (include "podpatterns.cel.string" (index $notes $index)) $listNote }}
{{- end }}
{{- printf "[%s].map(listed, listed != '' ? listed : %s)[0]" $listNote $annotationNote }}
{{- end }}
{{- end }}
{{- end }}

{{- /* A rule's settings in policy.rules as the server reads them: {enabled, severity ("" when not set), options}. */}}
{{- define "podpatterns.cel.ruleSettings" -}}
{{- $raw := index .root.Values.policy.rules .rule }}
{{- $settings := dict "enabled" true "severity" "" "options" (dict) }}
{{- if kindIs "bool" $raw }}
{{- $_ := set $settings "enabled" $raw }}
{{- else if kindIs "string" $raw }}
{{- if eq $raw "off" }}{{ $_ := set $settings "enabled" false }}{{ else }}{{ $_ := set $settings "severity" $raw }}{{ end }}
{{- else if kindIs "map" $raw }}
{{- range $key, $value := $raw }}
{{- if eq $key "enabled" }}{{ $_ := set $settings "enabled" $value }}
{{- else if eq $key "severity" }}{{ $_ := set $settings "severity" $value }}
{{- else }}{{ $_ := set $settings.options $key $value }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $settings }}
{{- end }}

{{- /*
What the in-tree policies cover for these values, as JSON: inTree (rule ids with policies: the webhook skips them
in hybrid), webhookOnly (rules CEL cannot express), toWebhook (hybrid: rules with options other than the defaults
the policies hold, left to the webhook), policies [{name, rule, body}] and bindings [{name, policy, rule, actions,
in, notIn}], and the variant of the data used. Refuses what the policies cannot honour.
*/}}
{{- define "podpatterns.cel.plan" -}}
{{- $engine := .Values.validation.engine }}
{{- $plan := dict "inTree" (list) "webhookOnly" (list) "toWebhook" (list) "policies" (list) "bindings" (list) "variant" 0 }}
{{- if has $engine (list "cel" "hybrid") }}
{{- $data := include "podpatterns.cel.data" . | fromJson }}
{{- $version := include "podpatterns.kubernetesVersion" . }}
{{- $oldest := (first $data.variants).since }}
{{- if not (semverCompare (printf ">=%s-0" $oldest) $version) }}
{{- fail (printf "validation.engine=%s: the compiled policies are for Kubernetes %s or newer, and the cluster is %s (cluster.kubernetesVersion, else the cluster helm talks to); use validation.engine=webhook, or podpatterns compile --kubernetes-version for that version" $engine $oldest $version) }}
{{- end }}
{{- $variant := first $data.variants }}
{{- range $index, $candidate := $data.variants }}
{{- if semverCompare (printf ">=%s-0" $candidate.since) $version }}
{{- $variant = $candidate }}
{{- $_ := set $plan "variant" $index }}
{{- end }}
{{- end }}
{{- range $index, $entry := .Values.policy.exemptions.list }}
{{- range $key := list "namespace" "kind" "name" "reason" }}
{{- if regexMatch "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]" (toString (index $entry $key | default "")) }}
{{- fail (printf "policy.exemptions.list[%d].%s contains a control character, which the compiled policies (validation.engine=%s) cannot hold: remove it" $index $key $engine) }}
{{- end }}
{{- end }}
{{- end }}
{{- $entries := include "podpatterns.validatingEntries" . | fromJsonArray }}
{{- $names := dict }}
{{- $refused := list }}
{{- range $rule := $variant.compiled }}
{{- $settings := include "podpatterns.cel.ruleSettings" (dict "root" $ "rule" $rule) | fromJson }}
{{- if not $settings.enabled }}{{ continue }}{{ end }}
{{- $custom := list }}
{{- $defaults := index $data.options $rule | default dict }}
{{- range $option, $value := $settings.options }}
{{- if ne (toJson $value) (toJson (index $defaults $option)) }}
{{- $custom = append $custom (printf "policy.rules.%s.%s=%s" $rule $option (toJson $value)) }}
{{- end }}
{{- end }}
{{- if $custom }}
{{- $refused = concat $refused $custom }}
{{- $_ := set $plan "toWebhook" (append $plan.toWebhook (dict "rule" $rule "values" $custom)) }}
{{- continue }}
{{- end }}
{{- $_ := set $plan "inTree" (append $plan.inTree $rule) }}
{{- $bySeverity := index $variant.rules $rule (default "default" $settings.severity) }}
{{- range $entry := $entries }}
{{- range (index $bySeverity $entry.mode) }}
{{- if not (hasKey $names .name) }}
{{- $_ := set $names .name true }}
{{- $_ := set $plan "policies" (append $plan.policies (dict "name" .name "rule" $rule "body" .body)) }}
{{- end }}
{{- $_ := set $plan "bindings" (append $plan.bindings (dict "name" (printf "%s-%s" .name $entry.key) "policy" .name "rule" $rule "actions" .actions "in" $entry.in "notIn" $entry.notIn)) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $refused (eq $engine "cel") }}
{{- fail (printf "%s: the compiled policies of validation.engine=cel hold each rule's default options only (options are part of their expressions); remove these values, or use validation.engine=hybrid (the webhook then checks those rules) or webhook" (join ", " $refused)) }}
{{- end }}
{{- range $variant.webhookOnly }}
{{- if eq .why "webhook-only" }}
{{- $settings := include "podpatterns.cel.ruleSettings" (dict "root" $ "rule" .rule) | fromJson }}
{{- if $settings.enabled }}
{{- $_ := set $plan "webhookOnly" (append $plan.webhookOnly .) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $plan }}
{{- end }}

{{- /* Whether the sidecar migration is a MutatingAdmissionPolicy (or, in dry-run mode, a warning policy) instead of the webhook. */}}
{{- define "podpatterns.cel.migration" -}}
{{- if and (eq .Values.migration.engine "cel") (ne .Values.migration.mode "off") }}
{{- $data := include "podpatterns.cel.data" . | fromJson }}
{{- $version := include "podpatterns.kubernetesVersion" . }}
{{- if not (semverCompare (printf ">=%s-0" $data.migration.since) $version) }}
{{- fail (printf "migration.engine=cel: MutatingAdmissionPolicy (admissionregistration.k8s.io/v1) is served from Kubernetes %s, and the cluster is %s (cluster.kubernetesVersion, else the cluster helm talks to); use migration.engine=webhook" $data.migration.since $version) }}
{{- end }}
{{- with .Values.cluster.minKubeletVersion }}
{{- if not (semverCompare (printf ">=%s-0" $data.migration.kubeletSince) .) }}
{{- fail (printf "migration.engine=cel: native sidecars need kubelets %s or newer, and cluster.minKubeletVersion is %s: nothing can be migrated; use migration.mode=off" $data.migration.kubeletSince .) }}
{{- end }}
{{- end }}true
{{- end }}
{{- end }}
