import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from feed.evaluation import evaluate


class Command(BaseCommand):
    help = ("Fit the ranking weights and the EASE lambda on a validation split made from the stored history "
            "(each viewer's second-to-last positive; NDCG@k, coordinate ascent), then report the held-out test "
            "(the last positive) with them, and save them to TAILOR_DATA_DIR/ranker_weights.json, which every "
            "feed process (and the next long-term model fit) picks up.")

    def add_arguments(self, parser):
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--max-users", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--dry-run", action="store_true", help="report, but do not save the weights")

    def handle(self, *args, k, max_users, seed, dry_run, **options):
        try:
            report = evaluate(k=k, max_users=max_users or None, seed=seed, fit=True, cold_share=0,
                              progress=lambda m: self.stderr.write(m))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if "fit" not in report:
            raise CommandError("no viewer has a validation target (two positives before the last): nothing to fit on")
        fit = report["fit"]
        self.stdout.write(json.dumps({"fit": fit, "validation": report["validation"], "test": report["test"]}, indent=2))
        if not dry_run:
            path = settings.DATA_DIR / "ranker_weights.json"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(fit, indent=2))
            tmp.replace(path)
            self.stdout.write(self.style.SUCCESS(f"saved {path}"))
