"""The dashboard: a read-only web app over the store (`connector-ga serve`), and the same
pages as a static site (`connector-ga site`).

`state` keeps what the pages are computed from, once per store version; `views` holds one
module per kind of page, each giving the page's HTML and its JSON twin; `app` builds the
FastAPI application around them; `site` writes every page to a folder.
"""

from .app import create_app
from .site import build_site
from .state import Dashboard, Options

__all__ = ["Dashboard", "Options", "build_site", "create_app"]
