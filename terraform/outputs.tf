output "namespace" {
  description = "Namespace of the release."
  value       = local.namespace
}

output "api_url" {
  description = "Where clients reach the API (GraphQL at /graphql, REST docs at /docs)."
  value       = "https://${var.api_host}"
}

output "roles" {
  description = "The roles running, with their replica bounds."
  value       = local.roles
}

output "nats_url" {
  description = "NATS_URL as the roles have it: the cluster's servers as seeds."
  value       = kubernetes_config_map_v1.settings.data["NATS_URL"]
}

output "database_servers" {
  description = "Each database server and the Secret (and key) holding its URL."
  value       = local.database_refs
}

output "init_command" {
  description = "Run once after the first apply: the consortium office's first admin client (printed once)."
  value       = "kubectl -n ${local.namespace} exec deploy/commonshelf-api -- commonshelf init --json"
}
