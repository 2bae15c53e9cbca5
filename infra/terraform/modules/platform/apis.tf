locals {
  apis = toset([
    "artifactregistry.googleapis.com",     # images built for gen2 functions
    "cloudbuild.googleapis.com",           # builds the function bundles
    "cloudfunctions.googleapis.com",       # the functions
    "cloudresourcemanager.googleapis.com", # project lookups (project number for IAM conditions)
    "cloudscheduler.googleapis.com",       # scheduled jobs
    "cloudtasks.googleapis.com",           # queues
    "cloudtrace.googleapis.com",           # traces from the functions
    "compute.googleapis.com",              # the front door (load balancer, NEGs)
    "firebaserules.googleapis.com",        # firestore.rules deployment
    "firestore.googleapis.com",            # the database
    "iam.googleapis.com",                  # service accounts and custom roles
    "identitytoolkit.googleapis.com",      # Firebase Authentication of the hosted site's users
    "logging.googleapis.com",              # structured logs
    "monitoring.googleapis.com",           # log-based metrics, alert policies, uptime check, dashboard
    "run.googleapis.com",                  # gen2 functions run on Cloud Run
    "secretmanager.googleapis.com",        # provider keys and the platform's own secrets
    "storage.googleapis.com",              # the bundle bucket
  ])
}

resource "google_project_service" "enabled" {
  for_each = local.apis

  project = var.project_id
  service = each.key
  # Disabling an API on destroy could break other workloads in a shared project.
  disable_on_destroy = false
}

data "google_project" "this" {
  project_id = var.project_id

  depends_on = [google_project_service.enabled]
}
