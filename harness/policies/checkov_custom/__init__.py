"""checkov custom checks of the policy stage (loaded by checkov's external-checks loader, which
needs this file). Not named ``checkov/``: that would shadow the checkov package."""
