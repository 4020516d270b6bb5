# CommonShelf on Kubernetes: API, relay, projection and scan workers as separate,
# horizontally scaled deployments of one image, against managed PostgreSQL and a NATS
# cluster. `terraform apply -var-file=prod.tfvars` with a kubeconfig for the cluster.

terraform {
  required_version = ">= 1.6"
  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.30"
    }
  }
}

provider "kubernetes" {
  config_path = var.kubeconfig
}

resource "kubernetes_namespace" "commonshelf" {
  metadata {
    name = var.namespace
  }
}

resource "kubernetes_secret" "commonshelf" {
  metadata {
    name      = "commonshelf"
    namespace = kubernetes_namespace.commonshelf.metadata[0].name
  }
  data = {
    DATABASE_URL      = var.database_url
    NATS_URL          = var.nats_url
    "signing-key.pem" = var.signing_key_pem
  }
}

locals {
  # Roles other than api arrive with the event pipeline (relay, projections, scans).
  roles = { for role, replicas in var.replicas : role => replicas if contains(var.enabled_roles, role) }
}

resource "kubernetes_deployment" "role" {
  for_each = local.roles
  metadata {
    name      = "commonshelf-${each.key}"
    namespace = kubernetes_namespace.commonshelf.metadata[0].name
    labels    = { app = "commonshelf", role = each.key }
  }
  spec {
    replicas = each.value
    selector {
      match_labels = { app = "commonshelf", role = each.key }
    }
    template {
      metadata {
        labels = { app = "commonshelf", role = each.key }
      }
      spec {
        container {
          name  = "commonshelf"
          image = var.image
          args  = ["serve", "--role", each.key, "--host", "0.0.0.0", "--port", "8000"]
          env_from {
            secret_ref {
              name = kubernetes_secret.commonshelf.metadata[0].name
            }
          }
          env {
            name  = "COMMONSHELF_SIGNING_KEY_FILE"
            value = "/etc/commonshelf/signing-key.pem"
          }
          env {
            name  = "COMMONSHELF_DB_POOL_SIZE"
            value = tostring(var.db_pool_size)
          }
          env {
            name  = "COMMONSHELF_ISSUER"
            value = var.issuer
          }
          volume_mount {
            name       = "signing-key"
            mount_path = "/etc/commonshelf"
            read_only  = true
          }
          port {
            container_port = 8000
          }
          # The API answers /readyz; relay and workers serve /healthz and /metrics (for a
          # token with the metrics scope) on the port.
          dynamic "readiness_probe" {
            for_each = each.key == "api" ? [1] : []
            content {
              http_get {
                path = "/readyz"
                port = 8000
              }
              period_seconds = 5
            }
          }
          liveness_probe {
            http_get {
              path = "/healthz"
              port = 8000
            }
            period_seconds = 10
          }
          resources {
            requests = { cpu = "250m", memory = "256Mi" }
            limits   = { memory = "1Gi" }
          }
        }
        volume {
          name = "signing-key"
          secret {
            secret_name = kubernetes_secret.commonshelf.metadata[0].name
            items {
              key  = "signing-key.pem"
              path = "signing-key.pem"
            }
          }
        }
      }
    }
  }
}

resource "kubernetes_service" "api" {
  metadata {
    name      = "commonshelf-api"
    namespace = kubernetes_namespace.commonshelf.metadata[0].name
  }
  spec {
    selector = { app = "commonshelf", role = "api" }
    port {
      port        = 80
      target_port = 8000
    }
  }
}
