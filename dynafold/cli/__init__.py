"""The ``dynafold`` command: parse, configure logging, run one command, map its failure to an exit code.

Every command returns an exit code or raises; ``dynafold.projector.errors.classify``
turns what it raised into the one exit code that kind of failure means
everywhere, with a one-line message (a bug, exit 70, also prints its
traceback so it can be reported).
"""

from __future__ import annotations

import sys
import traceback
from typing import Optional, Sequence

from dynafold.cli.parser import build_parser
from dynafold.projector.errors import EXIT_INTERNAL, EXIT_OK, classify

__all__ = ["build_parser", "main"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    from dynafold.cli.commands import COMMANDS
    from dynafold.cli.output import configure_logging
    from dynafold.cli.parser import parse

    args = parse(argv)
    try:
        configure_logging(getattr(args, "log_level", None) or _level_from_environment())
        return COMMANDS[args.command](args)
    except BrokenPipeError:  # the reader stopped reading (`dynafold dump | head`): nothing is wrong
        _quiet_stdout()
        return EXIT_OK
    except (Exception, KeyboardInterrupt) as error:
        code, message = classify(error)
        if code == EXIT_INTERNAL:
            traceback.print_exc(file=sys.stderr)
            print(f"dynafold: internal error ({type(error).__name__}); please report it with the traceback above",
                  file=sys.stderr)
        else:
            from dynafold.cli.terminal import printable

            print(f"dynafold: {printable(message or '')}", file=sys.stderr)
        return code


def _level_from_environment() -> Optional[str]:
    from dynafold.projector.config import log_level, setting

    level = setting("DYNAFOLD_LOG_LEVEL")
    return log_level(level) if level else None


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
