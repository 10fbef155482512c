"""One exception type for bad input, so the CLI can turn it into one line and exit code 2."""


class UsageError(ValueError):
    """Raised for input the user can fix (unknown name, bad value, missing or corrupt file).

    The message is shown verbatim as a single line; it must name the problem and the valid choices.
    """


def choices(names) -> str:
    """Format valid choices the same way everywhere."""
    return ", ".join(sorted(names))


def did_you_mean(value: str, valid) -> str:
    """`` (did you mean 'x'?)`` for the closest valid name (difflib), or an empty string when none is close."""
    import difflib

    near = difflib.get_close_matches(str(value), list(valid), n=1)
    return f" (did you mean {near[0]!r}?)" if near else ""


def unknown(kind: str, value: str, valid) -> UsageError:
    return UsageError(f"unknown {kind} {value!r}{did_you_mean(value, valid)}; valid {kind}s: {choices(valid)}")
