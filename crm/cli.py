"""Argument types shared by the management commands: a bad count is refused by argparse with
the argument's name, instead of a loop over range(-5) that quietly does nothing."""

import argparse
from collections.abc import Callable


def whole_number(minimum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
        if number < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {number}")
        return number

    return parse
