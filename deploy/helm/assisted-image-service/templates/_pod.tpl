{{/* The pod template shared by the Deployment and the StatefulSet: env, volumes, probes. */}}

{{/* Probe body: an HTTP(S) GET on the main listener. */}}
{{- define "assisted-image-service.probe" -}}
httpGet:
  path: {{ .probe.path }}
  port: {{ include "assisted-image-service.mainPortName" .root }}
  scheme: {{ include "assisted-image-service.mainScheme" .root }}
periodSeconds: {{ .probe.periodSeconds }}
timeoutSeconds: {{ .probe.timeoutSeconds }}
failureThreshold: {{ .probe.failureThreshold }}
{{- end }}

{{/* The service's environment (README.md, Configuration) from values. */}}
{{- define "assisted-image-service.env" -}}
{{- $c := .Values.config -}}
- name: DATA_DIR
  value: /data
- name: DATA_TEMP_DIR
  value: /tmp/assisted-image-service
- name: LISTEN_PORT
  value: {{ $c.listenPort | quote }}
{{- if $c.httpListenPort }}
- name: HTTP_LISTEN_PORT
  value: {{ $c.httpListenPort | quote }}
{{- end }}
{{- if .Values.tls.secretName }}
- name: HTTPS_CERT_FILE
  value: {{ printf "/etc/assisted-image-service/tls/%s" .Values.tls.certKey }}
- name: HTTPS_KEY_FILE
  value: {{ printf "/etc/assisted-image-service/tls/%s" .Values.tls.keyKey }}
{{- end }}
- name: LOG_LEVEL
  value: {{ $c.logLevel | quote }}
{{- with $c.assistedServiceUrl }}
- name: ASSISTED_SERVICE_URL
  value: {{ . | quote }}
{{- end }}
{{- with $c.imageServiceBaseUrl }}
- name: IMAGE_SERVICE_BASE_URL
  value: {{ . | quote }}
{{- end }}
{{- with $c.allowedDomains }}
- name: ALLOWED_DOMAINS
  value: {{ join "," . | quote }}
{{- end }}
- name: MAX_CONCURRENT_REQUESTS
  value: {{ $c.maxConcurrentRequests | quote }}
- name: CUSTOMIZATION_CACHE_TTL_SECONDS
  value: {{ $c.customizationCacheTtlSeconds | quote }}
- name: INSECURE_SKIP_VERIFY
  value: {{ $c.insecureSkipVerify | quote }}
{{- $catalog := .Values.catalog }}
{{- if or $catalog.osImages $catalog.osImagesJson }}
- name: OS_IMAGES
  value: {{ ternary (toJson $catalog.osImages) $catalog.osImagesJson (not (empty $catalog.osImages)) | quote }}
{{- end }}
{{- if or $catalog.rhcosVersions $catalog.rhcosVersionsJson }}
- name: RHCOS_VERSIONS
  value: {{ ternary (toJson $catalog.rhcosVersions) $catalog.rhcosVersionsJson (not (empty $catalog.rhcosVersions)) | quote }}
{{- end }}
{{- if or .Values.osImagesRequest.existingSecret (include "assisted-image-service.createsOsImagesRequestSecret" .) }}
{{- range $key := list "OS_IMAGES_REQUEST_HEADERS" "OS_IMAGES_REQUEST_QUERY_PARAMS" }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ include "assisted-image-service.osImagesRequestSecretName" $ }}
      key: {{ $key }}
      optional: true
{{- end }}
{{- end }}
{{- with .Values.trustedCA.osImageDownload }}
{{- if or .pem .existingConfigMap }}
- name: OS_IMAGE_DOWNLOAD_TRUSTED_CA_FILE
  value: /etc/assisted-image-service/trusted-ca/os-image-download/ca.crt
{{- end }}
{{- end }}
{{- with .Values.trustedCA.assistedServiceApi }}
{{- if or .pem .existingConfigMap }}
- name: ASSISTED_SERVICE_API_TRUSTED_CA_FILE
  value: /etc/assisted-image-service/trusted-ca/assisted-service-api/ca.crt
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The ConfigMap and key one trusted CA is read from: the chart's own (key = the CA's name) or the user's. */}}
{{- define "assisted-image-service.trustedCAVolume" -}}
{{- $ca := index .root.Values.trustedCA .name -}}
- name: {{ printf "trusted-ca-%s" (.name | kebabcase) }}
  configMap:
    name: {{ $ca.existingConfigMap | default (include "assisted-image-service.trustedCAConfigMapName" .root) }}
    items:
      - key: {{ ternary (printf "%s.crt" (.name | kebabcase)) $ca.key (empty $ca.existingConfigMap) }}
        path: ca.crt
{{- end }}

{{- define "assisted-image-service.volumes" -}}
{{- if not .Values.persistence.perReplica }}
- name: data
{{- if .Values.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "assisted-image-service.dataClaimName" . }}
{{- else }}
  {{- with .Values.persistence.emptyDirSizeLimit }}
  emptyDir:
    sizeLimit: {{ . }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end }}
{{- end }}
- name: tmp
  {{- if or .Values.tmpVolume.medium .Values.tmpVolume.sizeLimit }}
  emptyDir:
    {{- with .Values.tmpVolume.medium }}
    medium: {{ . }}
    {{- end }}
    {{- with .Values.tmpVolume.sizeLimit }}
    sizeLimit: {{ . }}
    {{- end }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- with .Values.tls.secretName }}
- name: tls
  secret:
    secretName: {{ . }}
{{- end }}
{{- range $name := list "osImageDownload" "assistedServiceApi" }}
{{- $ca := index $.Values.trustedCA $name }}
{{- if or $ca.pem $ca.existingConfigMap }}
{{ include "assisted-image-service.trustedCAVolume" (dict "root" $ "name" $name) }}
{{- end }}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "assisted-image-service.volumeMounts" -}}
- name: data
  mountPath: /data
- name: tmp
  mountPath: /tmp
{{- if .Values.tls.secretName }}
- name: tls
  mountPath: /etc/assisted-image-service/tls
  readOnly: true
{{- end }}
{{- range $name := list "osImageDownload" "assistedServiceApi" }}
{{- $ca := index $.Values.trustedCA $name }}
{{- if or $ca.pem $ca.existingConfigMap }}
- name: {{ printf "trusted-ca-%s" ($name | kebabcase) }}
  mountPath: {{ printf "/etc/assisted-image-service/trusted-ca/%s" ($name | kebabcase) }}
  readOnly: true
{{- end }}
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Checksums of the chart's own Secret and ConfigMap: pods restart when their content changes. */}}
{{- define "assisted-image-service.configChecksums" -}}
{{- if include "assisted-image-service.createsOsImagesRequestSecret" . }}
checksum/os-images-request: {{ include (print .Template.BasePath "/secret-os-images-request.yaml") . | sha256sum }}
{{- end }}
{{- if or .Values.trustedCA.osImageDownload.pem .Values.trustedCA.assistedServiceApi.pem }}
checksum/trusted-ca: {{ include (print .Template.BasePath "/configmap-trusted-ca.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{- define "assisted-image-service.podTemplate" -}}
metadata:
  {{- $annotations := include "assisted-image-service.configChecksums" . }}
  {{- if or $annotations .Values.podAnnotations }}
  annotations:
    {{- with $annotations }}
    {{- . | trim | nindent 4 }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  labels:
    {{- include "assisted-image-service.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "assisted-image-service.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.serviceAccount.automount }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  containers:
    - name: {{ .Chart.Name }}
      image: {{ include "assisted-image-service.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      securityContext:
        {{- toYaml .Values.containerSecurityContext | nindent 8 }}
      ports:
        - name: {{ include "assisted-image-service.mainPortName" . }}
          containerPort: {{ .Values.config.listenPort }}
          protocol: TCP
        {{- if .Values.config.httpListenPort }}
        - name: {{ include "assisted-image-service.plainPortName" . }}
          containerPort: {{ .Values.config.httpListenPort }}
          protocol: TCP
        {{- end }}
      env:
        {{- include "assisted-image-service.env" . | nindent 8 }}
      {{- with .Values.extraEnvFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if .Values.startupProbe.enabled }}
      startupProbe:
        {{- include "assisted-image-service.probe" (dict "root" . "probe" .Values.startupProbe) | nindent 8 }}
      {{- end }}
      {{- if .Values.livenessProbe.enabled }}
      livenessProbe:
        {{- include "assisted-image-service.probe" (dict "root" . "probe" .Values.livenessProbe) | nindent 8 }}
      {{- end }}
      {{- if .Values.readinessProbe.enabled }}
      readinessProbe:
        {{- include "assisted-image-service.probe" (dict "root" . "probe" .Values.readinessProbe) | nindent 8 }}
      {{- end }}
      {{- with .Values.lifecycle }}
      lifecycle:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      volumeMounts:
        {{- include "assisted-image-service.volumeMounts" . | nindent 8 }}
  volumes:
    {{- include "assisted-image-service.volumes" . | trim | nindent 4 }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
