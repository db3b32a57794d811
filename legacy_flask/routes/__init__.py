"""The nine route files of the legacy app, as the seed audit names them."""

from legacy_flask.routes.admin_routes import admin
from legacy_flask.routes.analytics_routes import analytics
from legacy_flask.routes.api_routes import api
from legacy_flask.routes.config_routes import config
from legacy_flask.routes.dashboard_api import dashboard
from legacy_flask.routes.events_routes import events
from legacy_flask.routes.metrics_routes import metrics
from legacy_flask.routes.news_routes import news
from legacy_flask.routes.webapp_routes import webapp

BLUEPRINTS = (api, news, events, admin, dashboard, config, metrics, analytics, webapp)
