# NATS JetStream from the official Helm chart: a cluster of var.nats_cluster_size servers,
# each with a persistent file store; the service's streams are replicated on it
# (COMMONSHELF_NATS_REPLICAS = var.stream_replicas), so losing a server loses nothing.

resource "helm_release" "nats" {
  name       = local.nats_release
  repository = "https://nats-io.github.io/k8s/helm/charts/"
  chart      = "nats"
  version    = var.nats_chart_version
  namespace  = local.namespace
  wait       = true

  values = [yamlencode({
    fullnameOverride = local.nats_release
    config = {
      cluster = {
        enabled  = true
        replicas = var.nats_cluster_size
      }
      jetstream = {
        enabled = true
        fileStore = {
          enabled = true
          pvc = {
            enabled          = true
            size             = var.nats_storage_size
            storageClassName = var.storage_class
          }
        }
        memoryStore = { enabled = false }
        # Acked messages reach the disk at once: PostgreSQL stays the source of truth, but a
        # republish after a power cut is then never needed (FIELD-NOTES: sync_interval).
        merge = { sync_interval = "always" }
      }
    }
    podTemplate = {
      merge = {
        metadata = { labels = local.part_of }
      }
      topologySpreadConstraints = {
        "kubernetes.io/hostname" = {
          maxSkew           = 1
          whenUnsatisfiable = "DoNotSchedule"
        }
      }
    }
    podDisruptionBudget = { enabled = true }
    natsBox             = { enabled = false }
  })]

  lifecycle {
    precondition {
      condition     = var.stream_replicas <= var.nats_cluster_size
      error_message = "stream_replicas cannot exceed nats_cluster_size."
    }
  }
}

# NATS takes clients from CommonShelf's pods only, and routes from its own servers.
resource "kubernetes_network_policy_v1" "nats" {
  metadata {
    name      = "${local.nats_release}-ingress"
    namespace = local.namespace
  }
  spec {
    pod_selector {
      match_labels = { "app.kubernetes.io/name" = "nats", "app.kubernetes.io/instance" = local.nats_release }
    }
    policy_types = ["Ingress"]
    ingress {
      from {
        pod_selector {
          match_labels = local.app_selector
        }
      }
      ports {
        port     = local.nats_client_port
        protocol = "TCP"
      }
    }
    ingress {
      from {
        pod_selector {
          match_labels = { "app.kubernetes.io/name" = "nats", "app.kubernetes.io/instance" = local.nats_release }
        }
      }
      ports {
        port     = local.nats_client_port
        protocol = "TCP"
      }
      ports {
        port     = local.nats_cluster_port
        protocol = "TCP"
      }
    }
    dynamic "ingress" {
      for_each = var.monitoring_namespace == "" ? [] : [var.monitoring_namespace]
      content {
        from {
          namespace_selector {
            match_labels = { "kubernetes.io/metadata.name" = ingress.value }
          }
        }
        ports {
          port     = local.nats_monitor_port
          protocol = "TCP"
        }
      }
    }
  }
}
