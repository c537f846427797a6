"""The task force's live page, served by the worker's Faust web server.

`views.register_views(app, stack)` adds the page and its JSON endpoints;
`queries` holds the parameterised SQL (every number comes from ClickHouse, so
the page is right whichever worker holds which partition); `timeline` turns one
dossier's rows into where its time went. The page itself (`static/`) is plain
HTML, CSS and JavaScript with no outside resource, so it works offline.
"""

from stream_app.web.views import register_views

__all__ = ["register_views"]
