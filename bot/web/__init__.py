"""The officers' web desk (``intake web``): a server-rendered Starlette app over the same store.

Modules: ``app.py`` (the app factory and its shared state), ``auth.py`` (passwords, sessions,
the reverse proxy's user header, CSRF), ``access.py`` (which dossiers an officer may see),
``files.py`` (content types and RFC 6266 Content-Disposition), ``routes/`` (one module per page
group), ``templates/`` (Jinja2) and ``static/`` (CSS). No front-end build step.
"""
