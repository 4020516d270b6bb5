# Who may talk to whom. Nothing reaches a pod of the namespace unless a policy admits it:
# the API from the ingress controller, /metrics from the monitoring namespace, NATS and
# PostgreSQL from CommonShelf's pods (nats.tf, postgres.tf). Egress is left open (backups
# go to object storage).

resource "kubernetes_network_policy_v1" "default_deny" {
  metadata {
    name      = "default-deny-ingress"
    namespace = local.namespace
  }
  spec {
    pod_selector {}
    policy_types = ["Ingress"]
  }
}

resource "kubernetes_network_policy_v1" "api_from_ingress" {
  metadata {
    name      = "commonshelf-api-from-ingress"
    namespace = local.namespace
  }
  spec {
    pod_selector {
      match_labels = merge(local.app_selector, { "app.kubernetes.io/component" = "api" })
    }
    policy_types = ["Ingress"]
    ingress {
      from {
        namespace_selector {
          match_labels = { "kubernetes.io/metadata.name" = var.ingress_namespace }
        }
      }
      ports {
        port     = local.http_port
        protocol = "TCP"
      }
    }
  }
}

resource "kubernetes_network_policy_v1" "metrics_from_monitoring" {
  count = var.monitoring_namespace == "" ? 0 : 1
  metadata {
    name      = "commonshelf-metrics-from-monitoring"
    namespace = local.namespace
  }
  spec {
    pod_selector {
      match_labels = local.app_selector
    }
    policy_types = ["Ingress"]
    ingress {
      from {
        namespace_selector {
          match_labels = { "kubernetes.io/metadata.name" = var.monitoring_namespace }
        }
      }
      ports {
        port     = local.metrics_port
        protocol = "TCP"
      }
    }
  }
}
