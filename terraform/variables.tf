# ---------------------------------------------------------------------------------------
# The cluster and the release
# ---------------------------------------------------------------------------------------

variable "kubeconfig" {
  description = "Path of the kubeconfig that reaches the Kubernetes cluster."
  type        = string
  default     = "~/.kube/config"
}

variable "kube_context" {
  description = "Context in the kubeconfig to use (null: its current context)."
  type        = string
  default     = null
}

variable "namespace" {
  description = "Namespace of CommonShelf, its NATS cluster and its PostgreSQL clusters."
  type        = string
  default     = "commonshelf"
}

variable "image" {
  description = "The CommonShelf image (built from the repository's Dockerfile), e.g. registry.example.org/commonshelf:0.1.0."
  type        = string
}

variable "image_pull_policy" {
  description = "When the kubelet pulls the image: IfNotPresent for immutable tags, Always for moving ones."
  type        = string
  default     = "IfNotPresent"
}

# ---------------------------------------------------------------------------------------
# The roles
# ---------------------------------------------------------------------------------------

variable "enabled_roles" {
  description = "Process roles this release runs (`commonshelf serve --role ROLE`)."
  type        = list(string)
  default     = ["api", "relay", "projections", "processes", "scans"]
  validation {
    condition     = alltrue([for r in var.enabled_roles : contains(["api", "relay", "projections", "processes", "scans"], r)])
    error_message = "enabled_roles may name api, relay, projections, processes and scans only."
  }
  validation {
    condition     = contains(var.enabled_roles, "api") && contains(var.enabled_roles, "relay")
    error_message = "enabled_roles must include api and relay: nothing works without them."
  }
}

variable "replicas" {
  description = "Replicas per role, as a HorizontalPodAutoscaler's bounds on CPU: min = max pins a count. The relay is not here: it always runs one active replica and one standby."
  type = map(object({
    min = number
    max = number
  }))
  default = {
    api         = { min = 2, max = 10 }
    projections = { min = 2, max = 2 }
    processes   = { min = 2, max = 2 }
    scans       = { min = 2, max = 6 }
  }
  validation {
    condition     = alltrue([for r in values(var.replicas) : r.min >= 1 && r.max >= r.min])
    error_message = "Every role needs 1 <= min <= max replicas."
  }
}

variable "cpu_target_percent" {
  description = "Average CPU use (of the request) the autoscalers keep each role at."
  type        = number
  default     = 70
}

variable "resources" {
  description = "Requests and limits of each role's container (a Python process uses at most one core)."
  type = map(object({
    cpu_request    = string
    memory_request = string
    cpu_limit      = string
    memory_limit   = string
  }))
  default = {
    api         = { cpu_request = "1", memory_request = "512Mi", cpu_limit = "1", memory_limit = "1Gi" }
    relay       = { cpu_request = "250m", memory_request = "256Mi", cpu_limit = "1", memory_limit = "512Mi" }
    projections = { cpu_request = "500m", memory_request = "384Mi", cpu_limit = "1", memory_limit = "768Mi" }
    processes   = { cpu_request = "250m", memory_request = "384Mi", cpu_limit = "1", memory_limit = "768Mi" }
    scans       = { cpu_request = "1", memory_request = "1Gi", cpu_limit = "2", memory_limit = "2Gi" }
  }
}

variable "termination_grace_s" {
  description = "Seconds a pod has after SIGTERM to drain (finish requests, ack or hand back messages)."
  type        = number
  default     = 30
}

variable "drain_s" {
  description = "Seconds an API pod keeps serving after SIGTERM with /readyz answering 503, so the Service stops routing to it before it stops listening."
  type        = number
  default     = 5
}

variable "log_format" {
  description = "Log lines as `text` or `json` (one object per line, for a log pipeline)."
  type        = string
  default     = "json"
  validation {
    condition     = contains(["text", "json"], var.log_format)
    error_message = "log_format is text or json."
  }
}

# ---------------------------------------------------------------------------------------
# The API's front door
# ---------------------------------------------------------------------------------------

variable "api_host" {
  description = "Public host name of the API, e.g. shelf.consortium.example.org."
  type        = string
}

variable "tls_secret_name" {
  description = "Secret (type kubernetes.io/tls) holding the API host's certificate, e.g. one cert-manager issues."
  type        = string
}

variable "ingress_class_name" {
  description = "IngressClass of the cluster's ingress controller."
  type        = string
  default     = "nginx"
}

variable "ingress_annotations" {
  description = "Annotations of the API's Ingress (e.g. cert-manager.io/cluster-issuer, body-size limits for MARC and scan uploads)."
  type        = map(string)
  default = {
    "nginx.ingress.kubernetes.io/proxy-body-size" = "300m"
  }
}

variable "ingress_namespace" {
  description = "Namespace of the ingress controller: the only place the API's pods take traffic from."
  type        = string
  default     = "ingress-nginx"
}

variable "monitoring_namespace" {
  description = "Namespace whose pods may scrape /metrics on every role (empty: none)."
  type        = string
  default     = "monitoring"
}

# ---------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------

variable "signing_key_pem" {
  description = "RSA private key (PEM) that signs access tokens; the same for every replica."
  type        = string
  sensitive   = true
}

variable "key_encryption_key" {
  description = "Key-encryption key that seals the patrons' keys (mounted as the file COMMONSHELF_KEK_FILE names)."
  type        = string
  sensitive   = true
}

# ---------------------------------------------------------------------------------------
# Service settings (the service's defaults unless said otherwise)
# ---------------------------------------------------------------------------------------

variable "issuer" {
  description = "The access tokens' `iss`."
  type        = string
  default     = "commonshelf"
}

variable "token_ttl_s" {
  description = "Access token lifetime, seconds."
  type        = number
  default     = 3600
}

variable "db_pool_size" {
  description = "PostgreSQL connections per process, whatever the number of tenants."
  type        = number
  default     = 8
}

variable "db_lock_timeout_s" {
  description = "Seconds a write waits for its tenant's event-table lock."
  type        = number
  default     = 5
}

variable "max_body_bytes" {
  description = "Largest JSON request body."
  type        = number
  default     = 1048576
}

variable "max_import_bytes" {
  description = "Largest MARC file POST /catalog/imports takes."
  type        = number
  default     = 104857600
}

variable "max_scan_bytes" {
  description = "Largest scan batch, uncompressed."
  type        = number
  default     = 536870912
}

variable "max_scan_reads" {
  description = "Most reads in one scan batch."
  type        = number
  default     = 2000000
}

variable "scan_ack_wait_s" {
  description = "Seconds before a dead scan worker's job goes to another."
  type        = number
  default     = 60
}

variable "tenant_concurrency" {
  description = "GraphQL operations of one library at once, per API process."
  type        = number
  default     = 4
}

variable "tenant_rate" {
  description = "GraphQL operations of one library a second, per API process."
  type        = number
  default     = 200
}

variable "nats_prefix" {
  description = "Prefix of the service's JetStream subjects and streams (`cs`: stream CS_EVENTS, subjects cs.<tenant>.>)."
  type        = string
  default     = "cs"
}

# ---------------------------------------------------------------------------------------
# NATS JetStream (the official Helm chart)
# ---------------------------------------------------------------------------------------

variable "nats_chart_version" {
  description = "Version of the nats Helm chart (https://nats-io.github.io/k8s/helm/charts/)."
  type        = string
  default     = "1.3.3"
}

variable "nats_cluster_size" {
  description = "NATS servers in the cluster (JetStream needs 3 or more to keep R3 streams through a node's loss)."
  type        = number
  default     = 3
  validation {
    condition     = var.nats_cluster_size >= 3
    error_message = "A JetStream cluster that survives a node's loss needs 3 or more servers."
  }
}

variable "stream_replicas" {
  description = "Replicas of the events stream and the scans queue (COMMONSHELF_NATS_REPLICAS)."
  type        = number
  default     = 3
  validation {
    condition     = var.stream_replicas >= 1 && var.stream_replicas <= 5
    error_message = "JetStream keeps 1 to 5 replicas of a stream."
  }
}

variable "nats_storage_size" {
  description = "Persistent volume of each NATS server's JetStream file store (each holds a full copy of an R3 stream: ~40 GB of catalog once, ~60 GB a year of circulation for 100 members; docs/capacity.md)."
  type        = string
  default     = "150Gi"
}

variable "storage_class" {
  description = "StorageClass of NATS's and PostgreSQL's volumes (null: the cluster's default)."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------------------
# PostgreSQL: CloudNativePG clusters, or managed databases
# ---------------------------------------------------------------------------------------

variable "postgres_mode" {
  description = "`cloudnativepg`: one CloudNativePG Cluster per database server; `external`: managed databases given in external_database_urls."
  type        = string
  default     = "cloudnativepg"
  validation {
    condition     = contains(["cloudnativepg", "external"], var.postgres_mode)
    error_message = "postgres_mode is cloudnativepg or external."
  }
}

variable "database_servers" {
  description = "The database servers tenants live on (`default` holds the consortium office and the tenant directory), with each CloudNativePG cluster's size."
  type = map(object({
    instances    = number
    storage_size = string
  }))
  default = {
    default = { instances = 3, storage_size = "100Gi" }
  }
  validation {
    condition     = contains(keys(var.database_servers), "default")
    error_message = "database_servers must include the server named default."
  }
  validation {
    condition     = alltrue([for name in keys(var.database_servers) : can(regex("^[a-z][a-z0-9-]{0,30}$", name))])
    error_message = "Database server names are lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "external_database_urls" {
  description = "With postgres_mode = external: each server's postgresql:// URL, by the names of database_servers."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "install_cnpg_operator" {
  description = "Install the CloudNativePG operator (false when the cluster already runs one)."
  type        = bool
  default     = true
}

variable "cnpg_operator_namespace" {
  description = "Namespace of the CloudNativePG operator."
  type        = string
  default     = "cnpg-system"
}

variable "cnpg_operator_chart_version" {
  description = "Version of the cloudnative-pg Helm chart (the operator)."
  type        = string
  default     = "0.26.0"
}

variable "cnpg_cluster_chart_version" {
  description = "Version of the cloudnative-pg `cluster` Helm chart (one per database server)."
  type        = string
  default     = "0.3.1"
}

variable "postgres_major_version" {
  description = "PostgreSQL major version of the CloudNativePG clusters (15 or newer)."
  type        = string
  default     = "17"
}

variable "backups_enabled" {
  description = "Back the CloudNativePG clusters up to object storage (base backups and WAL)."
  type        = bool
  default     = true
}

variable "backup_destination_path" {
  description = "Object-storage prefix of the backups, e.g. s3://commonshelf-backups/prod (each server gets a folder of its own)."
  type        = string
  default     = ""
}

variable "backup_endpoint_url" {
  description = "S3-compatible endpoint (empty: AWS S3)."
  type        = string
  default     = ""
}

variable "backup_s3_region" {
  description = "Region of the backup bucket."
  type        = string
  default     = ""
}

variable "backup_access_key_id" {
  description = "Access key of the backup bucket."
  type        = string
  default     = ""
  sensitive   = true
}

variable "backup_secret_access_key" {
  description = "Secret key of the backup bucket."
  type        = string
  default     = ""
  sensitive   = true
}

variable "backup_schedule" {
  description = "When base backups run (CloudNativePG's six-field cron: seconds first)."
  type        = string
  default     = "0 0 2 * * *"
}

variable "backup_retention" {
  description = "How long backups are kept, e.g. 30d."
  type        = string
  default     = "30d"
}

variable "token_failures_per_client" {
  description = "Failed token requests per client id within the window before the token endpoint answers 429."
  type        = number
  default     = 5
}

variable "token_failures_per_address" {
  description = "Failed token requests per remote address within the window before 429."
  type        = number
  default     = 20
}

variable "token_failure_window_s" {
  description = "Seconds a failed token request counts against its client id and address."
  type        = number
  default     = 300
}

variable "token_failure_delay_ms" {
  description = "How late a failed token request is answered (unknown client and wrong secret alike)."
  type        = number
  default     = 500
}
