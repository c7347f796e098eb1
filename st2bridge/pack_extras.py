"""The parts of a pack directory that st2bridge.packs hands over: aliases/* (action aliases)
and policies/*, registered as StackStorm's AliasesRegistrar and PoliciesRegistrar do. A file
that fails is reported and skipped, the others register; the alias or policy it defined
before, if any, is kept; those whose file is gone from disk are deleted (rows made through
the API, without a file, are not the loader's). Files are found and read as the pack loader
reads its own (st2bridge.pack_files: inside the pack only, StackStorm's messages)."""

from django.db import transaction

from . import aliases, policies
from .errors import St2Error
from .models import ActionAlias, Policy
from .pack_files import RegistrationError, load_mapping, metadata_files
from .pack_schemas import in_pack

FOLDERS = (
    ("aliases", ActionAlias, aliases.save_alias_from_disk),
    ("policies", Policy, policies.save_policy_from_disk),
)


def register_extras(pack, pack_dir, root, report):
    """Register the aliases and policies of pack `pack` (in `pack_dir`, resolved `root`);
    `report(RegistrationError)` is called for each file that fails."""
    for folder, model, save in FOLDERS:
        saved, failed = set(), set()
        try:
            found, refused = metadata_files(pack_dir, root, folder)
        except RegistrationError as error:
            report(error)
            continue
        for path in refused:
            report(RegistrationError(path, "refused: it resolves outside the pack directory"))
            failed.add(path.relative_to(pack_dir).as_posix())
        for path in found:
            relative = path.relative_to(pack_dir).as_posix()
            try:
                body = in_pack(path, load_mapping(path), pack)
                with transaction.atomic():
                    saved.add(save(pack, body, relative).ref)
            except RegistrationError as error:
                report(error)
                failed.add(relative)  # what it defined before is kept
            except St2Error as error:
                report(RegistrationError(path, error.message))
                failed.add(relative)
        model.objects.filter(pack=pack).exclude(metadata_file="").exclude(ref__in=saved).exclude(
            metadata_file__in=failed
        ).delete()
