from django.contrib import admin
from django.urls import include, path

from portal.views import home

urlpatterns = [
    path("", include("st2bridge.api.urls")),
    path("admin/", admin.site.urls),
    path("", home.index, name="home"),
]

handler500 = "st2bridge.api.errors.server_error"
