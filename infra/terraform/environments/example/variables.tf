variable "project_id" {
  description = "Google Cloud project of this environment."
  type        = string
}

variable "environment" {
  description = "Environment name, used as a label (e.g. prod, staging)."
  type        = string
}

variable "region" {
  description = "Region of the functions, queues and jobs."
  type        = string
  default     = "europe-west1"
}

variable "firestore_location" {
  description = "Firestore location; cannot change after creation."
  type        = string
  default     = "eur3"
}

variable "bundles_dir" {
  description = "Function bundles, relative to this folder (built by `python -m devstack.bundle --all --out build/bundles`)."
  type        = string
  default     = "../../../../build/bundles"
}

variable "domains" {
  description = "Domains of the front door."
  type        = list(string)
}

variable "cors_allowed_origins" {
  description = "Origins of the hosted site."
  type        = list(string)
  default     = []
}

variable "public_base_url" {
  description = "Public URL of the REST API."
  type        = string
}

variable "site_settings_url" {
  description = "Settings page of the hosted site (linked from emails)."
  type        = string
}

variable "mail_from" {
  description = "From header of report emails."
  type        = string
}

variable "smtp_host" {
  description = "SMTP relay host."
  type        = string
}

variable "smtp_port" {
  description = "SMTP relay port."
  type        = number
  default     = 587
}

variable "smtp_security" {
  description = "none | starttls | tls."
  type        = string
  default     = "starttls"
}

variable "smtp_username" {
  description = "SMTP user name; the password goes in the smtp-password secret."
  type        = string
  default     = ""
}

variable "extra_environment" {
  description = "Extra settings for every function (upper-case Settings field names)."
  type        = map(string)
  default     = {}
}

variable "deletion_protection" {
  description = "Protect Firestore and the bundle bucket from destroy."
  type        = bool
  default     = true
}

variable "public_access" {
  description = "all_users, or invoker_iam_check_disabled where domain-restricted sharing refuses allUsers (infra/README.md)."
  type        = string
  default     = "all_users"
}

variable "secret_replica_locations" {
  description = "Regions of every secret's replicas; empty means [region]. Must be allowed by gcp.resourceLocations."
  type        = list(string)
  default     = []
}

variable "min_instances" {
  description = "Warm instances per function name, e.g. { api = 1 }."
  type        = map(number)
  default     = { api = 1 }
}

variable "alert_emails" {
  description = "Email addresses the monitoring alerts go to."
  type        = list(string)
  default     = []
}

variable "notification_channels" {
  description = "Existing Cloud Monitoring notification channel ids alerted as well."
  type        = list(string)
  default     = []
}
