{{/* Names, labels and the values several templates derive from. */}}

{{- define "plano-extproc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "plano-extproc.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A component's resource name: <fullname>-<component>, within the 63-character limit. */}}
{{- define "plano-extproc.component" -}}
{{- /* 40 + "-" + component stays under 52, which a StatefulSet's pod labels need. */ -}}
{{- printf "%s-%s" (include "plano-extproc.fullname" .root | trunc 40 | trimSuffix "-") .component -}}
{{- end -}}

{{- define "plano-extproc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "plano-extproc.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "plano-extproc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "plano-extproc.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: plano-extproc
{{- end -}}

{{- define "plano-extproc.image" -}}
{{- printf "%s:%s" .Values.image.repository (toString (default .Chart.AppVersion .Values.image.tag)) -}}
{{- end -}}

{{- define "plano-extproc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "plano-extproc.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding provider keys: the user's, or the chart's own; empty when there is none. */}}
{{- define "plano-extproc.keysSecret" -}}
{{- if .Values.existingSecret -}}
{{- .Values.existingSecret -}}
{{- else if .Values.providerKeys -}}
{{- include "plano-extproc.component" (dict "root" . "component" "keys") -}}
{{- end -}}
{{- end -}}

{{/* The ext_proc's headless Service, fully qualified: what Envoy's STRICT_DNS cluster resolves. */}}
{{- define "plano-extproc.extprocHost" -}}
{{- printf "%s.%s.svc.%s" (include "plano-extproc.component" (dict "root" . "component" "extproc")) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{/* "chart" (the StatefulSet), "url" (external, in the config), "secret" (external, from a Secret) or "none". */}}
{{- define "plano-extproc.redisMode" -}}
{{- if .Values.redis.enabled -}}chart
{{- else if .Values.redis.external.existingSecret -}}secret
{{- else if .Values.redis.external.url -}}url
{{- else -}}none
{{- end -}}
{{- end -}}

{{/* The port of the config's first model listener (what the service routes on), as Plano reads it. */}}
{{- define "plano-extproc.listenerPort" -}}
{{- $listeners := (include "plano-extproc.userConfig" . | fromYaml).listeners -}}
{{- $port := 12000 -}}
{{- if kindIs "slice" $listeners -}}
{{- $found := false -}}
{{- range $listeners -}}
{{- if and (not $found) (eq (.type | default "model") "model") -}}
{{- $port = .port | default 12000 -}}
{{- $found = true -}}
{{- end -}}
{{- end -}}
{{- else if kindIs "map" $listeners -}}
{{- $port = (($listeners.egress_traffic | default dict).port | default 12000) -}}
{{- end -}}
{{- $port | int -}}
{{- end -}}

{{/* The user's Plano config as YAML: a map, text (--set-file), or the chart's files/config.yaml. */}}
{{- define "plano-extproc.userConfig" -}}
{{- $config := .Values.config -}}
{{- if and (kindIs "string" $config) (not (trim $config)) -}}
{{- fail "config: the text is empty (was --set-file given the right file?)" -}}
{{- end -}}
{{- if not $config -}}
{{- $config = .Files.Get "files/config.yaml" -}}
{{- end -}}
{{- if kindIs "string" $config -}}
{{- $parsed := fromYaml $config -}}
{{- if hasKey $parsed "Error" -}}
{{- fail (printf "config: not valid YAML: %s" $parsed.Error) -}}
{{- end -}}
{{- toYaml $parsed -}}
{{- else -}}
{{- toYaml $config -}}
{{- end -}}
{{- end -}}

{{/*
The config the pods load: the user's, with routing.session_cache pointed at the chart's Redis
(or the external one), routing.classifier at the chart's Triton when those are enabled, and
`auth` from the values when set.
*/}}
{{- define "plano-extproc.config" -}}
{{- $config := include "plano-extproc.userConfig" . | fromYaml -}}
{{- $routing := $config.routing | default dict -}}
{{- $mode := include "plano-extproc.redisMode" . -}}
{{- if ne $mode "none" -}}
{{- $cache := $routing.session_cache | default dict -}}
{{- $url := "${PLANO_REDIS_URL}" -}}
{{- if eq $mode "chart" -}}
{{- $url = printf "redis://%s:6379/0" (include "plano-extproc.component" (dict "root" . "component" "redis")) -}}
{{- else if eq $mode "url" -}}
{{- $url = .Values.redis.external.url -}}
{{- end -}}
{{- $_ := set $cache "type" "redis" -}}
{{- $_ = set $cache "url" $url -}}
{{- $_ = set $routing "session_cache" $cache -}}
{{- with $config.state_storage -}}
{{- $_ := set . "type" "redis" -}}
{{- $_ = set . "url" $url -}}
{{- end -}}
{{- end -}}
{{- /* In a pod the listener must accept its Service's traffic, not only the pod's own. */ -}}
{{- if kindIs "slice" $config.listeners -}}
{{- range $config.listeners -}}
{{- if eq (.type | default "model") "model" -}}
{{- $_ := set . "address" $.Values.listenAddress -}}
{{- end -}}
{{- end -}}
{{- else if kindIs "map" $config.listeners -}}
{{- with $config.listeners.egress_traffic -}}
{{- $_ := set . "address" $.Values.listenAddress -}}
{{- end -}}
{{- end -}}
{{- if .Values.triton.enabled -}}
{{- $classifier := $routing.classifier | default dict -}}
{{- $target := printf "%s:8001" (include "plano-extproc.component" (dict "root" . "component" "triton")) -}}
{{- $_ := set $classifier "type" "triton" -}}
{{- $_ = set $classifier "triton" (dict "url" $target "model" .Values.triton.model) -}}
{{- $_ = set $routing "classifier" $classifier -}}
{{- end -}}
{{- if $routing -}}
{{- $_ := set $config "routing" $routing -}}
{{- end -}}
{{- include "plano-extproc.applyAuth" (dict "root" . "config" $config) -}}
{{- toYaml $config -}}
{{- end -}}

{{/* Where the pods read authJwks: a key of the config ConfigMap, mounted at /etc/plano. */}}
{{- define "plano-extproc.jwksFile" -}}/etc/plano/jwks.json{{- end -}}

{{/*
The `auth` value, when set, in place of the config's own section; then auth.jwt's key set:
authJwks, at the path the pods mount it (a jwks_file of the user's own is in no pod).
*/}}
{{- define "plano-extproc.applyAuth" -}}
{{- $config := .config -}}
{{- if .root.Values.auth -}}
{{- $_ := set $config "auth" (deepCopy .root.Values.auth) -}}
{{- end -}}
{{- $jwt := ($config.auth | default dict).jwt -}}
{{- if .root.Values.authJwks -}}
{{- if not $jwt -}}
{{- fail "authJwks: set auth.jwt too (issuer, audiences, claims); the key set verifies its tokens" -}}
{{- end -}}
{{- if $jwt.jwks_uri -}}
{{- fail "authJwks and auth.jwt.jwks_uri: give the key set one way only" -}}
{{- end -}}
{{- $document := fromJson .root.Values.authJwks -}}
{{- if or (hasKey $document "Error") (not (kindIs "slice" $document.keys)) -}}
{{- fail "authJwks: not a JSON Web Key Set (a JSON object with a \"keys\" list)" -}}
{{- end -}}
{{- $_ := set $jwt "jwks_file" (include "plano-extproc.jwksFile" .root) -}}
{{- else if and $jwt $jwt.jwks_file -}}
{{- fail "auth.jwt.jwks_file: no pod has that file; give the key set as authJwks (--set-file authJwks=jwks.json) and the chart mounts it and sets the path" -}}
{{- end -}}
{{- end -}}

{{/* Scheduling shared by the ext_proc and Envoy pods: selectors, tolerations, topology spread. */}}
{{- define "plano-extproc.scheduling" -}}
{{- $values := index .root.Values .key -}}
{{- with $values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .root.Values.topologySpread.enabled }}
topologySpreadConstraints:
  {{- range list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
  - maxSkew: {{ $.root.Values.topologySpread.maxSkew }}
    topologyKey: {{ . }}
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "plano-extproc.selectorLabels" (dict "root" $.root "component" $.component) | nindent 8 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by the chart's own pods. */}}
{{- define "plano-extproc.podSpecCommon" -}}
serviceAccountName: {{ include "plano-extproc.serviceAccountName" . }}
automountServiceAccountToken: false
terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The first model listener's timeout in whole seconds (Plano's default 300 s). */}}
{{- define "plano-extproc.listenerTimeout" -}}
{{- $listeners := (include "plano-extproc.userConfig" . | fromYaml).listeners -}}
{{- $timeout := "300s" -}}
{{- if kindIs "slice" $listeners -}}
{{- $found := false -}}
{{- range $listeners -}}
{{- if and (not $found) (eq (.type | default "model") "model") -}}
{{- $timeout = .timeout | default "300s" -}}
{{- $found = true -}}
{{- end -}}
{{- end -}}
{{- else if kindIs "map" $listeners -}}
{{- $timeout = ($listeners.egress_traffic | default dict).timeout | default "300s" -}}
{{- end -}}
{{- $text := toString $timeout -}}
{{- if hasSuffix "ms" $text -}}{{ div (trimSuffix "ms" $text | int) 1000 }}
{{- else if hasSuffix "h" $text -}}{{ mul (trimSuffix "h" $text | int) 3600 }}
{{- else if hasSuffix "m" $text -}}{{ mul (trimSuffix "m" $text | int) 60 }}
{{- else -}}{{ trimSuffix "s" $text | float64 | ceil | int }}
{{- end -}}
{{- end -}}

{{/* Fails the render when a stopping pod could be killed with requests still open. */}}
{{- define "plano-extproc.checkGracePeriod" -}}
{{- $timeout := include "plano-extproc.listenerTimeout" . | int -}}
{{- $needed := add $timeout 15 -}}
{{- if lt (int .Values.terminationGracePeriodSeconds) $needed -}}
{{- fail (printf "terminationGracePeriodSeconds %d is too short for the listener timeout of %d s: set it to at least %d (the timeout + 5 s of drain + 10 s for Envoy's preStop)" (int .Values.terminationGracePeriodSeconds) $timeout $needed) -}}
{{- end -}}
{{- if and .Values.redis.enabled (or .Values.redis.external.url .Values.redis.external.existingSecret) -}}
{{- fail "redis: set redis.enabled=false to use redis.external.*" -}}
{{- end -}}
{{- end -}}
