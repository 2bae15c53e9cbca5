# The three tables in infra/ are the single source of truth for what is deployed: this module reads them, so a
# function, job or route added there is deployed without touching Terraform (and the local stack reads the same).
locals {
  infra_dir = "${path.module}/../../.."

  functions = { for f in jsondecode(file("${local.infra_dir}/functions.json")).functions : f.name => f }
  jobs      = { for j in jsondecode(file("${local.infra_dir}/jobs.json")).jobs : j.name => j }
  routes    = jsondecode(file("${local.infra_dir}/routes.json")).routes

  # Distinct source folders: one bundle (zip) each, shared by the functions built from it.
  sources = toset([for f in local.functions : f.source])

  public_functions   = { for name, f in local.functions : name => f if f.trigger == "public" }
  internal_functions = { for name, f in local.functions : name => f if f.trigger != "public" }

  # Who may call an internal function: the scheduler invoker for scheduled functions, and for each task-triggered
  # function its own invoker (iam.tf). A task function missing here fails tests/integration/test_infra.py.
  scheduler_functions = { for name, f in local.functions : name => f if f.trigger == "scheduler" }
  task_invokers = {
    sync_worker      = "invoker-sync-worker"
    report_worker    = "invoker-report-worker"
    enterprise_erase = "invoker-enterprise-erase"
    key_retire       = "invoker-key-retire"
    webhook_deliver  = "invoker-webhook-deliver"
  }

  # Cloud Functions gen2 serves every function at {base}/{name}; the code computes OIDC audiences and task URLs
  # from FUNCTION_BASE_URL the same way (shared/web/app.py, shared/adapters/cloud_tasks.py).
  function_base_url = "https://${var.region}-${var.project_id}.cloudfunctions.net"

  # Provider-key secrets (one per enterprise and provider) are created at run time by the connect function, with
  # ids starting with this prefix. It must equal Settings.provider_secret_prefix (tests/integration/test_infra.py).
  provider_secret_prefix = "provider-key-"

  # Where every secret is replicated: Terraform's own and the ones connect creates (SECRET_REPLICA_LOCATIONS).
  secret_locations = length(var.secret_replica_locations) > 0 ? var.secret_replica_locations : [var.region]

  # Settings (shared/config.py) of every function; names are upper-case Settings fields.
  common_environment = {
    PROJECT_ID                = var.project_id
    REGION                    = var.region
    CORS_ALLOWED_ORIGINS      = join(",", var.cors_allowed_origins)
    PUBLIC_BASE_URL           = var.public_base_url
    SITE_SETTINGS_URL         = var.site_settings_url
    SCHEDULER_SERVICE_ACCOUNT = google_service_account.platform["scheduler-invoker"].email
    TASK_INVOKERS             = jsonencode({ for name, account in local.task_invokers : name => google_service_account.platform[account].email })
    FUNCTION_BASE_URL         = local.function_base_url
    SYNC_QUEUE                = google_cloud_tasks_queue.queue["usage-sync"].name
    REPORTS_QUEUE             = google_cloud_tasks_queue.queue["monthly-reports"].name
    ERASE_QUEUE               = google_cloud_tasks_queue.queue["enterprise-erase"].name
    RETIRE_QUEUE              = google_cloud_tasks_queue.queue["key-retire"].name
    WEBHOOK_QUEUE             = google_cloud_tasks_queue.queue["alert-webhooks"].name
    PROVIDER_SECRET_PREFIX    = local.provider_secret_prefix
    SECRET_REPLICA_LOCATIONS  = join(",", local.secret_locations)
    SMTP_HOST                 = var.smtp_host
    SMTP_PORT                 = tostring(var.smtp_port)
    SMTP_SECURITY             = var.smtp_security
    MAIL_FROM                 = var.mail_from

    # Amazon Bedrock roles trust these identities (ADR 22): the numeric ids of the accounts that assume them.
    AWS_FEDERATION_SUBJECTS = join(",", [for a in ["connect", "sync"] : google_service_account.platform[a].unique_id])

    # The report worker records a report as failed on the queue's last attempt, so the two limits must agree.
    REPORT_MAX_ATTEMPTS = tostring(local.queues["monthly-reports"].max_attempts)
    # A task failing on its queue's last attempt is logged as given up (alerted on, monitoring.tf); the sync worker
    # records its window as missing on the usage-sync queue's last attempt instead (repaired by the daily sync).
    TASK_MAX_ATTEMPTS = jsonencode({ for name, q in local.queues : name => q.max_attempts })
  }

  # Unset rather than empty: an empty user name would still be sent to the relay as a login.
  smtp_environment = var.smtp_username == "" ? {} : { SMTP_USERNAME = var.smtp_username }

  labels = merge({ app = "enterprise-usage-tracking", managed-by = "terraform" }, var.labels)
}
