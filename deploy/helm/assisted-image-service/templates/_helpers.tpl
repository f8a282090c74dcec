{{/* Names, labels, object names and the checks of impossible settings. */}}

{{- define "assisted-image-service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name, 63 characters at most (DNS label limit). */}}
{{- define "assisted-image-service.fullname" -}}
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

{{- define "assisted-image-service.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "assisted-image-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "assisted-image-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "assisted-image-service.labels" -}}
helm.sh/chart: {{ include "assisted-image-service.chart" . }}
{{ include "assisted-image-service.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: image-service
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "assisted-image-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "assisted-image-service.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "assisted-image-service.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The main listener serves HTTPS when a certificate Secret is given. */}}
{{- define "assisted-image-service.mainPortName" -}}
{{- if .Values.tls.secretName }}https{{ else }}http{{ end }}
{{- end }}

{{/* The extra plain listener is "http"; without TLS that name is taken by the main listener. */}}
{{- define "assisted-image-service.plainPortName" -}}
{{- if .Values.tls.secretName }}http{{ else }}http-plain{{ end }}
{{- end }}

{{- define "assisted-image-service.mainScheme" -}}
{{- if .Values.tls.secretName }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{- define "assisted-image-service.osImagesRequestSecretName" -}}
{{- .Values.osImagesRequest.existingSecret | default (printf "%s-os-images-request" (include "assisted-image-service.fullname" .)) }}
{{- end }}

{{/* "true" when the chart itself creates the download-credentials Secret. */}}
{{- define "assisted-image-service.createsOsImagesRequestSecret" -}}
{{- if and (not .Values.osImagesRequest.existingSecret) (or .Values.osImagesRequest.headers .Values.osImagesRequest.queryParams) }}true{{ end }}
{{- end }}

{{- define "assisted-image-service.trustedCAConfigMapName" -}}
{{- printf "%s-trusted-ca" (include "assisted-image-service.fullname" .) }}
{{- end }}

{{/* The StatefulSet's governing Service; Service names are DNS labels (63 characters). */}}
{{- define "assisted-image-service.headlessServiceName" -}}
{{- printf "%s-headless" (include "assisted-image-service.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}

{{- define "assisted-image-service.dataClaimName" -}}
{{- .Values.persistence.existingClaim | default (printf "%s-data" (include "assisted-image-service.fullname" .)) }}
{{- end }}

{{/* Settings that render valid objects but cannot work; checked once, by the workload template. */}}
{{- define "assisted-image-service.validate" -}}
{{- $p := .Values.persistence }}
{{- if and $p.enabled (not $p.perReplica) (or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1)) }}
{{- fail "persistence: several replicas cannot share one cache volume (each replica syncs and cleans its DATA_DIR on start). Set persistence.perReplica=true (a claim per replica) or persistence.enabled=false (an emptyDir per replica)." }}
{{- end }}
{{- if and $p.perReplica (not $p.enabled) }}
{{- fail "persistence.perReplica needs persistence.enabled=true" }}
{{- end }}
{{- if and $p.perReplica $p.existingClaim }}
{{- fail "persistence.existingClaim cannot be shared by the replicas of persistence.perReplica" }}
{{- end }}
{{- if and .Values.catalog.osImages .Values.catalog.osImagesJson }}
{{- fail "catalog: set osImages or osImagesJson, not both" }}
{{- end }}
{{- if and .Values.catalog.rhcosVersions .Values.catalog.rhcosVersionsJson }}
{{- fail "catalog: set rhcosVersions or rhcosVersionsJson, not both" }}
{{- end }}
{{- if and .Values.osImagesRequest.existingSecret (or .Values.osImagesRequest.headers .Values.osImagesRequest.queryParams) }}
{{- fail "osImagesRequest: with existingSecret, headers and queryParams come from that Secret and must be empty" }}
{{- end }}
{{- range $name, $ca := .Values.trustedCA }}
{{- if and $ca.pem $ca.existingConfigMap }}
{{- fail (printf "trustedCA.%s: set pem or existingConfigMap, not both" $name) }}
{{- end }}
{{- end }}
{{- if and .Values.config.httpListenPort (eq (int .Values.config.httpListenPort) (int .Values.config.listenPort)) }}
{{- fail "config.httpListenPort must differ from config.listenPort" }}
{{- end }}
{{- end }}

{{/* "" keeps the cluster default; "-" asks for no StorageClass at all (pre-provisioned volumes). */}}
{{- define "assisted-image-service.storageClass" -}}
{{- with .Values.persistence.storageClass }}
{{- if eq . "-" }}
storageClassName: ""
{{- else }}
storageClassName: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}
