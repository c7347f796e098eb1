from django.contrib import admin
from django.urls import include, path

from portal.views import auth, catalog, home

urlpatterns = [
    path("", include("st2bridge.api.urls")),
    path("admin/", admin.site.urls),
    path("", home.index, name="home"),
    path("login", auth.login, name="login"),
    path("logout", auth.logout, name="logout"),
    path("packs", catalog.pack_list, name="packs"),
    path("actions", catalog.action_list, name="actions"),
    path("actions/<str:ref>", catalog.action_detail, name="action"),
]

handler500 = "st2bridge.api.errors.server_error"
