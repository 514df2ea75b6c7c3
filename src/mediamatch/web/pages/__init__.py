"""The pages, one module per area; each exposes `router` (made with `web.routing.page_router`)
and `web.app.install_web` includes every module found here."""
