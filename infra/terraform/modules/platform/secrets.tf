# Secret Manager access. Two kinds of secrets, two kinds of grants:
#
# * Provider keys (one secret per enterprise and provider, created at run time with ids starting with
#   local.provider_secret_prefix). ONLY connect (writes, disables, destroys) and sync (reads) may touch them, through
#   project-level bindings conditioned on that prefix: the secrets do not exist when Terraform runs, so a
#   per-secret binding is impossible. The reasoning is in infra/README.md, "Secrets and least privilege".
# * The platform's own configuration secrets, created here and granted per secret to the identities that use
#   them (`accounts`), and mounted as `env` on those identities' functions only. Terraform creates the secret, never
#   its value: an operator adds a version (infra/README.md), so no secret value ever enters the Terraform state.
locals {
  config_secrets = {
    "smtp-password" = {
      accounts = ["sync", "reports"] # sync: key-failure alerts; reports: monthly reports
      env      = "SMTP_PASSWORD"
    }
    "benchmark-noise-key" = {
      accounts = ["benchmarks"]
      env      = "BENCHMARK_NOISE_KEY"
    }
    # Every enterprise's webhook signing secret is derived from this key (ADR 20): api shows a new secret once,
    # sync (sync_worker, webhook_deliver) signs. Firestore holds only each secret's generation.
    "webhook-signing-key" = {
      accounts = ["api", "sync"]
      env      = "WEBHOOK_SIGNING_KEY"
    }
  }

  # One accessor grant per (secret, account), keyed "secret/account".
  config_secret_accessors = {
    for pair in flatten([
      for secret, s in local.config_secrets : [for account in s.accounts : { secret = secret, account = account }]
    ]) : "${pair.secret}/${pair.account}" => pair
  }

  # IAM resource names of secrets use the project NUMBER. Versions (projects/N/secrets/S/versions/V) share the
  # secret's name as a prefix, so one startsWith covers both.
  provider_key_names = "projects/${data.google_project.this.number}/secrets/${local.provider_secret_prefix}"

  provider_key_read_condition = "resource.name.startsWith(\"${local.provider_key_names}\")"

  # secrets.create is checked against the parent project, not the secret being created, so the custodian
  # condition also admits the project itself; the custom role holds no other permission checked there.
  provider_key_write_condition = "resource.type == \"cloudresourcemanager.googleapis.com/Project\" || resource.name.startsWith(\"${local.provider_key_names}\")"
}

# Tighter than roles/secretmanager.admin: no setIamPolicy, no reading key values back, no listing other secrets.
resource "google_project_iam_custom_role" "provider_key_custodian" {
  project     = var.project_id
  role_id     = "providerKeyCustodian"
  title       = "Provider key custodian"
  description = "Create provider-key secrets, add/disable/destroy their versions and delete them. Cannot read values."
  permissions = [
    "secretmanager.secrets.create",
    "secretmanager.secrets.delete",
    "secretmanager.secrets.get",
    "secretmanager.versions.add",
    "secretmanager.versions.destroy",
    "secretmanager.versions.disable",
    "secretmanager.versions.get",
    "secretmanager.versions.list",
  ]

  depends_on = [google_project_service.enabled]
}

resource "google_project_iam_member" "connect_provider_keys" {
  project = var.project_id
  role    = google_project_iam_custom_role.provider_key_custodian.id
  member  = "serviceAccount:${google_service_account.platform["connect"].email}"

  condition {
    title       = "provider-key secrets only"
    description = "Secrets whose id starts with ${local.provider_secret_prefix}"
    expression  = local.provider_key_write_condition
  }
}

resource "google_project_iam_member" "sync_provider_keys" {
  project = var.project_id
  role    = "roles/secretmanager.secretAccessor"
  member  = "serviceAccount:${google_service_account.platform["sync"].email}"

  condition {
    title       = "provider-key secrets only"
    description = "Secrets whose id starts with ${local.provider_secret_prefix}"
    expression  = local.provider_key_read_condition
  }
}

resource "google_secret_manager_secret" "config" {
  for_each = local.config_secrets

  project   = var.project_id
  secret_id = each.key
  labels    = local.labels

  # User-managed replicas in named regions: automatic replication is "global" for gcp.resourceLocations and is
  # refused where that organisation policy restricts locations. Replication cannot change after creation.
  replication {
    user_managed {
      dynamic "replicas" {
        for_each = local.secret_locations
        content {
          location = replicas.value
        }
      }
    }
  }

  lifecycle {
    # Replication cannot change after creation: a change would replace the secret and lose its versions (the
    # benchmark noise key must stay stable). Deployments made before user-managed replication keep theirs.
    ignore_changes = [replication]
  }

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_iam_member" "config_accessor" {
  for_each = local.config_secret_accessors

  project   = var.project_id
  secret_id = google_secret_manager_secret.config[each.value.secret].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.platform[each.value.account].email}"
}

# The grants were keyed by secret alone when each secret had one account; keep them in place rather than removing and
# re-adding the same member (a destroy that runs after the create would revoke the access).
moved {
  from = google_secret_manager_secret_iam_member.config_accessor["smtp-password"]
  to   = google_secret_manager_secret_iam_member.config_accessor["smtp-password/reports"]
}

moved {
  from = google_secret_manager_secret_iam_member.config_accessor["benchmark-noise-key"]
  to   = google_secret_manager_secret_iam_member.config_accessor["benchmark-noise-key/benchmarks"]
}
