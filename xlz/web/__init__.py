"""The portal's web door (``xlz serve``, docs/portal.md): :func:`xlz.web.app.create_app`
builds the Starlette application; the pages are Jinja2 templates in ``templates/``."""
