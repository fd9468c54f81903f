variable "repository" {
  description = "GitHub repository (owner/name) whose workflows may assume the roles."
  type        = string
}

variable "roles" {
  description = <<-EOT
    CI roles keyed by name. `subjects` are OIDC `sub` claims after "repo:<repository>:" (e.g.
    "environment:production", "pull_request"); `policy_json` is the role's inline policy and
    `managed_policy_arns` any AWS managed policies it also needs.
  EOT
  type = map(object({
    subjects            = list(string)
    policy_json         = string
    managed_policy_arns = optional(list(string), [])
    max_session_hours   = optional(number, 1)
  }))
}
