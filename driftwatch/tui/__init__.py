"""The Textual app. Everything it shows comes from an AuditReport; nothing here is imported
by the engine, providers or report modules (an import-linter contract checks it)."""
