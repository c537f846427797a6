"""The task force's live page, served by the worker's Faust web server.

`views.register_views(app, data)` adds the page and its JSON endpoints, reading
through `views.LiveData`, whose one port to the store is a `read` function the
job gives it; `queries` holds the parameterised SQL (every number comes from
ClickHouse, so the page is right whichever worker holds which partition);
`timeline` turns one dossier's rows into where its time went. The page itself
(`static/`) is plain HTML, CSS and JavaScript with no outside resource, so it
works offline. In front of it all, `guard` (the aiohttp middleware: sessions,
CSRF, security headers) and `signin` (the sign-in page, sign-in and sign-out,
`sessions`, `throttle`); `serving` decides whether the page may be served and
builds the guard from the settings. Every answer is cut to the signed-in user's scope.
May import: `store` (identifiers), `domain`, `settings`; the user file only through
the `guard.Accounts` port the job passes in; never a job or another adapter.
"""
