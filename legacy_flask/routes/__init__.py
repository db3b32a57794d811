"""The nine route files of the legacy app, as the seed audit names them."""

from legacy_flask.routes.api_routes import api
from legacy_flask.routes.news_routes import news

BLUEPRINTS = (api, news)
