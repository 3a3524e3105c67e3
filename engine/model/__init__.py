"""The model: errors, exit codes, diagnostics, evidence and findings (frozen dataclasses).

Imports only ``annexa.files``. Collectors build ``annexa.model.evidence.Evidence``;
everything above reads it."""
