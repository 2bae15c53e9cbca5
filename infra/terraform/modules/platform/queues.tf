# Cloud Tasks queues. Each queue feeds one internal function; `enqueuers` are the runtime identities allowed to
# create tasks on it (granted on the queue, not the project). Rates protect the providers' admin APIs and the
# SMTP relay; retries back off exponentially so a provider outage is ridden out, not hammered.
locals {
  queues = {
    "usage-sync" = {
      target    = "sync_worker"
      enqueuers = ["sync", "connect"] # dispatch fan-out; connect enqueues the first backfill
      # From the capacity model (devstack/capacity.py, 100,000 enterprises; tests/unit/test_capacity.py keeps them
      # equal): drains the 02:00 daily fan-out within 4 hours while hourly tasks keep coming. Each task paces its
      # own provider requests, so these rates do not reach any one provider organisation.
      max_dispatches_per_second = 13
      max_concurrent_dispatches = 144
      max_attempts              = 8
      min_backoff               = "30s"
      max_backoff               = "3600s"
      max_doublings             = 5
    }
    "monthly-reports" = {
      target                    = "report_worker"
      enqueuers                 = ["reports"]
      max_dispatches_per_second = 2
      max_concurrent_dispatches = 5
      max_attempts              = 6
      min_backoff               = "60s"
      max_backoff               = "3600s"
      max_doublings             = 4
    }
    "enterprise-erase" = {
      target                    = "enterprise_erase"
      enqueuers                 = ["api", "connect", "retention"] # api: the request; retention: stalled erasures
      max_dispatches_per_second = 1
      max_concurrent_dispatches = 2
      # Erasure is a legal obligation: keep retrying for days rather than give up.
      max_attempts  = 50
      min_backoff   = "60s"
      max_backoff   = "21600s"
      max_doublings = 8
    }
    "key-retire" = {
      target    = "key_retire"
      enqueuers = ["connect"] # each rotation schedules the replaced version's destruction
      # A handful of rotations a day; Secret Manager allows 600 writes a minute per project.
      max_dispatches_per_second = 2
      max_concurrent_dispatches = 5
      max_attempts              = 20
      min_backoff               = "60s"
      max_backoff               = "3600s"
      max_doublings             = 5
    }
    "alert-webhooks" = {
      target    = "webhook_deliver"
      enqueuers = ["sync"] # a sync whose webhook send failed hands the retry to this queue
      # One send per task under WEBHOOK_DEADLINE_S; retries back off 60 s, 2, 4, 8, 16 min, then hourly: a receiver
      # down for a few hours still gets the alert, and one that never answers costs 8 sends. The webhook function
      # records the alert's webhook as failed on the last attempt (TASK_MAX_ATTEMPTS).
      max_dispatches_per_second = 5
      max_concurrent_dispatches = 10
      max_attempts              = 8
      min_backoff               = "60s"
      max_backoff               = "3600s"
      max_doublings             = 4
    }
  }

  queue_enqueuers = {
    for pair in flatten([
      for name, q in local.queues : [for account in q.enqueuers : { queue = name, account = account }]
    ]) : "${pair.queue}/${pair.account}" => pair
  }
}

resource "google_cloud_tasks_queue" "queue" {
  for_each = local.queues

  project  = var.project_id
  location = var.region
  name     = each.key

  rate_limits {
    max_dispatches_per_second = each.value.max_dispatches_per_second
    max_concurrent_dispatches = each.value.max_concurrent_dispatches
  }

  retry_config {
    max_attempts  = each.value.max_attempts
    min_backoff   = each.value.min_backoff
    max_backoff   = each.value.max_backoff
    max_doublings = each.value.max_doublings
  }

  stackdriver_logging_config {
    sampling_ratio = 1.0
  }

  lifecycle {
    precondition {
      condition     = try(local.functions[each.value.target].trigger, "") == "tasks"
      error_message = "Queue ${each.key} must target a function of infra/functions.json whose trigger is \"tasks\"."
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_cloud_tasks_queue_iam_member" "enqueuer" {
  for_each = local.queue_enqueuers

  project  = var.project_id
  location = var.region
  name     = google_cloud_tasks_queue.queue[each.value.queue].name
  role     = "roles/cloudtasks.enqueuer"
  member   = "serviceAccount:${google_service_account.platform[each.value.account].email}"
}
