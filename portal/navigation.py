"""Context processor: `nav_section`, the first segment of the path ("packs", "actions",
"executions", ...), so that base.html marks the current section's link (aria-current)."""


def nav_section(request):
    return {"nav_section": request.path.strip("/").split("/", 1)[0]}
