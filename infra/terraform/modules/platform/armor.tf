# Cloud Armor on the front door: per-client-IP rate limits, on by default. The app's own quotas (Firestore counters,
# per user and per enterprise) cannot see a flood of unauthenticated requests or bad tokens; this policy can, and
# it answers 429 before a request reaches a function. `var.security_policy` replaces it with a policy of your own.

resource "google_compute_security_policy" "frontdoor" {
  project     = var.project_id
  name        = "frontdoor-rate-limits"
  description = "Per-IP rate limits in front of the platform's public functions (ADR 20)."
  type        = "CLOUD_ARMOR"

  # Connecting a provider validates a key against the provider: the tightest limit, against key probing.
  rule {
    action      = "throttle"
    priority    = 900
    description = "Provider connect attempts per client IP"
    match {
      expr {
        expression = "request.path.startsWith('/api/v1/enterprise/connect')"
      }
    }
    rate_limit_options {
      conform_action = "allow"
      exceed_action  = "deny(429)"
      enforce_on_key = "IP"
      rate_limit_threshold {
        count        = var.armor_connect_requests_per_minute
        interval_sec = 60
      }
    }
  }

  rule {
    action      = "throttle"
    priority    = 1000
    description = "Every request per client IP"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
    rate_limit_options {
      conform_action = "allow"
      exceed_action  = "deny(429)"
      enforce_on_key = "IP"
      rate_limit_threshold {
        count        = var.armor_requests_per_minute
        interval_sec = 60
      }
    }
  }

  rule {
    action      = "allow"
    priority    = 2147483647
    description = "Default: allow what no rule above limited"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }
}

locals {
  security_policy = coalesce(var.security_policy, google_compute_security_policy.frontdoor.self_link)
}
