# One Cloud Scheduler job per entry of infra/jobs.json: POST the job's JSON body to its target function with an
# OIDC token of the scheduler invoker (the only identity allowed to invoke scheduler-triggered functions).
resource "google_cloud_scheduler_job" "job" {
  for_each = local.jobs

  project     = var.project_id
  region      = var.region
  name        = each.key
  description = "${each.key}: ${each.value.cron} UTC -> ${each.value.target}"
  schedule    = each.value.cron
  time_zone   = "Etc/UTC"
  # Cloud Scheduler waits at most 30 minutes for an HTTP target.
  attempt_deadline = "${min(1800, local.functions[each.value.target].timeout_s)}s"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "60s"
    max_backoff_duration = "600s"
    max_doublings        = 3
  }

  http_target {
    http_method = "POST"
    uri         = "${local.function_base_url}/${each.value.target}"
    body        = base64encode(jsonencode(each.value.body))
    headers = {
      "Content-Type" = "application/json"
    }

    oidc_token {
      service_account_email = google_service_account.platform["scheduler-invoker"].email
      audience              = "${local.function_base_url}/${each.value.target}"
    }
  }

  lifecycle {
    precondition {
      condition     = try(local.functions[each.value.target].trigger, "") == "scheduler"
      error_message = "Job ${each.key} targets ${each.value.target}, which is not a scheduler-triggered function of infra/functions.json."
    }
  }

  depends_on = [google_cloudfunctions2_function.function, google_cloud_run_service_iam_member.scheduler_invoker]
}
