"""Sign in and out. The portal trades the user's password for a StackStorm token through
St2Client.login and keeps the token only in the server-side session."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from portal.access import SESSION_TOKEN, on_behalf_of, safe_next, sign_in
from portal.form_style import StyledForm
from st2bridge.addresses import client_address
from st2bridge.client import ApiError, ApiUnauthorized, ApiUnavailable, St2Client

INVALID = "Invalid username or password."
UNREACHABLE = "StackStorm could not be reached. Try again in a moment."


class LoginForm(StyledForm):
    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login(request):
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next")) or "/"
    if request.method == "GET" and request.session.get(SESSION_TOKEN):
        return redirect(next_url)
    form = LoginForm(request.POST or None)
    if form.is_valid():
        error = _sign_in(request, **form.cleaned_data)
        if error is None:
            return redirect(next_url)
        form.add_error(None, error)
    return render(request, "portal/auth/login.html", {"form": form, "next": next_url})


def _sign_in(request, username, password):
    """Sign the user in and return None, or return the message saying why not."""
    try:
        with St2Client.from_settings() as client:
            address = client_address(request.META, settings.PORTAL_TRUSTED_PROXIES)
            token = client.login(username, password, client_address=address)
        with St2Client.from_settings(token=token["token"]) as client:
            me = client.whoami()
    except ApiUnauthorized:
        return INVALID
    except ApiUnavailable:
        return UNREACHABLE
    except ApiError as error:
        if error.status != 429:
            raise
        wait = f"{error.retry_after} seconds" if error.retry_after else "a minute"
        return f"Too many failed attempts, try again in {wait}."
    sign_in(request, token, me.get("rbac", {}).get("is_admin", False))
    return None


@require_POST
def logout(request):
    """End the session, and the token too where the server allows (not StackStorm's)."""
    token = request.session.get(SESSION_TOKEN)
    if token:
        with St2Client.from_settings(on_behalf_of=on_behalf_of(request)) as client:
            client.revoke_token(token)
    request.session.flush()
    messages.info(request, "You have signed out.")
    return redirect("login")
