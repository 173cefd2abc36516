{{/*
Chart name, cut to 63 characters (a DNS label).
*/}}
{{- define "cloudinstance-controller.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: release-chart, or the release name alone when it already contains the chart
name; cut to 63 characters.
*/}}
{{- define "cloudinstance-controller.fullname" -}}
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

{{- define "cloudinstance-controller.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every object.
*/}}
{{- define "cloudinstance-controller.labels" -}}
helm.sh/chart: {{ include "cloudinstance-controller.chart" . }}
{{ include "cloudinstance-controller.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cloudinstance-controller
{{- end }}

{{/*
Selector labels (immutable on the Deployment: never add to them).
*/}}
{{- define "cloudinstance-controller.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cloudinstance-controller.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of the ServiceAccount the controller runs as.
*/}}
{{- define "cloudinstance-controller.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cloudinstance-controller.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference: repository@digest, else repository:tag (tag defaults to appVersion).
*/}}
{{- define "cloudinstance-controller.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The one namespace to watch, or "" for all namespaces. Fails on combinations the
controller cannot honour.
*/}}
{{- define "cloudinstance-controller.watchNamespace" -}}
{{- $n := len .Values.watchNamespaces }}
{{- if gt $n 1 }}
{{- fail (printf "watchNamespaces lists %d namespaces, but the controller watches one namespace or all of them: install one release per namespace, or set watchNamespaces: [] for all" $n) }}
{{- end }}
{{- if eq $n 1 }}
{{- first .Values.watchNamespaces }}
{{- end }}
{{- end }}

{{/*
Consistency checks that the schema cannot express. Included by the Deployment.
*/}}
{{- define "cloudinstance-controller.validate" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicas > 1 requires leaderElection.enabled=true: without it every replica would act on the same cloud instances" }}
{{- end }}
{{- if and .Values.serviceMonitor.enabled (not .Values.metrics.service.enabled) }}
{{- fail "serviceMonitor.enabled requires metrics.service.enabled" }}
{{- end }}
{{- end }}

{{/*
The RBAC rules for the watched resources (namespaced Role or ClusterRole).
Everything the controller does outside its Lease:
  - list/watch CloudCredentials and CloudInstances (informers), get them;
  - patch them: metadata.finalizers, by JSON patch on the main resource (no update,
    create or delete: objects are created and deleted by users only);
  - patch their status subresource (server-side apply);
  - get Secrets (credential keys, login passwords) and list/watch them as metadata
    only (so credentials re-verify when their Secret changes) - read-only;
  - create/patch events.k8s.io Events (kube-runtime's Recorder; patch for series).
*/}}
{{- define "cloudinstance-controller.rules" -}}
- apiGroups: ["compute.cloudinstance.io"]
  resources: ["cloudcredentials", "cloudinstances"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["compute.cloudinstance.io"]
  resources: ["cloudcredentials/status", "cloudinstances/status"]
  verbs: ["get", "patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
