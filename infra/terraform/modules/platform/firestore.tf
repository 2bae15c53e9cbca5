# The Firestore database, its composite indexes and TTL policies (from firestore.indexes.json at the repository
# root, the file the emulator and the Firebase CLI read too) and its security rules (firestore.rules).
locals {
  firestore_config = jsondecode(file("${local.infra_dir}/../firestore.indexes.json"))

  composite_indexes = {
    for idx in local.firestore_config.indexes :
    "${idx.collectionGroup}:${join(",", [for f in idx.fields : "${f.fieldPath}:${try(f.order, f.arrayConfig)}"])}" => idx
  }

  field_overrides = {
    for o in local.firestore_config.fieldOverrides : "${o.collectionGroup}.${o.fieldPath}" => o
  }
}

resource "google_firestore_database" "main" {
  project                           = var.project_id
  name                              = "(default)"
  location_id                       = var.firestore_location
  type                              = "FIRESTORE_NATIVE"
  concurrency_mode                  = "PESSIMISTIC"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = var.deletion_protection ? "ABANDON" : "DELETE"

  depends_on = [google_project_service.enabled]
}

resource "google_firestore_index" "composite" {
  for_each = local.composite_indexes

  project     = var.project_id
  database    = google_firestore_database.main.name
  collection  = each.value.collectionGroup
  query_scope = try(each.value.queryScope, "COLLECTION")

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path   = fields.value.fieldPath
      order        = try(fields.value.order, null)
      array_config = try(fields.value.arrayConfig, null)
    }
  }
}

# TTL policies (Firestore deletes a document some time after the timestamp in the field passes; the writer sets
# the timestamp from Settings: raw_response_ttl_days, snapshot_retention_months) and single-field index
# overrides. An empty `indexes` list exempts the field from indexing, which TTL fields should be unless a query needs
# them: the retention sweep's collection group queries need raw_responses.expire_at, usage_snapshots.date and
# usage_months.month indexed at COLLECTION_GROUP scope (an override lists every index the field keeps).
resource "google_firestore_field" "override" {
  for_each = local.field_overrides

  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = each.value.collectionGroup
  field      = each.value.fieldPath

  dynamic "ttl_config" {
    for_each = try(each.value.ttl, false) ? [1] : []
    content {}
  }

  index_config {
    dynamic "indexes" {
      for_each = try(each.value.indexes, [])
      content {
        order        = try(indexes.value.order, null)
        array_config = try(indexes.value.arrayConfig, null)
        query_scope  = try(indexes.value.queryScope, "COLLECTION")
      }
    }
  }
}

resource "google_firebaserules_ruleset" "firestore" {
  project = var.project_id

  source {
    files {
      name    = "firestore.rules"
      content = file("${local.infra_dir}/../firestore.rules")
    }
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [google_firestore_database.main]
}

resource "google_firebaserules_release" "firestore" {
  project      = var.project_id
  name         = "cloud.firestore"
  ruleset_name = "projects/${var.project_id}/rulesets/${google_firebaserules_ruleset.firestore.name}"

  lifecycle {
    replace_triggered_by = [google_firebaserules_ruleset.firestore]
  }
}
