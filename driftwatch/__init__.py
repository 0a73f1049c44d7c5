"""driftwatch: declarative policy-and-drift auditing for GitOps."""

__version__ = "0.1.0"
