"""Built-in integrations: plugins that act on a scan's outcome outside annexa (ticket trackers).

Like the built-in collectors, each module is a plugin found by name (``DEFAULT_PLUGINS`` and an
``annexa`` entry point), declares its annexa.yaml block through ``annexa_integrations`` and sees only the
extension API (:mod:`annexa.plugins`): nothing in annexa imports an integration, and an integration
imports nothing of the engine but that API, so it could leave for a distribution of its own unchanged.
"""
