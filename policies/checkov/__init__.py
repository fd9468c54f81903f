"""checkov custom checks of the policy stage (loaded by checkov's external-checks loader)."""
