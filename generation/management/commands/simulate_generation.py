import json

from django.core.management.base import BaseCommand, CommandError

from generation.bandit_sim import POLICIES, compare


class Command(BaseCommand):
    help = ("Development only: simulated viewers with hidden tastes and hidden preferences over format, tone, "
            "music, length and voice respond to generated pieces; prints like rate and watch fraction per round "
            "for the learning planner, today's planner and random arms. Writes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--viewers", type=int, default=1000)
        parser.add_argument("--rounds", type=int, default=10)
        parser.add_argument("--pieces", type=int, default=20, help="pieces planned per round")
        parser.add_argument("--seeds", default="0,1,2,3,4")

    def handle(self, *args, viewers, rounds, pieces, seeds, **options):
        try:
            chosen = tuple(int(s) for s in seeds.split(",") if s.strip())
        except ValueError:
            raise CommandError(f"--seeds takes integers separated by commas (got {seeds!r})") from None
        if viewers < 10 or rounds < 1 or pieces < 1 or not chosen:
            raise CommandError("--viewers must be at least 10, --rounds and --pieces at least 1, and one seed given")
        self.stderr.write(f"simulating {len(POLICIES)} policies x {len(chosen)} seeds ...")
        self.stdout.write(json.dumps(compare(seeds=chosen, viewers=viewers, rounds=rounds, pieces=pieces), indent=2))
