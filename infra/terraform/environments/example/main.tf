# An environment: one Google Cloud project running the whole platform. Copy this folder per environment
# (e.g. environments/prod), fill terraform.tfvars and backend.tf from the examples, then follow infra/README.md.
terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.10, < 8.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
  # Quota and billing of API calls go to this project, not to the caller's default project.
  user_project_override = true
  billing_project       = var.project_id
}

module "platform" {
  source = "../../modules/platform"

  project_id               = var.project_id
  region                   = var.region
  firestore_location       = var.firestore_location
  bundles_dir              = abspath("${path.root}/${var.bundles_dir}")
  domains                  = var.domains
  cors_allowed_origins     = var.cors_allowed_origins
  public_base_url          = var.public_base_url
  site_settings_url        = var.site_settings_url
  mail_from                = var.mail_from
  smtp_host                = var.smtp_host
  smtp_port                = var.smtp_port
  smtp_security            = var.smtp_security
  smtp_username            = var.smtp_username
  extra_environment        = var.extra_environment
  deletion_protection      = var.deletion_protection
  public_access            = var.public_access
  min_instances            = var.min_instances
  alert_emails             = var.alert_emails
  notification_channels    = var.notification_channels
  secret_replica_locations = var.secret_replica_locations
  labels                   = { environment = var.environment }
}

output "frontdoor_ip" {
  description = "Point the domains' A records here."
  value       = module.platform.frontdoor_ip
}

output "function_urls" {
  description = "Deployed URL of each function."
  value       = module.platform.function_urls
}

output "config_secrets" {
  description = "Secrets that need a first version (infra/README.md)."
  value       = module.platform.config_secrets
}
