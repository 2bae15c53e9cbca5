# Identities and their project-level roles. One runtime service account per group of functions (the
# `service_account` field of infra/functions.json), a scheduler invoker, one invoker per task-triggered function
# (a token minted for one queue's tasks cannot call another function; ADR 20) and one identity for builds.
#
# Secret Manager is deliberately absent from this file: provider-key access (connect, sync) is in secrets.tf,
# conditioned on the provider-key prefix, and the platform's own secrets are granted per secret there too.
locals {
  service_accounts = {
    api                        = { account_id = "fn-api", description = "api function: public REST API (reads, enterprise management)" }
    connect                    = { account_id = "fn-connect", description = "connect and enterprise_erase: writes and destroys provider keys" }
    sync                       = { account_id = "fn-sync", description = "sync_dispatch and sync_worker: reads provider keys, writes usage" }
    benchmarks                 = { account_id = "fn-benchmarks", description = "benchmarks_aggregate: monthly peer benchmarks" }
    reports                    = { account_id = "fn-reports", description = "reports, reports_dispatch, report_worker: exports and emails" }
    retention                  = { account_id = "fn-retention", description = "retention_sweep: deletes data past its retention" }
    "scheduler-invoker"        = { account_id = "scheduler-invoker", description = "Identity of Cloud Scheduler's OIDC tokens" }
    "invoker-sync-worker"      = { account_id = "invoker-sync-worker", description = "OIDC identity of sync_worker's tasks" }
    "invoker-report-worker"    = { account_id = "invoker-report-worker", description = "OIDC identity of report_worker's tasks" }
    "invoker-enterprise-erase" = { account_id = "invoker-enterprise-erase", description = "OIDC identity of enterprise_erase's tasks" }
    "invoker-key-retire"       = { account_id = "invoker-key-retire", description = "OIDC identity of key_retire's tasks" }
    "invoker-webhook-deliver"  = { account_id = "invoker-webhook-deliver", description = "OIDC identity of webhook_deliver's tasks" }
    "function-builder"         = { account_id = "function-builder", description = "Cloud Build identity for function builds" }
  }

  # Every project-level grant, written out so a reviewer (and tests/integration/test_infra.py) reads exactly who
  # holds what. The invokers hold nothing here: they are granted run.invoker on single functions (functions.tf).
  project_grants = {
    "api/datastore"        = { account = "api", role = "roles/datastore.user" }
    "api/logs"             = { account = "api", role = "roles/logging.logWriter" }
    "api/traces"           = { account = "api", role = "roles/cloudtrace.agent" }
    "api/auth-viewer"      = { account = "api", role = "roles/firebaseauth.viewer" } # revocation checks (ADR 20)
    "connect/datastore"    = { account = "connect", role = "roles/datastore.user" }
    "connect/logs"         = { account = "connect", role = "roles/logging.logWriter" }
    "connect/traces"       = { account = "connect", role = "roles/cloudtrace.agent" }
    "connect/auth-viewer"  = { account = "connect", role = "roles/firebaseauth.viewer" }
    "sync/datastore"       = { account = "sync", role = "roles/datastore.user" }
    "sync/logs"            = { account = "sync", role = "roles/logging.logWriter" }
    "sync/traces"          = { account = "sync", role = "roles/cloudtrace.agent" }
    "benchmarks/datastore" = { account = "benchmarks", role = "roles/datastore.user" }
    "benchmarks/logs"      = { account = "benchmarks", role = "roles/logging.logWriter" }
    "benchmarks/traces"    = { account = "benchmarks", role = "roles/cloudtrace.agent" }
    "reports/datastore"    = { account = "reports", role = "roles/datastore.user" }
    "reports/logs"         = { account = "reports", role = "roles/logging.logWriter" }
    "reports/traces"       = { account = "reports", role = "roles/cloudtrace.agent" }
    "retention/datastore"  = { account = "retention", role = "roles/datastore.user" }
    "retention/logs"       = { account = "retention", role = "roles/logging.logWriter" }
    "retention/traces"     = { account = "retention", role = "roles/cloudtrace.agent" }
    "builder/builds"       = { account = "function-builder", role = "roles/cloudbuild.builds.builder" }
  }
}

resource "google_service_account" "platform" {
  for_each = local.service_accounts

  project      = var.project_id
  account_id   = each.value.account_id
  display_name = each.key
  description  = each.value.description

  depends_on = [google_project_service.enabled]
}

resource "google_project_iam_member" "grant" {
  for_each = local.project_grants

  project = var.project_id
  role    = each.value.role
  member  = "serviceAccount:${google_service_account.platform[each.value.account].email}"
}

# A function that enqueues tasks must be allowed to act as the invoker of the queue's target, on that one service
# account only (not project-wide serviceAccountUser, which would let it act as any identity).
resource "google_service_account_iam_member" "task_creator_acts_as_invoker" {
  for_each = local.queue_enqueuers

  service_account_id = google_service_account.platform[local.task_invokers[local.queues[each.value.queue].target]].name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.platform[each.value.account].email}"
}
