"""Which environment variables an action's `env` may set (issue 12).

An action process starts from a known environment. Variables that make a loader, a shell or
an interpreter run code of the caller's choosing (BASH_ENV is sourced by every non-interactive
bash, LD_PRELOAD loads a library into every program, PYTHONWARNINGS and BROWSER make Python
import or start what they name, ...) are refused, with the launch answered 400, for everyone:
staff included, since a value that runs code is never what an `env` parameter is for.

Pure: the API checks a launch with it, the runners check again before starting a process.
"""

import os

from ..errors import InvalidInput

DENIED_NAMES = frozenset(
    {
        # shells
        "BASH_ENV", "ENV", "IFS", "PS1", "PS2", "PS4", "PROMPT_COMMAND", "SHELLOPTS",
        "BASHOPTS", "CDPATH", "GLOBIGNORE", "HISTFILE", "EXECIGNORE", "ZDOTDIR",
        # what bash sets or resets itself: an `env` value for these never reaches the action
        "BASH", "BASHPID", "PWD", "OLDPWD", "SHLVL", "_", "PPID", "RANDOM", "SRANDOM",
        "EPOCHSECONDS", "EPOCHREALTIME", "LINENO", "OPTIND", "OPTERR", "HISTCMD",
        "COMP_WORDBREAKS",
        # what finds programs and libraries
        "PATH", "HOME", "TMPDIR", "GCONV_PATH", "HOSTALIASES", "LOCALDOMAIN", "RESOLV_HOST_CONF",
        "NLSPATH", "LOCPATH", "MALLOC_CHECK_", "MALLOC_TRACE", "GETCONF_DIR", "TERMINFO",
        "TERMINFO_DIRS",
        # programs that start other programs
        "BROWSER", "EDITOR", "VISUAL", "PAGER", "MANPAGER", "SUDO_ASKPASS", "SSH_ASKPASS",
        "GIT_SSH", "GIT_SSH_COMMAND", "GIT_EXEC_PATH", "GIT_ASKPASS", "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM", "GIT_EXTERNAL_DIFF", "GIT_PAGER", "GIT_EDITOR", "GIT_PROXY_COMMAND",
        "LESSOPEN", "LESSCLOSE", "OPENSSL_CONF", "OPENSSL_ENGINES", "SSLKEYLOGFILE",
        # interpreters
        "NODE_OPTIONS", "NODE_PATH", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS",
        "CLASSPATH", "PHPRC", "PHP_INI_SCAN_DIR", "TCLLIBPATH", "LUA_INIT", "LUA_PATH",
        "LUA_CPATH", "AWKPATH", "GEM_HOME", "GEM_PATH",
    }
)  # fmt: skip
DENIED_PREFIXES = (
    "LD_", "DYLD_", "PYTHON", "PERL", "RUBY", "BASH_", "GCONV_", "NODE_",
    "GIT_CONFIG_", "LUA_INIT_",
    # the runner's own variables (StackStorm's), set last: an `env` value would be ignored
    "ST2_ACTION_",
)  # fmt: skip


def is_denied(name):
    """True when an action's `env` may not set the variable `name` (case-insensitive: some
    programs read lower-case variants)."""
    upper = name.upper()
    return upper in DENIED_NAMES or upper.startswith(DENIED_PREFIXES)


def check_env(env):
    """Raise InvalidInput (400) when `env` is not a mapping of plain names to plain values,
    or sets a variable that changes how a process starts; the message names the variable."""
    if env in (None, ""):
        return
    if not isinstance(env, dict):
        raise InvalidInput("env: must be a mapping of variable names to values.")
    for name, value in env.items():
        if not isinstance(name, str) or not name or "=" in name or not _encodable(name):
            raise InvalidInput(f"env: {name!r} is not a valid environment variable name.")
        if is_denied(name):
            raise InvalidInput(
                f'env: "{name}" may not be set by an action\'s env: it changes how the '
                "process or its interpreter starts."
            )
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidInput(f'env: the value of "{name}" must be a string or a number.')
        if "\0" in str(value):
            raise InvalidInput(f'env: the value of "{name}" contains a NUL character.')
        if not _encodable(str(value)):
            raise InvalidInput(f'env: the value of "{name}" is not valid text.')


def _encodable(text):
    """Whether the OS can take `text` as environment bytes: no NUL, and no lone surrogate
    (JSON can carry one; the process would fail to start)."""
    if "\0" in text:
        return False
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        return False
    return True
