# The CommonShelf roles: one Deployment each, all of one image (`commonshelf serve --role
# ROLE`), non-root on a read-only root filesystem. Every role serves HTTP on port 8000: the
# API its routes, /healthz and /readyz; the others /healthz. /metrics answers a token with the
# metrics scope there, and without one on the metrics port (9100), which only the monitoring
# namespace may reach (network.tf).

locals {
  # What each role's liveness and readiness probes ask (null: no such probe). The relay and
  # the workers take no traffic, so they need no readiness: their port serves /healthz,
  # which answers while the process lives.
  probes = {
    api         = { liveness = "/healthz", readiness = "/readyz" }
    relay       = { liveness = "/healthz", readiness = null }
    projections = { liveness = "/healthz", readiness = null }
    processes   = { liveness = "/healthz", readiness = null }
    scans       = { liveness = "/healthz", readiness = null }
  }
  metrics_port = 9100
}

resource "kubernetes_deployment_v1" "role" {
  for_each = local.roles
  metadata {
    name      = "commonshelf-${each.key}"
    namespace = local.namespace
    labels    = merge(local.labels, { "app.kubernetes.io/component" = each.key })
  }

  spec {
    # The autoscaler owns the count from here on (see kubernetes_horizontal_pod_autoscaler_v2).
    replicas = each.value.min
    selector {
      match_labels = merge(local.app_selector, { "app.kubernetes.io/component" = each.key })
    }
    strategy {
      type = "RollingUpdate"
      rolling_update {
        max_surge       = "1"
        max_unavailable = "0"
      }
    }

    template {
      metadata {
        labels = merge(local.labels, { "app.kubernetes.io/component" = each.key })
        annotations = {
          "prometheus.io/scrape" = "true"
          "prometheus.io/port"   = tostring(local.metrics_port)
          "prometheus.io/path"   = "/metrics"
          # A changed setting rolls the pods (environment variables are read at start).
          "commonshelf/settings" = sha256(jsonencode(kubernetes_config_map_v1.settings.data))
        }
      }

      spec {
        automount_service_account_token  = false
        termination_grace_period_seconds = local.terminating_grace
        security_context {
          run_as_non_root = true
          run_as_user     = 10001
          run_as_group    = 10001
          fs_group        = 10001
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }
        topology_spread_constraint {
          max_skew           = 1
          topology_key       = "kubernetes.io/hostname"
          when_unsatisfiable = "ScheduleAnyway"
          label_selector {
            match_labels = merge(local.app_selector, { "app.kubernetes.io/component" = each.key })
          }
        }

        container {
          name              = "commonshelf"
          image             = var.image
          image_pull_policy = var.image_pull_policy
          args = [
            "serve", "--role", each.key, "--host", "0.0.0.0", "--port", tostring(local.http_port),
            "--log-format", var.log_format,
            "--metrics-port", tostring(local.metrics_port), "--metrics-host", "0.0.0.0",
          ]

          port {
            name           = "http"
            container_port = local.http_port
          }

          env_from {
            config_map_ref {
              name = kubernetes_config_map_v1.settings.metadata[0].name
            }
          }
          env {
            name = "DATABASE_URL"
            value_from {
              secret_key_ref {
                name = local.database_refs["default"].secret
                key  = local.database_refs["default"].key
              }
            }
          }
          # The other database servers tenants are placed on, as `name=URL,...`: each URL
          # from its Secret, then joined (Kubernetes expands $(VAR) of earlier variables).
          dynamic "env" {
            for_each = local.other_servers
            content {
              name = "COMMONSHELF_DB_URL_${upper(replace(env.value, "-", "_"))}"
              value_from {
                secret_key_ref {
                  name = local.database_refs[env.value].secret
                  key  = local.database_refs[env.value].key
                }
              }
            }
          }
          env {
            name  = "COMMONSHELF_TENANT_SERVERS"
            value = join(",", [for name in local.other_servers : "${name}=$(COMMONSHELF_DB_URL_${upper(replace(name, "-", "_"))})"])
          }

          resources {
            requests = {
              cpu    = var.resources[each.key].cpu_request
              memory = var.resources[each.key].memory_request
            }
            limits = {
              cpu    = var.resources[each.key].cpu_limit
              memory = var.resources[each.key].memory_limit
            }
          }

          liveness_probe {
            http_get {
              path = local.probes[each.key].liveness
              port = local.http_port
            }
            initial_delay_seconds = 20
            period_seconds        = 10
            timeout_seconds       = 3
            failure_threshold     = 3
          }
          dynamic "readiness_probe" {
            for_each = local.probes[each.key].readiness == null ? [] : [local.probes[each.key].readiness]
            content {
              http_get {
                path = readiness_probe.value
                port = local.http_port
              }
              period_seconds    = 5
              timeout_seconds   = 3
              failure_threshold = 2
            }
          }

          security_context {
            run_as_non_root            = true
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
          }

          volume_mount {
            name       = "keys"
            mount_path = local.keys_dir
            read_only  = true
          }
          volume_mount {
            # Uploads being checked, scan batches being localized, the data dir.
            name       = "tmp"
            mount_path = "/tmp"
          }
        }

        volume {
          name = "keys"
          secret {
            secret_name  = kubernetes_secret_v1.keys.metadata[0].name
            default_mode = "0440"
          }
        }
        volume {
          name = "tmp"
          empty_dir {
            size_limit = "2Gi"
          }
        }
      }
    }
  }

  lifecycle {
    # The HorizontalPodAutoscaler sets the count; an apply must not reset it.
    ignore_changes = [spec[0].replicas]
  }

  depends_on = [helm_release.nats, helm_release.postgres]
}

# Every role's count is an autoscaler's: the API's follows CPU between its bounds; a role
# whose min equals its max (the relay: one active, one standby) is pinned.
resource "kubernetes_horizontal_pod_autoscaler_v2" "role" {
  for_each = local.roles
  metadata {
    name      = "commonshelf-${each.key}"
    namespace = local.namespace
    labels    = local.labels
  }
  spec {
    min_replicas = each.value.min
    max_replicas = each.value.max
    scale_target_ref {
      api_version = "apps/v1"
      kind        = "Deployment"
      name        = kubernetes_deployment_v1.role[each.key].metadata[0].name
    }
    metric {
      type = "Resource"
      resource {
        name = "cpu"
        target {
          type                = "Utilization"
          average_utilization = var.cpu_target_percent
        }
      }
    }
  }
}

# Voluntary disruptions (node drains, upgrades) leave every role running: one pod of each
# may go at a time, and the relay always keeps one.
resource "kubernetes_pod_disruption_budget_v1" "role" {
  for_each = local.roles
  metadata {
    name      = "commonshelf-${each.key}"
    namespace = local.namespace
    labels    = local.labels
  }
  spec {
    max_unavailable = "1"
    selector {
      match_labels = merge(local.app_selector, { "app.kubernetes.io/component" = each.key })
    }
  }
}
