from django.apps import AppConfig


class St2BridgeConfig(AppConfig):
    name = "st2bridge"
    verbose_name = "StackStorm bridge"
    default_auto_field = "django.db.models.BigAutoField"
