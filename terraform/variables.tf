variable "kubeconfig" {
  type    = string
  default = "~/.kube/config"
}

variable "namespace" {
  type    = string
  default = "commonshelf"
}

variable "image" {
  description = "The container image with the commonshelf package installed (entrypoint: commonshelf)."
  type        = string
}

variable "database_url" {
  description = "Managed PostgreSQL (15 or newer), e.g. postgresql://user:pass@host:5432/commonshelf"
  type        = string
  sensitive   = true
}

variable "nats_url" {
  description = "NATS cluster with JetStream, e.g. nats://nats.nats.svc:4222"
  type        = string
  sensitive   = true
}

variable "signing_key_pem" {
  description = "RSA private key (PEM) that signs access tokens; the same for every API replica."
  type        = string
  sensitive   = true
}

variable "issuer" {
  type    = string
  default = "commonshelf"
}

variable "db_pool_size" {
  description = "PostgreSQL connections per process, whatever the number of tenants."
  type        = number
  default     = 8
}

variable "replicas" {
  type = map(number)
  default = {
    api         = 2
    relay       = 2
    projections = 2
    scans       = 2
  }
}

variable "enabled_roles" {
  description = "Process roles this release runs."
  type        = list(string)
  default     = ["api", "relay", "projections", "scans"]
}
