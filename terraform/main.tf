# CommonShelf on Kubernetes: the API, the relay, the projection, process-manager and scan
# workers as Deployments of one image, on a NATS JetStream cluster (official Helm chart) and
# PostgreSQL (CloudNativePG clusters, or managed databases). See README.md beside this file.

resource "kubernetes_namespace_v1" "commonshelf" {
  metadata {
    name = var.namespace
    labels = {
      "app.kubernetes.io/part-of" = "commonshelf"
    }
  }
}

locals {
  namespace = kubernetes_namespace_v1.commonshelf.metadata[0].name
  # CommonShelf's own pods carry `name = commonshelf` (what NATS and PostgreSQL admit);
  # everything the release runs carries `part-of = commonshelf`.
  app_selector = { "app.kubernetes.io/name" = "commonshelf" }
  part_of      = { "app.kubernetes.io/part-of" = "commonshelf" }
  labels       = merge(local.app_selector, local.part_of)

  # The relay runs one active replica and one standby (a PostgreSQL advisory lock elects
  # the active one; the standby takes over within about a second of its death).
  relay_replicas = { min = 2, max = 2 }
  scaling        = merge(var.replicas, { relay = local.relay_replicas })
  roles          = { for role in var.enabled_roles : role => local.scaling[role] }

  # Where the service's files live inside the containers.
  keys_dir           = "/etc/commonshelf/keys"
  signing_key_file   = "${local.keys_dir}/signing-key.pem"
  kek_file           = "${local.keys_dir}/kek"
  data_dir           = "/tmp/commonshelf"
  http_port          = 8000
  nats_release       = "nats"
  postgres_port      = 5432
  nats_client_port   = 4222
  nats_cluster_port  = 6222
  nats_monitor_port  = 8222
  terminating_grace  = var.termination_grace_s
  database_secret    = var.postgres_mode == "external" ? kubernetes_secret_v1.databases[0].metadata[0].name : null
  other_servers      = sort([for name in keys(var.database_servers) : name if name != "default"])
  nats_seed_template = "nats://${local.nats_release}-%d.${local.nats_release}-headless.${local.namespace}.svc.cluster.local:${local.nats_client_port}"
}

# Settings every role reads (none of them secret).
resource "kubernetes_config_map_v1" "settings" {
  lifecycle {
    precondition {
      condition     = var.drain_s < var.termination_grace_s
      error_message = "drain_s must be shorter than termination_grace_s, or pods are killed while draining."
    }
  }
  metadata {
    name      = "commonshelf-settings"
    namespace = local.namespace
    labels    = local.labels
  }
  data = {
    # The cluster's servers, as seeds: a client learns the rest from whichever answers.
    NATS_URL                       = join(",", [for i in range(var.nats_cluster_size) : format(local.nats_seed_template, i)])
    COMMONSHELF_NATS_REPLICAS      = tostring(var.stream_replicas)
    COMMONSHELF_NATS_PREFIX        = var.nats_prefix
    COMMONSHELF_SIGNING_KEY_FILE   = local.signing_key_file
    COMMONSHELF_KEK_FILE           = local.kek_file
    COMMONSHELF_DATA_DIR           = local.data_dir
    COMMONSHELF_ISSUER             = var.issuer
    COMMONSHELF_TOKEN_TTL          = tostring(var.token_ttl_s)
    COMMONSHELF_DB_POOL_SIZE       = tostring(var.db_pool_size)
    COMMONSHELF_DB_LOCK_TIMEOUT    = tostring(var.db_lock_timeout_s)
    COMMONSHELF_MAX_BODY_BYTES     = tostring(var.max_body_bytes)
    COMMONSHELF_MAX_IMPORT_BYTES   = tostring(var.max_import_bytes)
    COMMONSHELF_MAX_SCAN_BYTES     = tostring(var.max_scan_bytes)
    COMMONSHELF_MAX_SCAN_READS     = tostring(var.max_scan_reads)
    COMMONSHELF_SCAN_ACK_WAIT_S    = tostring(var.scan_ack_wait_s)
    COMMONSHELF_DRAIN_S            = tostring(var.drain_s)
    COMMONSHELF_TENANT_CONCURRENCY = tostring(var.tenant_concurrency)
    COMMONSHELF_TENANT_RATE        = tostring(var.tenant_rate)
    # The token endpoint's brake on guessing: failures per client id and per address in a
    # window before 429, and how late a failure is answered.
    COMMONSHELF_TOKEN_FAILURES_PER_CLIENT  = tostring(var.token_failures_per_client)
    COMMONSHELF_TOKEN_FAILURES_PER_ADDRESS = tostring(var.token_failures_per_address)
    COMMONSHELF_TOKEN_FAILURE_WINDOW_S     = tostring(var.token_failure_window_s)
    COMMONSHELF_TOKEN_FAILURE_DELAY_MS     = tostring(var.token_failure_delay_ms)
  }
}

# The keys, mounted read-only as files (never as environment variables, which leak into
# crash reports and `kubectl describe`).
resource "kubernetes_secret_v1" "keys" {
  metadata {
    name      = "commonshelf-keys"
    namespace = local.namespace
    labels    = local.labels
  }
  data = {
    "signing-key.pem" = var.signing_key_pem
    "kek"             = var.key_encryption_key
  }
}

# Managed databases' URLs (with postgres_mode = cloudnativepg the operator keeps each
# cluster's credentials in a Secret of its own, `<cluster>-app`, key `uri`).
resource "kubernetes_secret_v1" "databases" {
  count = var.postgres_mode == "external" ? 1 : 0
  metadata {
    name      = "commonshelf-databases"
    namespace = local.namespace
    labels    = local.labels
  }
  data = var.external_database_urls
  lifecycle {
    precondition {
      condition     = length(setsubtract(keys(var.database_servers), keys(var.external_database_urls))) == 0
      error_message = "external_database_urls needs a URL for every server in database_servers (default included)."
    }
  }
}
