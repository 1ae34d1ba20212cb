{{/* Names: <release>-attestd for the server, <release>-attestd-agent for the agent (63 characters at most). */}}
{{- define "attestd.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "attestd.agentName" -}}
{{- printf "%s-agent" (include "attestd.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "attestd.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "attestd.fullname" .) -}}
{{- end -}}

{{/*
Labels that select a component's pods, which never change after install.
Both label templates take (dict "root" $ "component" "server").
*/}}
{{- define "attestd.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "attestd.labels" -}}
{{ include "attestd.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* Containers: non-root, read-only root file system, no privilege escalation, no capabilities. */}}
{{- define "attestd.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* repository:tag, the tag defaulting to the chart's appVersion; takes (dict "image" .Values.x.image "root" $). */}}
{{- define "attestd.image" -}}
{{- printf "%s:%s" .image.repository (.image.tag | default .root.Chart.AppVersion) -}}
{{- end -}}
