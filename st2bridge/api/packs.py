"""Placeholder: routes are added here as the resource is built."""

urlpatterns = []
