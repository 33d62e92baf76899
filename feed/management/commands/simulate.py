import json

from django.core.management.base import BaseCommand, CommandError

from feed.simulator import POLICIES, simulate


class Command(BaseCommand):
    help = ("Development only: simulated viewers with hidden tastes use the feed; prints like rate per "
            "session for Tailor against popular and random feeds. Writes their interactions.")

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=30)
        parser.add_argument("--sessions", type=int, default=6)
        parser.add_argument("--page-size", type=int, default=8)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--policies", default=",".join(POLICIES))

    def handle(self, *args, users, sessions, page_size, seed, policies, **options):
        try:
            report = simulate(users=users, sessions=sessions, page_size=page_size, seed=seed,
                              policies=tuple(p for p in policies.split(",") if p),
                              progress=lambda m: self.stderr.write(m))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(report, indent=2))
