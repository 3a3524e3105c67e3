"""Audit records built from findings and the scan history: the Statement of Applicability, the
nonconformity register, drift between scans and control coverage."""
