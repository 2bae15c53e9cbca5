# One Cloud Functions (2nd gen) function per entry of infra/functions.json, built from the bundle of its source
# folder (devstack/bundle.py: main.py + the shared/ package + requirements.txt exported from uv.lock).

resource "google_storage_bucket" "sources" {
  project                     = var.project_id
  name                        = "${var.project_id}-function-sources"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = !var.deletion_protection
  labels                      = local.labels

  # Old bundles are only needed for a rollback soon after a deploy.
  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_storage_bucket_object" "bundle" {
  for_each = local.sources

  # The content hash in the name makes a changed bundle a new object, which is what triggers a rebuild.
  name   = "${basename(each.key)}-${filemd5("${var.bundles_dir}/${basename(each.key)}.zip")}.zip"
  bucket = google_storage_bucket.sources.name
  source = "${var.bundles_dir}/${basename(each.key)}.zip"
}

resource "google_storage_bucket_iam_member" "builder_reads_sources" {
  bucket = google_storage_bucket.sources.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.platform["function-builder"].email}"
}

resource "google_cloudfunctions2_function" "function" {
  for_each = local.functions

  project     = var.project_id
  location    = var.region
  name        = each.key
  description = "${each.value.trigger} function ${each.key} (${each.value.source})"
  labels      = local.labels

  build_config {
    runtime         = "python311" # docs/decisions/0003-deployed-runtime.md
    entry_point     = each.value.entry_point
    service_account = google_service_account.platform["function-builder"].id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.bundle[each.value.source].name
      }
    }
  }

  service_config {
    available_memory                 = each.value.memory
    timeout_seconds                  = each.value.timeout_s
    max_instance_count               = each.value.max_instances
    min_instance_count               = lookup(var.min_instances, each.key, 0)
    service_account_email            = google_service_account.platform[each.value.service_account].email
    all_traffic_on_latest_revision   = true
    max_instance_request_concurrency = try(each.value.concurrency, 1)
    # Concurrency above 1 needs at least one vCPU (https://cloud.google.com/functions/docs/configuring/concurrency).
    available_cpu = try(each.value.cpu, null)
    # Public functions are reached through the front door only; internal ones are called by Cloud Scheduler
    # and Cloud Tasks over the internet, where IAM (run.invoker below) is the gate.
    ingress_settings = each.value.trigger == "public" ? var.public_ingress : "ALLOW_ALL"

    # THREADS: functions-framework's request threads, as many as the requests an instance is sent at once.
    environment_variables = merge(
      local.common_environment, local.smtp_environment, var.extra_environment,
      can(each.value.concurrency) ? { THREADS = tostring(each.value.concurrency) } : {},
    )

    # The platform's own secrets, mounted only on the functions whose identity was granted them (secrets.tf).
    dynamic "secret_environment_variables" {
      for_each = { for name, s in local.config_secrets : name => s if contains(s.accounts, each.value.service_account) }
      content {
        key        = secret_environment_variables.value.env
        project_id = var.project_id
        secret     = google_secret_manager_secret.config[secret_environment_variables.key].secret_id
        version    = "latest"
      }
    }
  }

  lifecycle {
    precondition {
      condition     = contains(keys(local.service_accounts), each.value.service_account)
      error_message = "Function ${each.key} names service account ${each.value.service_account}, which iam.tf does not define."
    }
    precondition {
      condition     = contains(["public", "scheduler", "tasks"], each.value.trigger)
      error_message = "Function ${each.key} has trigger ${each.value.trigger}; expected public, scheduler or tasks."
    }
  }

  depends_on = [
    google_project_iam_member.grant,
    google_secret_manager_secret_iam_member.config_accessor,
    google_storage_bucket_iam_member.builder_reads_sources,
  ]
}

locals {
  # Name of the Cloud Run service behind each function (the API returns projects/P/locations/R/services/NAME).
  run_service_names = {
    for name, f in google_cloudfunctions2_function.function : name => reverse(split("/", f.service_config[0].service))[0]
  }
}

# Public functions verify Firebase ID tokens themselves, so Cloud Run's invoker check must let anyone through: either
# an allUsers grant or, where domain-restricted sharing refuses allUsers, the check switched off (var.public_access).
locals {
  all_users_functions          = { for name, f in local.public_functions : name => f if var.public_access == "all_users" }
  invoker_check_free_functions = { for name, f in local.public_functions : name => f if var.public_access == "invoker_iam_check_disabled" }
}

resource "google_cloud_run_service_iam_member" "public_invoker" {
  for_each = local.all_users_functions

  project  = var.project_id
  location = var.region
  service  = local.run_service_names[each.key]
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# The functions API does not expose Cloud Run's invoker_iam_disabled, so it is set on the function's service with
# gcloud (https://cloud.google.com/run/docs/authenticating/public#invoker_check), again after every update of the
# function in case a redeploy resets it. The caller needs run.services.setIamPolicy (roles/run.admin).
resource "terraform_data" "invoker_check_disabled" {
  for_each = local.invoker_check_free_functions

  triggers_replace = [local.run_service_names[each.key], google_cloudfunctions2_function.function[each.key].update_time]

  provisioner "local-exec" {
    command = "gcloud run services update ${local.run_service_names[each.key]} --no-invoker-iam-check --region=${var.region} --project=${var.project_id} --quiet"
  }
}

# A scheduled function may be invoked only by the scheduler invoker; a task-triggered function only by its own
# invoker, the identity its queue's tasks carry (Settings.task_invokers).
resource "google_cloud_run_service_iam_member" "scheduler_invoker" {
  for_each = local.scheduler_functions

  project  = var.project_id
  location = var.region
  service  = local.run_service_names[each.key]
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.platform["scheduler-invoker"].email}"
}

resource "google_cloud_run_service_iam_member" "task_invoker" {
  for_each = local.task_invokers

  project  = var.project_id
  location = var.region
  service  = local.run_service_names[each.key]
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.platform[each.value].email}"
}

# The code derives task URLs and OIDC audiences from FUNCTION_BASE_URL; warn if Google serves a function elsewhere.
check "function_urls_match_function_base_url" {
  assert {
    condition = alltrue([
      for name, f in google_cloudfunctions2_function.function : f.url == "${local.function_base_url}/${name}"
    ])
    error_message = "A function URL differs from FUNCTION_BASE_URL/<name>; set INTERNAL_AUDIENCE/FUNCTION_BASE_URL accordingly."
  }
}
