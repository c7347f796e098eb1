"""Settings of bench/api.py's site: the project's own settings, with a URL conf that adds the
bare Django JSON view (bench/api_urls.py). Only bench/api.py names this module (through
DJANGO_SETTINGS_MODULE, with bench/ on the path); production never loads it."""

from portal.settings import *  # noqa: F403 - the same settings, one line changed

ROOT_URLCONF = "api_urls"
