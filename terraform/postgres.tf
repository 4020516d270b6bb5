# PostgreSQL: one CloudNativePG Cluster (3 instances: a primary and two streaming replicas,
# failover by the operator) per database server, backed up to object storage; or managed
# databases given by URL (postgres_mode = external).

locals {
  cnpg                  = var.postgres_mode == "cloudnativepg"
  postgres_cluster_name = { for name in keys(var.database_servers) : name => "commonshelf-pg-${name}" }

  # Where each server's URL is kept: the operator's `<cluster>-app` Secret, or ours.
  database_refs = {
    for name in keys(var.database_servers) : name => (
      local.cnpg
      ? { secret = "${local.postgres_cluster_name[name]}-app", key = "uri" }
      : { secret = local.database_secret, key = name }
    )
  }
}

resource "helm_release" "cnpg_operator" {
  count            = local.cnpg && var.install_cnpg_operator ? 1 : 0
  name             = "cnpg"
  repository       = "https://cloudnative-pg.github.io/charts"
  chart            = "cloudnative-pg"
  version          = var.cnpg_operator_chart_version
  namespace        = var.cnpg_operator_namespace
  create_namespace = true
  wait             = true
}

resource "helm_release" "postgres" {
  for_each   = local.cnpg ? var.database_servers : {}
  name       = local.postgres_cluster_name[each.key]
  repository = "https://cloudnative-pg.github.io/charts"
  chart      = "cluster"
  version    = var.cnpg_cluster_chart_version
  namespace  = local.namespace
  wait       = true

  values = [yamlencode({
    fullnameOverride = local.postgres_cluster_name[each.key]
    type             = "postgresql"
    mode             = "standalone"
    version          = { postgresql = var.postgres_major_version }
    cluster = {
      instances = each.value.instances
      storage = {
        size         = each.value.storage_size
        storageClass = coalesce(var.storage_class, "")
      }
      # The service's own database and owner; the operator writes `<cluster>-app` with
      # its URI, which the roles read as DATABASE_URL.
      initdb = { database = "commonshelf", owner = "commonshelf" }
      postgresql = {
        parameters = {
          # Pool size x pods, plus the relay's and listeners' own connections, plus room.
          max_connections = "400"
        }
      }
      enableSuperuserAccess = false
      additionalLabels      = local.part_of
    }
    backups = {
      enabled         = var.backups_enabled
      provider        = "s3"
      endpointURL     = var.backup_endpoint_url
      destinationPath = "${trimsuffix(var.backup_destination_path, "/")}/${each.key}"
      s3 = {
        region = var.backup_s3_region
      }
      scheduledBackups = [{
        name                 = "daily"
        schedule             = var.backup_schedule
        backupOwnerReference = "self"
        method               = "barmanObjectStore"
      }]
      retentionPolicy = var.backup_retention
    }
  })]

  set_sensitive {
    name  = "backups.s3.accessKey"
    value = var.backup_access_key_id
  }
  set_sensitive {
    name  = "backups.s3.secretKey"
    value = var.backup_secret_access_key
  }

  depends_on = [helm_release.cnpg_operator]

  lifecycle {
    precondition {
      condition     = !var.backups_enabled || var.backup_destination_path != ""
      error_message = "backups_enabled needs backup_destination_path (e.g. s3://bucket/prefix)."
    }
  }
}

# PostgreSQL takes connections from CommonShelf's pods, its own instances (replication)
# and the operator; nothing else.
resource "kubernetes_network_policy_v1" "postgres" {
  for_each = local.cnpg ? var.database_servers : {}
  metadata {
    name      = "${local.postgres_cluster_name[each.key]}-ingress"
    namespace = local.namespace
  }
  spec {
    pod_selector {
      match_labels = { "cnpg.io/cluster" = local.postgres_cluster_name[each.key] }
    }
    policy_types = ["Ingress"]
    ingress {
      from {
        pod_selector {
          match_labels = local.app_selector
        }
      }
      from {
        pod_selector {
          match_labels = { "cnpg.io/cluster" = local.postgres_cluster_name[each.key] }
        }
      }
      ports {
        port     = local.postgres_port
        protocol = "TCP"
      }
    }
    ingress {
      # The operator talks to each instance's manager (8000) and to PostgreSQL.
      from {
        namespace_selector {
          match_labels = { "kubernetes.io/metadata.name" = var.cnpg_operator_namespace }
        }
      }
      ports {
        port     = local.http_port
        protocol = "TCP"
      }
      ports {
        port     = local.postgres_port
        protocol = "TCP"
      }
    }
  }
}
