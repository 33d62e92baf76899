import json

from django.core.management.base import BaseCommand, CommandError

from feed.evaluation import ranker_fit


class Command(BaseCommand):
    help = ("Fit the ranking weights and the EASE lambda on a validation split made from the stored history "
            "(each viewer's second-to-last positive; the mean of HR@k and NDCG@k, coordinate ascent from each of "
            "several starts), then report the held-out test (the last positive) with them, and save them to "
            "TAILOR_DATA_DIR/ranker_weights.json, which every feed process (and the next long-term model fit) "
            "picks up. import_interactions runs this itself.")

    def add_arguments(self, parser):
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--max-users", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--dry-run", action="store_true", help="report, but do not save the weights")

    def handle(self, *args, k, max_users, seed, dry_run, **options):
        try:
            report = ranker_fit(k=k, max_users=max_users or None, seed=seed, save=not dry_run,
                                progress=lambda m: self.stderr.write(m))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(report, indent=2))
        if not dry_run:
            self.stdout.write(self.style.SUCCESS("saved the fitted weights"))
