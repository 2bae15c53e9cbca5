# The front door (docs/decisions/0004-front-door.md): a global external HTTPS load balancer whose URL map is
# generated from infra/routes.json, with one serverless NEG and backend service per routed function. The local
# stack's router reads the same file. A URL map picks the longest matching path, like the local router.
locals {
  routed_functions = toset([for r in local.routes : r.function])

  # "/api/v1/" serves everything below it; "/api/v1/enterprise/connect" serves itself and everything below it.
  route_paths = {
    for r in local.routes : r.prefix => {
      function = r.function
      paths    = endswith(r.prefix, "/") ? ["${r.prefix}*"] : [r.prefix, "${r.prefix}/*"]
    }
  }

  # Requests matching no route go to the function of the shortest (most general) prefix, which answers 404.
  shortest_prefix_length = min([for r in local.routes : length(r.prefix)]...)
  default_function       = [for r in local.routes : r.function if length(r.prefix) == local.shortest_prefix_length][0]
}

resource "google_compute_global_address" "frontdoor" {
  project = var.project_id
  name    = "frontdoor"

  depends_on = [google_project_service.enabled]
}

resource "google_compute_managed_ssl_certificate" "frontdoor" {
  project = var.project_id
  name    = "frontdoor-${substr(sha256(join(",", sort(var.domains))), 0, 8)}"

  managed {
    domains = var.domains
  }

  # A changed domain list needs a new certificate before the old one can go.
  lifecycle {
    create_before_destroy = true
  }

  depends_on = [google_project_service.enabled]
}

resource "google_compute_region_network_endpoint_group" "function" {
  for_each = local.routed_functions

  project               = var.project_id
  region                = var.region
  name                  = "neg-${replace(each.key, "_", "-")}"
  network_endpoint_type = "SERVERLESS"

  cloud_run {
    service = local.run_service_names[each.key]
  }

  lifecycle {
    precondition {
      condition     = try(local.functions[each.key].trigger, "") == "public"
      error_message = "Route target ${each.key} must be a public function of infra/functions.json."
    }
  }
}

resource "google_compute_backend_service" "function" {
  for_each = local.routed_functions

  project               = var.project_id
  name                  = "backend-${replace(each.key, "_", "-")}"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  security_policy       = local.security_policy

  backend {
    group = google_compute_region_network_endpoint_group.function[each.key].id
  }

  log_config {
    enable      = true
    sample_rate = 1.0
  }
}

resource "google_compute_url_map" "frontdoor" {
  project         = var.project_id
  name            = "frontdoor"
  default_service = google_compute_backend_service.function[local.default_function].id

  host_rule {
    hosts        = ["*"]
    path_matcher = "routes"
  }

  path_matcher {
    name            = "routes"
    default_service = google_compute_backend_service.function[local.default_function].id

    dynamic "path_rule" {
      for_each = local.route_paths
      content {
        paths   = path_rule.value.paths
        service = google_compute_backend_service.function[path_rule.value.function].id
      }
    }
  }
}

resource "google_compute_target_https_proxy" "frontdoor" {
  project          = var.project_id
  name             = "frontdoor"
  url_map          = google_compute_url_map.frontdoor.id
  ssl_certificates = [google_compute_managed_ssl_certificate.frontdoor.id]
}

resource "google_compute_global_forwarding_rule" "https" {
  project               = var.project_id
  name                  = "frontdoor-https"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_address            = google_compute_global_address.frontdoor.id
  port_range            = "443"
  target                = google_compute_target_https_proxy.frontdoor.id
}

# Plain HTTP only redirects to HTTPS.
resource "google_compute_url_map" "redirect" {
  project = var.project_id
  name    = "frontdoor-redirect"

  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }
}

resource "google_compute_target_http_proxy" "redirect" {
  project = var.project_id
  name    = "frontdoor-redirect"
  url_map = google_compute_url_map.redirect.id
}

resource "google_compute_global_forwarding_rule" "http" {
  project               = var.project_id
  name                  = "frontdoor-http"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_address            = google_compute_global_address.frontdoor.id
  port_range            = "80"
  target                = google_compute_target_http_proxy.redirect.id
}
