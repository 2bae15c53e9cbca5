# Alerting and the operations dashboard (docs/decisions/0021-production-on-enterprise-google-cloud.md).
#
# Log-based metrics count the structured records the code emits with an `event` field (Cloud Logging parses each
# JSON line into jsonPayload): shared/web/task_attempts.py (task_given_up), shared/services/sync/sync_enterprise.py
# (sync_finished, labelled by outcome) and shared/services/reports/send_monthly_report.py (report_delivery_failed). The 5xx
# rate, queue delays and instance counts come from Cloud Run's and Cloud Tasks' own metrics.
locals {
  log_metrics = {
    task_given_up = {
      label       = "queue"
      description = "Cloud Tasks deliveries that failed on their queue's last attempt: the task is dropped after it."
    }
    sync_finished = {
      label       = "outcome"
      description = "Sync tasks that ran, by outcome: ok, failed (a provider or some days not stored) or retry."
    }
    report_delivery_failed = {
      label       = "error_code"
      description = "Monthly reports given up on (relay refused, or unavailable on the last attempt)."
    }
  }

  notification_channels = concat(var.notification_channels, [for c in google_monitoring_notification_channel.email : c.id])

  # Cloud Run serves function NAME as service NAME with underscores as hyphens; only public services are judged on
  # 5xx, as task handlers answer 503 on purpose to have Cloud Tasks retry.
  public_services = join(",", [for name in keys(local.public_functions) : "\"${replace(name, "_", "-")}\""])

  user_metric = { for name, _ in local.log_metrics : name => "logging.googleapis.com/user/${name}" }
}

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.alert_emails)

  project      = var.project_id
  display_name = "Usage tracking alerts (${each.key})"
  type         = "email"
  labels       = { email_address = each.key }

  depends_on = [google_project_service.enabled]
}

resource "google_logging_metric" "event" {
  for_each = local.log_metrics

  project     = var.project_id
  name        = each.key
  description = each.value.description
  filter      = "resource.type=\"cloud_run_revision\" AND jsonPayload.event=\"${each.key}\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key        = each.value.label
      value_type = "STRING"
    }
  }

  label_extractors = { (each.value.label) = "EXTRACT(jsonPayload.${each.value.label})" }

  depends_on = [google_project_service.enabled]
}

resource "google_monitoring_alert_policy" "task_given_up" {
  project               = var.project_id
  display_name          = "Tasks dropped after their last attempt"
  combiner              = "OR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "task_given_up > 0 in 5 minutes"
    condition_threshold {
      filter          = "metric.type=\"${local.user_metric.task_given_up}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.queue"]
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A sync, report or erasure task failed on every attempt and Cloud Tasks dropped it. Logs: `jsonPayload.event=\"task_given_up\"` (queue, task, status). Runbook: infra/README.md, \"When an alert fires\"."
  }

  depends_on = [google_logging_metric.event]
}

resource "google_monitoring_alert_policy" "sync_failures" {
  project               = var.project_id
  display_name          = "Sync failure ratio"
  combiner              = "OR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "failed syncs / all syncs over 1 hour"
    condition_threshold {
      filter             = "metric.type=\"${local.user_metric.sync_finished}\" AND resource.type=\"cloud_run_revision\" AND metric.label.outcome=\"failed\""
      denominator_filter = "metric.type=\"${local.user_metric.sync_finished}\" AND resource.type=\"cloud_run_revision\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.sync_failure_ratio_alert
      duration           = "0s"
      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      denominator_aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "More than the threshold of syncs could not store a provider's data (provider outage, changed API, revoked keys en masse). Logs: `jsonPayload.event=\"sync_finished\" AND jsonPayload.outcome=\"failed\"`."
  }

  depends_on = [google_logging_metric.event]
}

resource "google_monitoring_alert_policy" "report_failures" {
  project               = var.project_id
  display_name          = "Monthly report delivery failures"
  combiner              = "OR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "report_delivery_failed > 0 in 1 hour"
    condition_threshold {
      filter          = "metric.type=\"${local.user_metric.report_delivery_failed}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.error_code"]
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Reports were recorded failed (shown to admins in the reports list). Check the SMTP relay (SPF/DKIM, credentials in the smtp-password secret), then re-run the job: infra/README.md."
  }

  depends_on = [google_logging_metric.event]
}

resource "google_monitoring_alert_policy" "error_rate" {
  project               = var.project_id
  display_name          = "Public API 5xx rate"
  combiner              = "OR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "5xx / all requests of a public function over 5 minutes"
    condition_threshold {
      filter             = "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.label.service_name=one_of(${local.public_services}) AND metric.label.response_code_class=\"5xx\""
      denominator_filter = "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.label.service_name=one_of(${local.public_services})"
      comparison         = "COMPARISON_GT"
      threshold_value    = var.error_ratio_alert
      duration           = "300s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_monitoring_alert_policy" "queue_delay" {
  project               = var.project_id
  display_name          = "Cloud Tasks queue falling behind"
  combiner              = "OR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "p99 delay between a task's scheduled and actual attempt"
    condition_threshold {
      filter          = "metric.type=\"cloudtasks.googleapis.com/queue/task_attempt_delays\" AND resource.type=\"cloud_tasks_queue\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.queue_delay_alert_minutes * 60 * 1000 # the metric is in milliseconds
      duration        = "600s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_PERCENTILE_99"
        cross_series_reducer = "REDUCE_MAX"
        group_by_fields      = ["resource.label.queue_id"]
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Tasks wait longer than the capacity model allows (the daily fan-out should drain within 4 hours: devstack/capacity.py). Check the worker's instance count against its max_instances and the queue's rate limits."
  }

  depends_on = [google_project_service.enabled]
}

resource "google_monitoring_uptime_check_config" "api" {
  project      = var.project_id
  display_name = "API through the front door (${var.domains[0]})"
  timeout      = "10s"
  period       = "300s"

  http_check {
    path         = "/api/v1/openapi.json" # public, served by the api function behind the load balancer
    port         = 443
    use_ssl      = true
    validate_ssl = true
  }

  monitored_resource {
    type   = "uptime_url"
    labels = { project_id = var.project_id, host = var.domains[0] }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_monitoring_alert_policy" "uptime" {
  project               = var.project_id
  display_name          = "API unreachable"
  combiner              = "OR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "uptime check failing from more than one region"
    condition_threshold {
      filter          = "metric.type=\"monitoring.googleapis.com/uptime_check/check_passed\" AND resource.type=\"uptime_url\" AND metric.label.check_id=\"${google_monitoring_uptime_check_config.api.uptime_check_id}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "300s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_COUNT_FALSE"
        group_by_fields      = ["resource.label.host"]
      }
    }
  }
}

resource "google_monitoring_dashboard" "operations" {
  project = var.project_id
  dashboard_json = jsonencode({
    displayName = "Enterprise usage tracking: operations"
    mosaicLayout = {
      columns = 12
      tiles = [
        for i, chart in [
          { title = "Public requests by response class", filter = "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.label.service_name=one_of(${local.public_services})", aligner = "ALIGN_RATE", group = ["metric.label.response_code_class"] },
          { title = "Syncs by outcome", filter = "metric.type=\"${local.user_metric.sync_finished}\"", aligner = "ALIGN_SUM", group = ["metric.label.outcome"] },
          { title = "Tasks given up, by queue", filter = "metric.type=\"${local.user_metric.task_given_up}\"", aligner = "ALIGN_SUM", group = ["metric.label.queue"] },
          { title = "Report delivery failures", filter = "metric.type=\"${local.user_metric.report_delivery_failed}\"", aligner = "ALIGN_SUM", group = ["metric.label.error_code"] },
          { title = "Queue depth", filter = "metric.type=\"cloudtasks.googleapis.com/queue/depth\" AND resource.type=\"cloud_tasks_queue\"", aligner = "ALIGN_MEAN", group = ["resource.label.queue_id"] },
          { title = "Queue delay p99 (ms)", filter = "metric.type=\"cloudtasks.googleapis.com/queue/task_attempt_delays\" AND resource.type=\"cloud_tasks_queue\"", aligner = "ALIGN_PERCENTILE_99", group = ["resource.label.queue_id"] },
          { title = "Instances per function", filter = "metric.type=\"run.googleapis.com/container/instance_count\" AND resource.type=\"cloud_run_revision\"", aligner = "ALIGN_MAX", group = ["resource.label.service_name"] },
          { title = "Request latency p95 (ms)", filter = "metric.type=\"run.googleapis.com/request_latencies\" AND resource.type=\"cloud_run_revision\"", aligner = "ALIGN_PERCENTILE_95", group = ["resource.label.service_name"] },
          ] : {
          xPos   = (i % 2) * 6
          yPos   = floor(i / 2) * 4
          width  = 6
          height = 4
          widget = {
            title = chart.title
            xyChart = {
              dataSets = [{
                plotType = "LINE"
                timeSeriesQuery = {
                  timeSeriesFilter = {
                    filter = chart.filter
                    aggregation = {
                      alignmentPeriod    = "300s"
                      perSeriesAligner   = chart.aligner
                      crossSeriesReducer = chart.aligner == "ALIGN_RATE" || chart.aligner == "ALIGN_SUM" ? "REDUCE_SUM" : "REDUCE_MAX"
                      groupByFields      = chart.group
                    }
                  }
                }
              }]
            }
          }
        }
      ]
    }
  })

  depends_on = [google_logging_metric.event]
}
