variable "project_id" {
  description = "Google Cloud project that hosts the platform."
  type        = string
}

variable "region" {
  description = "Region of the functions, queues, scheduler jobs and serverless NEGs."
  type        = string
  default     = "europe-west1"
}

variable "firestore_location" {
  description = "Firestore location (multi-region such as eur3 / nam5, or a region). Cannot change after creation."
  type        = string
  default     = "eur3"
}

variable "bundles_dir" {
  description = "Folder holding one <source basename>.zip per function source, built by `python -m devstack.bundle --all`."
  type        = string
}

variable "domains" {
  description = "Domains served by the front door (Google-managed certificate). Point their A records at output frontdoor_ip."
  type        = list(string)
}

variable "cors_allowed_origins" {
  description = "Origins of the hosted site allowed to call the API (CORS_ALLOWED_ORIGINS)."
  type        = list(string)
  default     = []
}

variable "public_base_url" {
  description = "Public URL of the REST API, e.g. https://api.example.com (PUBLIC_BASE_URL)."
  type        = string
}

variable "site_settings_url" {
  description = "URL of the hosted site's settings page, used in emails (SITE_SETTINGS_URL)."
  type        = string
}

variable "mail_from" {
  description = "From header of report emails (MAIL_FROM)."
  type        = string
}

variable "smtp_host" {
  description = "SMTP relay host (SMTP_HOST). The password lives in the smtp-password secret."
  type        = string
}

variable "smtp_port" {
  description = "SMTP relay port (SMTP_PORT)."
  type        = number
  default     = 587
}

variable "smtp_security" {
  description = "none | starttls | tls (SMTP_SECURITY)."
  type        = string
  default     = "starttls"

  validation {
    condition     = contains(["none", "starttls", "tls"], var.smtp_security)
    error_message = "smtp_security must be one of none, starttls, tls."
  }
}

variable "smtp_username" {
  description = "SMTP user name (SMTP_USERNAME); empty for an unauthenticated relay."
  type        = string
  default     = ""
}

variable "extra_environment" {
  description = "More settings for every function (upper-case Settings field names), e.g. tuning of benchmark thresholds."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for name in keys(var.extra_environment) :
      !contains(["FIREBASE_AUTH_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST", "CLOUD_TASKS_EMULATOR_HOST", "SECRET_MANAGER_EMULATOR_HOST"], name)
    ])
    error_message = "Emulator settings must never be set on Google Cloud (they turn on local mode)."
  }
}

variable "public_ingress" {
  description = "Ingress of the public functions: ALLOW_INTERNAL_AND_GCLB forces traffic through the front door."
  type        = string
  default     = "ALLOW_INTERNAL_AND_GCLB"
}

variable "public_access" {
  description = <<-EOT
    How the public functions (api, connect, reports) admit callers, who are authenticated in code (Firebase ID tokens):
    "all_users" grants roles/run.invoker to allUsers, which an organisation's domain-restricted sharing policy
    (iam.allowedPolicyMemberDomains) refuses; "invoker_iam_check_disabled" turns Cloud Run's invoker IAM check off
    on those services instead (needs gcloud where Terraform runs). Either way ingress stays public_ingress.
  EOT
  type        = string
  default     = "all_users"

  validation {
    condition     = contains(["all_users", "invoker_iam_check_disabled"], var.public_access)
    error_message = "public_access must be all_users or invoker_iam_check_disabled."
  }
}

variable "min_instances" {
  description = "Warm instances kept per function name (billed while idle); others scale to zero."
  type        = map(number)
  default     = { api = 1 }
}

variable "secret_replica_locations" {
  description = "Regions holding the replicas of every secret (user-managed replication, admitted by gcp.resourceLocations policies). Empty means [region]."
  type        = list(string)
  default     = []
}

variable "security_policy" {
  description = "A Cloud Armor security policy (self link) of your own for the front door's backends; default: the module's per-IP rate limits (armor.tf)."
  type        = string
  default     = null
}

variable "armor_requests_per_minute" {
  description = "Cloud Armor: requests per minute one client IP may send to the front door before getting 429."
  type        = number
  default     = 300
}

variable "armor_connect_requests_per_minute" {
  description = "Cloud Armor: provider connect requests per minute from one client IP before 429."
  type        = number
  default     = 10
}

variable "deletion_protection" {
  description = "Protect the Firestore database and the source bucket from `terraform destroy`."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels added to every labelled resource."
  type        = map(string)
  default     = {}
}

variable "alert_emails" {
  description = "Email addresses alerted by the monitoring policies (monitoring.tf); each gets a notification channel."
  type        = list(string)
  default     = []
}

variable "notification_channels" {
  description = "Existing Cloud Monitoring notification channel ids (PagerDuty, Slack, ...) alerted as well."
  type        = list(string)
  default     = []
}

variable "sync_failure_ratio_alert" {
  description = "Alert when more than this share of syncs in an hour fail to store a provider's data."
  type        = number
  default     = 0.05
}

variable "error_ratio_alert" {
  description = "Alert when more than this share of a public function's requests answer 5xx for 5 minutes."
  type        = number
  default     = 0.02
}

variable "queue_delay_alert_minutes" {
  description = "Alert when a queue's p99 delay between a task's scheduled and actual attempt exceeds this (the daily fan-out drains in about 3 hours at the design size)."
  type        = number
  default     = 300
}
