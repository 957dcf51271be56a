{{/* Labels every object carries. */}}
{{- define "flinkscaler.labels" -}}
app.kubernetes.io/part-of: flinkscaler
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{- define "flinkscaler.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The environment of one function: NATS and its user. Call with (list $ "ingest"). */}}
{{- define "flinkscaler.natsEnv" -}}
{{- $ := index . 0 -}}
{{- $fn := index . 1 -}}
- name: FLINKSCALER_NATS_URL
  value: {{ $.Values.nats.url | quote }}
- name: FLINKSCALER_STREAM_REPLICAS
  value: {{ $.Values.nats.streamReplicas | quote }}
{{- if $.Values.nats.passwordSecret }}
- name: FLINKSCALER_NATS_USER
  value: {{ index $.Values.nats.users $fn | quote }}
- name: FLINKSCALER_NATS_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ $.Values.nats.passwordSecret }}, key: {{ $fn }}}
{{- end }}
{{- end }}

{{/* Pod and container security every function runs with. */}}
{{- define "flinkscaler.podSecurity" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile: {type: RuntimeDefault}
{{- end }}
{{- define "flinkscaler.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: {drop: [ALL]}
{{- end }}

{{/* --flink CLUSTER=URL for every cluster. */}}
{{- define "flinkscaler.flinkArgs" -}}
{{- range .Values.clusters }}
- --flink={{ .name }}={{ .url }}
{{- end }}
{{- end }}

{{/* Values that cannot work fail the render with the fix. */}}
{{- define "flinkscaler.validate" -}}
{{- $owner := .Values.taskManagers.owner -}}
{{- if not (has $owner (list "keda" "kubernetes" "flink" "none")) -}}
{{- fail (printf "taskManagers.owner: %q is not keda, kubernetes, flink or none" $owner) -}}
{{- end -}}
{{- if and (eq $owner "keda") (not .Values.keda.enabled) -}}
{{- fail "taskManagers.owner keda needs keda.enabled: true (KEDA scales the TaskManagers); without KEDA set taskManagers.owner to kubernetes" -}}
{{- end -}}
{{- if and (not .Values.clusters) (not (include "flinkscaler.discovers" .)) -}}
{{- fail "clusters: list at least one Flink cluster (name and JobManager REST url), or enable discovery.services or discovery.flinkDeployments" -}}
{{- end -}}
{{- range .Values.clusters -}}
{{- if not (regexMatch "^[A-Za-z0-9_-]{1,128}$" (toString .name)) -}}
{{- fail (printf "clusters: name %q: use 1-128 letters, digits, '-' or '_'" (toString .name)) -}}
{{- end -}}
{{- if not (regexMatch "^https?://[^/]+" (toString .url)) -}}
{{- fail (printf "clusters[%s].url %q: want http(s)://host:port of the JobManager REST API" .name (toString .url)) -}}
{{- end -}}
{{- end -}}
{{- if has $owner (list "keda" "kubernetes") -}}
{{- if not .Values.taskManagers.workloads -}}
{{- fail (printf "taskManagers.owner %s: list each job's TaskManager workload in taskManagers.workloads" $owner) -}}
{{- end -}}
{{- range .Values.taskManagers.workloads -}}
{{- if eq (lower (toString .kind)) "flinkdeployment" -}}
{{- fail (printf "taskManagers.workloads %s/%s: a FlinkDeployment is not a scale target (the Flink operator redeploys the job on every change); for native mode set taskManagers.owner: flink, for standalone mode name the operator's TaskManager Deployment <name>-taskmanager" .namespace .name) -}}
{{- end -}}
{{- if not (has .kind (list "Deployment" "StatefulSet")) -}}
{{- fail (printf "taskManagers.workloads %s/%s: kind %q is not Deployment or StatefulSet" .namespace .name (toString .kind)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if not (has .Values.logFormat (list "json" "text")) -}}
{{- fail (printf "logFormat: %q is not json or text" (toString .Values.logFormat)) -}}
{{- end -}}
{{- if and .Values.taskManagers.hpaToleranceZero (ne $owner "keda") -}}
{{- fail "taskManagers.hpaToleranceZero applies to owner keda only" -}}
{{- end -}}
{{- if and (hasKey .Values.policy "mode") (eq (toString .Values.policy.mode) "keda") -}}
{{- fail "policy.mode: keda is not needed: taskManagers.owner says who owns the TaskManagers; leave policy.mode unset (adaptive)" -}}
{{- end -}}
{{- end }}

{{/* "true" when discovery is on. */}}
{{- define "flinkscaler.discovers" -}}
{{- if or .Values.discovery.services .Values.discovery.flinkDeployments }}true{{ end -}}
{{- end }}

{{/* actuate's discovery flags. */}}
{{- define "flinkscaler.discoverArgs" -}}
{{- if .Values.discovery.services }}
- --discover-services
{{- end }}
{{- if .Values.discovery.flinkDeployments }}
- --discover-flinkdeployments
{{- end }}
{{- with .Values.discovery.namespaces }}
- --discover-namespaces={{ join "," . }}
{{- end }}
{{- end }}
