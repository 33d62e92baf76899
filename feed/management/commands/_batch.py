"""Shared plumbing for the batch commands: open a file or stdin, print a report."""

from __future__ import annotations

import sys
from contextlib import contextmanager

from django.core.management.base import CommandError


@contextmanager
def open_input(path: str):
    if path == "-":
        yield sys.stdin
        return
    try:
        with open(path, encoding="utf-8") as fh:
            yield fh
    except FileNotFoundError:
        raise CommandError(f"no such file: {path}") from None


def print_report(command, report, what: str) -> None:
    for line in report.errors[:1000]:
        command.stderr.write(f"rejected {line}")
    if len(report.errors) > 1000:
        command.stderr.write(f"... and {len(report.errors) - 1000} more rejected lines")
    summary = (f"{what}: {report.lines} lines, {report.created} created, {report.updated} updated, "
               f"{report.unchanged} unchanged, {report.duplicates} duplicates, {len(report.errors)} rejected")
    command.stdout.write(command.style.SUCCESS(summary) if not report.errors else command.style.WARNING(summary))
