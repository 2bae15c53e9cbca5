output "frontdoor_ip" {
  description = "Address to point the domains' A records at."
  value       = google_compute_global_address.frontdoor.address
}

output "function_base_url" {
  description = "FUNCTION_BASE_URL given to every function."
  value       = local.function_base_url
}

output "function_urls" {
  description = "Deployed URL of each function."
  value       = { for name, f in google_cloudfunctions2_function.function : name => f.url }
}

output "service_accounts" {
  description = "Email of each platform identity."
  value       = { for key, sa in google_service_account.platform : key => sa.email }
}

output "queues" {
  description = "Cloud Tasks queue names."
  value       = [for q in google_cloud_tasks_queue.queue : q.name]
}

output "config_secrets" {
  description = "Secrets whose first version an operator must add (infra/README.md)."
  value       = [for s in google_secret_manager_secret.config : s.secret_id]
}
