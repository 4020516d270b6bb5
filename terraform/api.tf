# The API's front door: a Service, and an Ingress that ends TLS for the public host.

resource "kubernetes_service_v1" "api" {
  count = contains(var.enabled_roles, "api") ? 1 : 0
  metadata {
    name      = "commonshelf-api"
    namespace = local.namespace
    labels    = local.labels
  }
  spec {
    type     = "ClusterIP"
    selector = merge(local.app_selector, { "app.kubernetes.io/component" = "api" })
    port {
      name        = "http"
      port        = 80
      target_port = local.http_port
    }
  }
}

resource "kubernetes_ingress_v1" "api" {
  count = contains(var.enabled_roles, "api") ? 1 : 0
  metadata {
    name        = "commonshelf-api"
    namespace   = local.namespace
    labels      = local.labels
    annotations = var.ingress_annotations
  }
  spec {
    ingress_class_name = var.ingress_class_name
    tls {
      hosts       = [var.api_host]
      secret_name = var.tls_secret_name
    }
    rule {
      host = var.api_host
      http {
        path {
          path      = "/"
          path_type = "Prefix"
          backend {
            service {
              name = kubernetes_service_v1.api[0].metadata[0].name
              port {
                number = 80
              }
            }
          }
        }
      }
    }
  }
}
