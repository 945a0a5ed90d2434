{{/* Chart name, at most 63 characters (a DNS label). */}}
{{- define "siderolink.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects: the release name when it already contains the chart name. */}}
{{- define "siderolink.fullname" -}}
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

{{/* Namespace of every namespaced object, and siderolink.namespace (the installation Secret). */}}
{{- define "siderolink.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "siderolink.selectorLabels" -}}
app.kubernetes.io/name: {{ include "siderolink.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "siderolink.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "siderolink.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "siderolink.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "siderolink.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false: the service account the pod runs as (it needs the RBAC in docs/deployment.md)" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "siderolink.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The name of the Secret holding the join token; empty when no token is configured. */}}
{{- define "siderolink.joinTokenSecret" -}}
{{- $token := .Values.provision.joinToken }}
{{- if and $token.value $token.existingSecret }}
{{- fail "provision.joinToken: set either value or existingSecret, not both" }}
{{- end }}
{{- if $token.existingSecret }}
{{- $token.existingSecret }}
{{- else if $token.value }}
{{- printf "%s-join-token" (include "siderolink.fullname" .) }}
{{- end }}
{{- end }}

{{/* The join token's key in that Secret. */}}
{{- define "siderolink.joinTokenKey" -}}
{{- if .Values.provision.joinToken.existingSecret }}
{{- required "provision.joinToken.existingSecretKey: the key of the join token in provision.joinToken.existingSecret" .Values.provision.joinToken.existingSecretKey }}
{{- else }}
{{- "join-token" }}
{{- end }}
{{- end }}

{{/* Environment every container gets: the store, its namespace, the Actuator port, the log level. */}}
{{- define "siderolink.commonEnv" -}}
- name: SIDEROLINK_STORE
  value: kubernetes
- name: SIDEROLINK_NAMESPACE
  value: {{ include "siderolink.namespace" .root | quote }}
- name: SERVER_PORT
  value: {{ .container.httpPort | quote }}
- name: LOGGING_LEVEL_ROOT
  value: {{ .container.logLevel | quote }}
{{- /* spring-cloud-kubernetes' health indicator and info contributor read this pod from the API:
       that would need "get pods", which nothing else needs; both are off. */}}
- name: MANAGEMENT_HEALTH_KUBERNETES_ENABLED
  value: "false"
- name: MANAGEMENT_INFO_KUBERNETES_ENABLED
  value: "false"
{{- end }}

{{/* Probes on a container's Actuator port: startup (the JVM starting), liveness, readiness. */}}
{{- define "siderolink.probes" -}}
startupProbe:
  httpGet:
    path: /actuator/health/liveness
    port: {{ . }}
  periodSeconds: 2
  failureThreshold: 90
livenessProbe:
  httpGet:
    path: /actuator/health/liveness
    port: {{ . }}
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /actuator/health/readiness
    port: {{ . }}
  periodSeconds: 5
  timeoutSeconds: 5
  failureThreshold: 3
{{- end }}

{{/* Security context of the unprivileged containers (serverlogs, serverevents): the image's user. */}}
{{- define "siderolink.unprivileged" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: [ALL]
{{- end }}
