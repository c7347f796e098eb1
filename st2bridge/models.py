"""What the embedded StackStorm-compatible API stores.

Ids are 24 lowercase hex characters, like StackStorm's MongoDB ObjectIds, because clients
(the st2 CLI among them) put them in URLs and measure them as strings.
"""

import secrets

from django.conf import settings
from django.db import models

from .fields import JSONField


def new_id():
    return secrets.token_hex(12)


class IdModel(models.Model):
    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)

    class Meta:
        abstract = True


class Token(IdModel):
    """An auth token; only its keyed hash is kept, the raw value is returned once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    token_hash = models.CharField(max_length=64, unique=True)
    expiry = models.DateTimeField(db_index=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class ApiKey(IdModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key_hash = models.CharField(max_length=128, unique=True)
    metadata = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # When core.st2.api_key.expiring fired for the current expires_at (st2bridge.server_events);
    # a new expires_at clears it, so each expiry is announced once.
    expiry_warned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]


class LoginFailure(models.Model):
    """One failed POST /auth/v1/tokens, kept for the throttling window."""

    username = models.CharField(max_length=150, db_index=True)
    address = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)


class RunnerType(IdModel):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True, default="")
    enabled = models.BooleanField(default=True)
    runner_package = models.CharField(max_length=200, blank=True, default="")
    runner_module = models.CharField(max_length=200, blank=True, default="")
    runner_parameters = models.JSONField(default=dict, blank=True)
    output_key = models.CharField(max_length=100, blank=True, default="")
    output_schema = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]


class Pack(IdModel):
    ref = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    path = models.CharField(max_length=1000, blank=True, default="")
    # Everything pack.yaml declares (description, version, author, keywords, ...), as given.
    metadata = JSONField(default=dict, blank=True)
    files = JSONField(default=list, blank=True)
    # What the pack's files hashed to when it was last registered: the loader skips a pack
    # whose files (and the runner types and loader they were read with) have not changed.
    content_hash = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["ref"]


class ConfigSchema(IdModel):
    """A pack's config.schema.yaml: its items as parameters are written (type, default,
    required, secret, nested properties and items)."""

    pack = models.CharField(max_length=100, unique=True)
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["pack"]


class PackConfig(IdModel):
    """A pack's config (st2bridge.configs): `values` with every secret item masked, and the
    whole of them, secrets included, as encrypted JSON in `sealed_values` (empty when no
    secret item has a value). `file_hash`: the configs/<pack>.yaml content last loaded, so
    a file is loaded again only when it changed and API edits survive registration."""

    pack = models.CharField(max_length=100, unique=True)
    values = models.JSONField(default=dict, blank=True)
    sealed_values = models.TextField(blank=True, default="")
    file_hash = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pack"]


class PackProblem(models.Model):
    """One thing registration could not take from a pack directory as it is (`error`: the file
    or the whole pack was not registered), or took with a doubt (`warning`: a rule naming a
    trigger type or action that is not registered). Rewritten for a pack each time it is
    registered; `pack` is empty when the pack itself could not be identified."""

    ERROR, WARNING = "error", "warning"

    pack = models.CharField(max_length=100, blank=True, default="", db_index=True)
    directory = models.CharField(max_length=1000, blank=True, default="")
    file = models.CharField(max_length=1000, blank=True, default="")
    reason = models.TextField()
    level = models.CharField(max_length=10, default=ERROR)

    class Meta:
        ordering = ["pack", "directory", "file", "id"]


class SensorType(IdModel):
    """A sensor a pack declares in sensors/*.yaml. Registered (listed, enabled and disabled
    through /api/v1/sensortypes) even though this server does not run sensors yet."""

    ref = models.CharField(max_length=400, unique=True)
    pack = models.CharField(max_length=100, db_index=True)
    name = models.CharField(max_length=255)  # the class_name
    description = models.TextField(blank=True, default="")
    artifact_uri = models.CharField(max_length=2000, blank=True, default="")
    entry_point = models.CharField(max_length=1000, blank=True, default="")
    enabled = models.BooleanField(default=True)
    trigger_types = models.JSONField(default=list, blank=True)  # trigger type refs
    poll_interval = models.FloatField(null=True, blank=True)
    metadata_file = models.CharField(max_length=1000, blank=True, default="")

    class Meta:
        ordering = ["pack", "name"]


class Action(IdModel):
    ref = models.CharField(max_length=400, unique=True)
    pack = models.CharField(max_length=100)
    name = models.CharField(max_length=255, db_index=True)
    description = models.TextField(blank=True, default="")
    enabled = models.BooleanField(default=True)
    runner_type = models.CharField(max_length=100)
    entry_point = models.CharField(max_length=1000, blank=True, default="")
    parameters = JSONField(default=dict, blank=True)
    output_schema = JSONField(default=dict, blank=True)
    tags = JSONField(default=list, blank=True)
    notify = JSONField(default=dict, blank=True)
    metadata_file = models.CharField(max_length=1000, blank=True, default="")

    class Meta:
        ordering = ["pack", "name"]
        # The lists' order, in place of an index on pack alone: a page far into 5,000 actions
        # sorted them all (22 ms for page 200, 0.2 ms with this; issue 14).
        indexes = [models.Index(fields=["pack", "name"])]


class KeyValuePair(IdModel):
    SYSTEM = "st2kv.system"
    USER = "st2kv.user"

    scope = models.CharField(max_length=20, choices=[(SYSTEM, SYSTEM), (USER, USER)])
    owner = models.CharField(max_length=150, blank=True, default="")  # user scope only
    name = models.CharField(max_length=500)
    value = models.TextField()  # ciphertext when secret
    secret = models.BooleanField(default=False)
    description = models.TextField(blank=True, default="")
    expire_timestamp = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scope", "name"]
        constraints = [
            models.UniqueConstraint(fields=["scope", "owner", "name"], name="unique_kv_name")
        ]


class Execution(IdModel):
    """One run of an action. `action` and `runner` are snapshots taken at launch, so later
    edits of the catalog never change what an execution was."""

    REQUESTED, SCHEDULED, RUNNING = "requested", "scheduled", "running"
    SUCCEEDED, FAILED, TIMEOUT = "succeeded", "failed", "timeout"
    ABANDONED, CANCELING, CANCELED = "abandoned", "canceling", "canceled"
    COMPLETED = (SUCCEEDED, FAILED, TIMEOUT, ABANDONED, CANCELED)
    CANCELABLE = (REQUESTED, SCHEDULED, RUNNING)

    action_ref = models.CharField(max_length=400)
    action = JSONField(default=dict)
    runner = JSONField(default=dict)
    # What the caller passed (+ rendered template defaults); secret values are replaced by the
    # mask here and kept only in `secret_parameters`, encrypted with the datastore key.
    parameters = JSONField(default=dict)
    secret_parameters = models.TextField(blank=True, default="")
    status = models.CharField(max_length=20, default=REQUESTED)
    user = models.CharField(max_length=150)
    context = JSONField(default=dict)
    result = JSONField(null=True, blank=True)
    log = JSONField(default=list)
    start_timestamp = models.DateTimeField()
    end_timestamp = models.DateTimeField(null=True, blank=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        db_index=False,  # the (parent, newest first) index below serves lookups by parent
    )
    worker = models.CharField(max_length=200, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Filled by rules (issue 4): which rule and trigger instance started this execution, and
    # the type of that trigger (its ref, for the `trigger_type` filter; issue 16).
    rule_ref = models.CharField(max_length=400, blank=True, default="")
    trigger_instance_id = models.CharField(max_length=24, blank=True, default="")
    trigger_type = models.CharField(max_length=400, blank=True, default="", db_default="")
    # What started it, as the API showed each then (issue 17; StackStorm keeps these in the
    # execution too): {"rule", "trigger", "trigger_type", "trigger_instance"}; {} when a
    # person or a workflow started it, or for rule-started ones recorded before.
    origin = JSONField(default=dict, blank=True)

    class Meta:
        # The list's order, newest first; ties (the same microsecond) by id. Oldest first is
        # its exact reverse (st2bridge.history), so one index serves both directions.
        ordering = ["-start_timestamp", "id"]
        # History at any size (issue 16): each filter of GET /executions has an index that
        # starts with it and goes on in the list's order, so a page is read in order from the
        # index, never sorted, and the page of a deep offset skips index entries only. Every
        # index is written on each insert (and, on PostgreSQL, on each status change), so the
        # list is all there is: the worker's claim and stale-heartbeat check use the status
        # one; a user's runs of one action (the action page, or a member filtering by action)
        # the action-and-user one; `parent=null`, StackStorm's history default, the partial
        # one (SQLite also serves it with the parent one, PostgreSQL does not).
        indexes = [
            models.Index(fields=["-start_timestamp", "id"], name="execution_newest"),
            models.Index(fields=["user", "-start_timestamp", "id"], name="execution_user_newest"),
            models.Index(
                fields=["action_ref", "-start_timestamp", "id"], name="execution_action_newest"
            ),
            models.Index(
                fields=["action_ref", "user", "-start_timestamp", "id"],
                name="execution_action_user_newest",
            ),
            models.Index(
                fields=["status", "-start_timestamp", "id"], name="execution_status_newest"
            ),
            models.Index(
                fields=["rule_ref", "-start_timestamp", "id"], name="execution_rule_newest"
            ),
            models.Index(
                fields=["trigger_type", "-start_timestamp", "id"],
                name="execution_trigger_type_newest",
            ),
            models.Index(
                fields=["trigger_instance_id", "-start_timestamp", "id"],
                name="execution_trigger_newest",
            ),
            models.Index(
                fields=["parent", "-start_timestamp", "id"], name="execution_parent_newest"
            ),
            models.Index(
                fields=["-start_timestamp", "id"],
                name="execution_top_level_newest",
                condition=models.Q(parent__isnull=True),
            ),
        ]


class ExecutionCount(models.Model):
    """How many executions there are of each combination of the values the list filters on
    (user, action, status, rule, trigger type, whether it is top level), kept exact by
    database triggers in the transaction of every insert, change and delete of an execution
    (st2bridge.execution_counts), so that the list's X-Total-Count never counts executions.
    On SQLite (one writer at a time) each combination has one row; on PostgreSQL each change
    appends rows of +n/-n, so concurrent writers never wait on one another, and the worker
    sums them up every few seconds. A count is the sum of `n` over the matching rows."""

    user = models.CharField(max_length=150)
    action_ref = models.CharField(max_length=400)
    status = models.CharField(max_length=20)
    rule_ref = models.CharField(max_length=400)
    trigger_type = models.CharField(max_length=400)
    top_level = models.BooleanField()
    n = models.BigIntegerField()


class ExecutionHour(models.Model):
    """How many executions started in each hour (`hour`: its start, UTC), top level or not;
    kept like ExecutionCount, so that a deep page of the whole history is found by adding up
    hours instead of stepping over every execution before it (st2bridge.history)."""

    hour = models.DateTimeField()
    top_level = models.BooleanField()
    n = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["hour"], name="execution_hour_in_order")]


class ExecutionOutput(models.Model):
    """A chunk of stdout/stderr, stored as it arrives so partial output can be read."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="output")
    output_type = models.CharField(max_length=10)
    data = models.TextField()
    timestamp = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class StreamEvent(models.Model):
    """Events for /stream/v1/stream, in one table so every web process can serve them.
    Streams read by id (the primary key) only, so no other index is kept up to date."""

    name = models.CharField(max_length=100)
    execution_id = models.CharField(max_length=24, blank=True, default="")
    user = models.CharField(max_length=150, blank=True, default="")  # whose event it is
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class TriggerType(IdModel):
    ref = models.CharField(max_length=400, unique=True)
    pack = models.CharField(max_length=100, db_index=True)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    payload_schema = models.JSONField(default=dict, blank=True)
    parameters_schema = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    metadata_file = models.CharField(max_length=1000, blank=True, default="")

    class Meta:
        ordering = ["ref"]


class Trigger(IdModel):
    """A trigger type with concrete parameters, shared by the rules that use them
    (reference-counted); parameter-less types have a 'shadow' trigger of the same ref."""

    ref = models.CharField(max_length=400, unique=True)
    pack = models.CharField(max_length=100)
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=400, db_index=True)  # the trigger type's ref
    parameters = models.JSONField(default=dict, blank=True)
    parameters_hash = models.CharField(max_length=32, db_index=True)
    description = models.TextField(blank=True, default="")
    ref_count = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)  # interval timers count from here

    class Meta:
        ordering = ["ref"]
        constraints = [
            models.UniqueConstraint(
                fields=["type", "parameters_hash"], name="one_trigger_per_type_and_parameters"
            )
        ]


class Rule(IdModel):
    ref = models.CharField(max_length=400, unique=True)
    pack = models.CharField(max_length=100, db_index=True)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    enabled = models.BooleanField(default=False, db_index=True)
    trigger_ref = models.CharField(max_length=400, db_index=True)  # what matching looks up
    trigger_type = models.CharField(max_length=400)
    trigger_parameters = models.JSONField(default=dict, blank=True)
    criteria = models.JSONField(default=dict, blank=True)
    action_ref = models.CharField(max_length=400, db_index=True)
    action_parameters = models.JSONField(default=dict, blank=True)
    type = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    context = models.JSONField(default=dict, blank=True)
    metadata_file = models.CharField(max_length=1000, blank=True, default="")
    created_by = models.CharField(max_length=150, blank=True, default="")
    # Secret action parameter values (those the action's schema marks secret), as encrypted
    # JSON: action_parameters holds them masked (issue 12).
    secret_action_parameters = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["pack", "name"]
        indexes = [models.Index(fields=["trigger_ref", "enabled"])]


class TriggerInstance(IdModel):
    PENDING, PROCESSING, PROCESSED, FAILED = (
        "pending",
        "processing",
        "processed",
        "processing_failed",
    )

    trigger = models.CharField(max_length=400, db_index=True)  # trigger ref
    trigger_type = models.CharField(max_length=400, db_index=True)
    payload = models.JSONField(default=dict, blank=True)
    occurrence_time = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=20, default=PENDING)
    context = models.JSONField(default=dict, blank=True)
    # Who caused it: the poster of a webhook, the user of the execution behind an actiontrigger;
    # empty for timers. Decides, with the rules it enforced, who may read it (issue 12).
    posted_by = models.CharField(max_length=150, blank=True, default="", db_index=True)

    class Meta:
        ordering = ["-occurrence_time", "id"]


class RuleEnforcement(IdModel):
    SUCCEEDED, FAILED = "succeeded", "failed"

    rule_id = models.CharField(max_length=24, db_index=True)
    rule_ref = models.CharField(max_length=400, db_index=True)
    rule_uid = models.CharField(max_length=500, blank=True, default="")
    rule_owner = models.CharField(max_length=150, blank=True, default="", db_index=True)
    trigger_instance_id = models.CharField(max_length=24, db_index=True)
    execution_id = models.CharField(max_length=24, blank=True, default="", db_index=True)
    failure_reason = models.TextField(blank=True, default="")
    status = models.CharField(max_length=20, default=SUCCEEDED)
    enforced_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-enforced_at", "id"]


class TimerFiring(models.Model):
    """One tick of one timer trigger; the unique constraint makes each tick fire once even
    when several workers see it due at the same moment."""

    trigger_ref = models.CharField(max_length=400)
    due_at = models.DateTimeField()
    fired_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["trigger_ref", "due_at"], name="one_firing_per_tick")
        ]


class TeamAccess(models.Model):
    """What one team (a Django group) may see and run: whole packs and single actions
    (st2bridge.teams decides with it). A group without this row grants nothing."""

    group = models.OneToOneField("auth.Group", on_delete=models.CASCADE, related_name="access")
    packs = models.JSONField(default=list, blank=True)  # pack refs
    actions = models.JSONField(default=list, blank=True)  # action refs ("pack.name")
    # Launch templates (st2bridge.launch_templates) by ref: running a template is granted,
    # its action is not (issue 18).
    templates = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "team access"
        verbose_name_plural = "team access"

    def __str__(self):
        return f"access of {self.group}"


class LaunchTemplate(IdModel):
    """A launch template (issue 18, st2bridge.launch_templates): an action with some of its
    parameters fixed and the others exposed, maybe narrowed. `version` is the number of its
    current LaunchTemplateVersion, which holds the definition."""

    ref = models.CharField(max_length=400, unique=True)
    action_ref = models.CharField(max_length=400, db_index=True)
    version = models.PositiveIntegerField()
    created_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["ref"]


class LaunchTemplateVersion(models.Model):
    """One version of a launch template, never changed once written: an edit adds a version,
    and executions name the version they ran with. Keyed by the template's ref, not a foreign
    key, so that deleting a template keeps the versions its executions ran with (a template
    created again under the same ref goes on numbering from there)."""

    ref = models.CharField(max_length=400)
    version = models.PositiveIntegerField()
    # {"name", "description", "action", "parameters": {name: {"mode": ..., ...}}}
    definition = models.JSONField()
    created_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ref", "version"]
        constraints = [
            models.UniqueConstraint(fields=["ref", "version"], name="one_template_version")
        ]


class ActionAlias(IdModel):
    """A chat command for an action (StackStorm's ActionAliasDB): its format strings say how
    the command's words become the action's parameters (st2bridge.alias_formats)."""

    ref = models.CharField(max_length=400, unique=True)
    pack = models.CharField(max_length=100, db_index=True)
    name = models.CharField(max_length=255, db_index=True)
    description = models.TextField(blank=True, default="")
    enabled = models.BooleanField(default=True)
    action_ref = models.CharField(max_length=400, db_index=True)
    formats = models.JSONField(default=list, blank=True)
    ack = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    immutable_parameters = models.JSONField(default=dict, blank=True)
    metadata_file = models.CharField(max_length=1000, blank=True, default="")

    class Meta:
        ordering = ["pack", "name"]


class Policy(IdModel):
    """A policy of a pack (policies/*.yaml) or the API, on a resource (an action). Recorded
    and shown as StackStorm shows them; not enforced (yet)."""

    ref = models.CharField(max_length=400, unique=True)
    pack = models.CharField(max_length=100, db_index=True)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    enabled = models.BooleanField(default=True)
    resource_ref = models.CharField(max_length=400, db_index=True)
    policy_type = models.CharField(max_length=255)
    parameters = models.JSONField(default=dict, blank=True)
    metadata_file = models.CharField(max_length=1000, blank=True, default="")

    class Meta:
        ordering = ["pack", "name"]
        verbose_name_plural = "policies"


class ServiceProcess(models.Model):
    """A process of this server that says it is alive (st2bridge.service_registry): a worker
    writes its row at every heartbeat; rows not written for a while are gone processes."""

    group = models.CharField(max_length=50)
    member_id = models.CharField(max_length=200, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.IntegerField()
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["group", "member_id"]


class AppendOnly(Exception):
    """An audit record was about to be changed or deleted one by one (st2bridge.audit)."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("Audit records are append-only: they are never updated.")

    def bulk_update(self, *args, **kwargs):
        raise AppendOnly("Audit records are append-only: they are never updated.")

    # delete() stays: the retention job (st2bridge.retention) purges old records by queryset.


class AuditRecord(models.Model):
    """One audited event (st2bridge.audit): who (`actor`, a username; the name tried for a
    failed sign-in), from where (`address`), with which credential (`credential`: "token:<id>",
    "apikey:<id>", or "session" in the Django admin; never the secret), what (`action`, e.g.
    "execution.launch") to which object (`object_type`, `object_id`: an id or a ref) and
    `changes` ({field: [before, after]}, secrets masked). Append-only: save() of an existing
    record and delete() raise, and so does a queryset's update(); on SQLite and PostgreSQL a
    trigger refuses UPDATE."""

    at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=150, db_index=True)
    action = models.CharField(max_length=64)
    address = models.CharField(max_length=64, blank=True, default="")
    credential = models.CharField(max_length=40, blank=True, default="")
    object_type = models.CharField(max_length=32, blank=True, default="")
    object_id = models.CharField(max_length=255, blank=True, default="")
    changes = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("Audit records are append-only: they are never updated.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("Audit records are deleted only by retention (st2bridge.retention).")
