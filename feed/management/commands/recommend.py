import json
import sys

from django.core.management.base import BaseCommand, CommandError

from feed.selectors import recommend_for_external_users
from feed.management.commands._batch import open_input
from profiles.models import Profile


class Command(BaseCommand):
    help = ("Write each user's top-k unseen items as JSON Lines {user, items}, ranked exactly as "
            "their feed's first page, without generated-video mixing.")

    def add_arguments(self, parser):
        parser.add_argument("--k", type=int, default=10)
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--users", help="a file with one external user id per line (- for stdin)")
        who.add_argument("--all", action="store_true", help="every user with an external id")
        parser.add_argument("--output", default="-", help="a .jsonl file (default: standard output)")

    def handle(self, *args, k, users, all, output, **options):
        if not 1 <= k <= 1000:
            raise CommandError("--k must be between 1 and 1000")
        if all:
            ids = list(Profile.objects.exclude(external_id=None).order_by("external_id").values_list("external_id", flat=True))
        else:
            with open_input(users) as stream:
                ids = [line.strip() for line in stream if line.strip()]
        out = sys.stdout if output == "-" else open(output, "w", encoding="utf-8")
        try:
            for n, (user_id, items) in enumerate(recommend_for_external_users(external_ids=ids, k=k), 1):
                out.write(json.dumps({"user": user_id, "items": items}) + "\n")
                if n % 500 == 0 or n == len(ids):
                    self.stderr.write(f"recommended {n}/{len(ids)} users")
        finally:
            if out is not sys.stdout:
                out.close()
