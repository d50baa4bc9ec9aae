{{/* The release's name for every object: RELEASE, or RELEASE-sluice when it lacks "sluice". */}}
{{- define "sluice.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sluice.labels" -}}
{{ include "sluice.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The Secret with the root credential and the metrics token: the user's or the chart's. */}}
{{- define "sluice.secretName" -}}
{{- .Values.auth.existingSecret | default (include "sluice.fullname" .) -}}
{{- end -}}

{{- define "sluice.iamKeySecretName" -}}
{{- .Values.rados.iamKeySecret | default (include "sluice.fullname" .) -}}
{{- end -}}

{{/* Refuses values that cannot make a working store, with the reason. */}}
{{- define "sluice.validate" -}}
{{- if not (has .Values.backend (list "local" "rados")) -}}
{{- fail (printf "backend must be local or rados, not %q" .Values.backend) -}}
{{- end -}}
{{- if ne (empty .Values.auth.rootAccessKey) (empty .Values.auth.rootSecretKey) -}}
{{- fail "auth.rootAccessKey and auth.rootSecretKey are set together, or neither" -}}
{{- end -}}
{{- if and .Values.auth.rootSecretKey (lt (len .Values.auth.rootSecretKey) 8) -}}
{{- fail "auth.rootSecretKey needs at least 8 characters" -}}
{{- end -}}
{{- if not (has .Values.metrics.open (list "loopback" "any" "none")) -}}
{{- fail (printf "metrics.open must be loopback, any or none, not %q" .Values.metrics.open) -}}
{{- end -}}
{{- if eq .Values.backend "rados" -}}
{{- if not .Values.rados.cephSecret -}}
{{- fail "backend rados needs rados.cephSecret: a Secret holding ceph.conf and the client keyring" -}}
{{- end -}}
{{- if and (not .Values.rados.iamKeySecret) (not .Values.rados.iamKey) -}}
{{- fail "backend rados needs rados.iamKeySecret or rados.iamKey (64 hex digits: openssl rand -hex 32), the same on every gateway" -}}
{{- end -}}
{{- if and .Values.rados.iamKey (not (regexMatch "^[0-9a-fA-F]{64}$" .Values.rados.iamKey)) -}}
{{- fail "rados.iamKey must be 64 hex digits (openssl rand -hex 32)" -}}
{{- end -}}
{{- if lt (int .Values.rados.gateways) 1 -}}
{{- fail "rados.gateways must be at least 1" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The pod spec both backends share; the caller adds what differs (volumes). */}}
{{- define "sluice.podSpec" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: sluice
    image: {{ printf "%s:%s" .Values.image.repository (toString .Values.image.tag) | quote }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    args:
      - server
      - --listen=0.0.0.0:{{ .Values.service.port }}
      - --metrics-open={{ .Values.metrics.open }}
      {{- if eq .Values.backend "rados" }}
      - --ceph-conf=/etc/ceph/ceph.conf
      - --ceph-id={{ .Values.rados.cephId }}
      - --ceph-pool={{ .Values.rados.pool }}
      - --iam-key-file=/etc/sluice/iam/iam-key
      {{- else }}
      - --data=/var/lib/sluice/data
      - --iam-key-file=/var/lib/sluice/iam.key
      {{- end }}
      {{- range .Values.extraArgs }}
      - {{ . | quote }}
      {{- end }}
    env:
      - name: SLUICE_ROOT_ACCESS_KEY
        valueFrom:
          secretKeyRef:
            name: {{ include "sluice.secretName" . }}
            key: root-access-key
            optional: true
      - name: SLUICE_ROOT_SECRET_KEY
        valueFrom:
          secretKeyRef:
            name: {{ include "sluice.secretName" . }}
            key: root-secret-key
            optional: true
      - name: SLUICE_METRICS_TOKEN
        valueFrom:
          secretKeyRef:
            name: {{ include "sluice.secretName" . }}
            key: metrics-token
            optional: true
    ports:
      - name: s3
        containerPort: {{ .Values.service.port }}
        protocol: TCP
    startupProbe:
      httpGet:
        path: /health
        port: s3
      periodSeconds: 2
      failureThreshold: 150
    livenessProbe:
      httpGet:
        path: /health
        port: s3
      periodSeconds: 10
      timeoutSeconds: 5
      failureThreshold: 6
    readinessProbe:
      httpGet:
        path: /ready
        port: s3
      periodSeconds: 5
      timeoutSeconds: 5
      failureThreshold: 3
    resources:
      {{- toYaml .Values.resources | nindent 6 }}
    securityContext:
      {{- toYaml .Values.securityContext | nindent 6 }}
    volumeMounts:
      {{- if eq .Values.backend "rados" }}
      - name: ceph
        mountPath: /etc/ceph
        readOnly: true
      - name: iam-key
        mountPath: /etc/sluice/iam
        readOnly: true
      {{- else }}
      - name: data
        mountPath: /var/lib/sluice
      {{- end }}
{{- end -}}
