{{/* The objects' name: the release name when it contains "armorwatch", else <release>-armorwatch. */}}
{{- define "armorwatch.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The selector labels (also on every object), as in deploy/base. */}}
{{- define "armorwatch.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
{{- end -}}

{{- define "armorwatch.policiesConfigMap" -}}
{{- .Values.policies.existingConfigMap | default (printf "%s-policies" (include "armorwatch.fullname" .)) -}}
{{- end -}}

{{/* ARMORWATCH_METRICS_EXPORTER when it differs from the agent's default (prometheus). */}}
{{- define "armorwatch.metricsExporter" -}}
{{- if not .Values.metrics.enabled -}}none
{{- else if .Values.metrics.otlp -}}prometheus,otlp
{{- end -}}
{{- end -}}
