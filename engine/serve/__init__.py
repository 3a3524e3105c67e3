"""``annexa serve``: a dashboard and JSON API over the store that scans write, with roles.

Optional: ``pip install 'annexa[serve]'`` (Starlette, Jinja2, uvicorn). Layers: :mod:`.roles` (who may
do what), :mod:`.state` (tokens, sessions, the audit log and the few writes, beside the store),
:mod:`.views` (page data from the store through the audit layer), :mod:`.app` (routes, guard, templates).
"""
