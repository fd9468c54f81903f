# GitHub Actions reach AWS through OIDC only: short-lived credentials for one workflow run, trusted
# per repository and per GitHub environment (protected environments gate the powerful roles).
resource "aws_iam_openid_connect_provider" "github" {
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_policy_document" "trust" {
  for_each = var.roles

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.github.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = [for subject in each.value.subjects : "repo:${var.repository}:${subject}"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = var.roles

  name                 = "gha-${each.key}"
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = each.value.max_session_hours * 3600
}

resource "aws_iam_role_policy" "this" {
  for_each = var.roles

  name   = "ci"
  role   = aws_iam_role.this[each.key].id
  policy = each.value.policy_json
}

resource "aws_iam_role_policy_attachment" "managed" {
  for_each = {
    for pair in flatten([
      for role, spec in var.roles : [for arn in spec.managed_policy_arns : { role = role, arn = arn }]
    ]) : "${pair.role}|${pair.arn}" => pair
  }

  role       = aws_iam_role.this[each.value.role].name
  policy_arn = each.value.arn
}
