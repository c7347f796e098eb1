"""/api/v1/teams, /api/v1/useraccess and /api/v1/grantables: managing teams, an extension of
StackStorm's API (listed in /api/v1/extensions as "teams"; st2bridge/team_admin.py does the
work). Admins change teams; members read the teams they are in and their own access.

    GET    /api/v1/teams                         teams (?member=, ?name=), paged
    POST   /api/v1/teams                         {name, members?, packs?, actions?}
    GET    /api/v1/teams/{id_or_name}
    PUT    /api/v1/teams/{id_or_name}            {name, members?, packs?, actions?}
    DELETE /api/v1/teams/{id_or_name}
    PUT    /api/v1/teams/{id_or_name}/members/{username}     add a member
    DELETE /api/v1/teams/{id_or_name}/members/{username}     remove one
    GET    /api/v1/useraccess                    who may run what (?user=, ?action=), paged
    GET    /api/v1/useraccess/{username}
    GET    /api/v1/grantables                    packs and actions to grant (?q=, ?kind=), paged
"""

from rest_framework.response import Response

from st2bridge import shapes, team_admin
from st2bridge.team_admin import access_to_api, team_to_api

from .base import ApiView, attribute_selector, json_body, paginate, query_filters, route

TEAM_FILTERS = {"member": "member", "name": "name"}
ACCESS_FILTERS = {"user": "username", "action": "action"}
GRANTABLE_FILTERS = {"q": "query", "kind": "kind"}


def _listed(request, caller, rows, describe, to_api, shape):
    select = attribute_selector(request, shape)
    page, headers = paginate(request, rows, caller, default_limit=50)
    return Response([select(to_api(row)) for row in describe(page)], headers=headers)


class TeamList(ApiView):
    def get(self, request):
        teams = team_admin.visible_teams(self.caller, **query_filters(request, TEAM_FILTERS))
        return _listed(request, self.caller, teams, team_admin.describe, team_to_api, shapes.TEAM)

    def post(self, request):
        team = team_admin.create_team(self.caller, json_body(request))
        return Response(team_to_api(team), status=201)


class TeamDetail(ApiView):
    def get(self, request, id_or_name):
        return Response(team_to_api(team_admin.find_team(self.caller, id_or_name)))

    def put(self, request, id_or_name):
        team = team_admin.update_team(self.caller, id_or_name, json_body(request))
        return Response(team_to_api(team))

    def delete(self, request, id_or_name):
        team_admin.delete_team(self.caller, id_or_name)
        return Response(status=204)


class TeamMember(ApiView):
    def put(self, request, id_or_name, username):
        return Response(team_to_api(team_admin.add_member(self.caller, id_or_name, username)))

    def delete(self, request, id_or_name, username):
        team_admin.remove_member(self.caller, id_or_name, username)
        return Response(status=204)


class UserAccessList(ApiView):
    def get(self, request):
        users = team_admin.visible_users(self.caller, **query_filters(request, ACCESS_FILTERS))
        return _listed(
            request,
            self.caller,
            users,
            team_admin.describe_users,
            access_to_api,
            shapes.USER_ACCESS,
        )


class UserAccessDetail(ApiView):
    def get(self, request, username):
        return Response(access_to_api(team_admin.find_user_access(self.caller, username)))


class GrantableList(ApiView):
    def get(self, request):
        matches = team_admin.search_catalog(
            self.caller, **query_filters(request, GRANTABLE_FILTERS)
        )
        page, headers = paginate(request, matches, self.caller, default_limit=50)
        return Response([team_admin.grantable_to_api(item) for item in page], headers=headers)


urlpatterns = [
    route(r"api/v1/teams", TeamList),
    route(r"api/v1/teams/(?P<id_or_name>[^/]+)", TeamDetail),
    route(r"api/v1/teams/(?P<id_or_name>[^/]+)/members/(?P<username>[^/]+)", TeamMember),
    route(r"api/v1/useraccess", UserAccessList),
    route(r"api/v1/useraccess/(?P<username>[^/]+)", UserAccessDetail),
    route(r"api/v1/grantables", GrantableList),
]
