"""One module per kind of page; each gives `page(...) -> Page` (HTML and JSON twin), which
both the app's routes and the static site call."""
