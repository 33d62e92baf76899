import json

from django.core.management.base import BaseCommand, CommandError

from feed.evaluation import evaluate


class Command(BaseCommand):
    help = ("Offline evaluation on the stored interactions: chronological leave-last-out (validation: the "
            "second-to-last positive; test: the last), the feed's ranking against popularity, item-kNN, EASE "
            "and the sequence source, HR@k, NDCG@k, coverage and novelty; and a cold-item hit rate on a split "
            "that holds out a share of the items entirely. Changes nothing (one transaction, rolled back; on a "
            "live PostgreSQL primary it holds locks on the video counters until it ends: run it on a copy).")

    def add_arguments(self, parser):
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--max-users", type=int, default=2000, help="sample this many viewers (0: all)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--cold-share", type=float, default=0.15, help="share of items held out for the cold split (0: none)")
        parser.add_argument("--output", help="also write the report as JSON to this file")
        parser.add_argument("--fit", action="store_true",
                            help="rank the test and cold splits with weights fitted on the validation split, as "
                                 "fit_ranker does (EASE's lambda is always chosen there); nothing is saved")

    def handle(self, *args, k, max_users, seed, cold_share, output, fit, **options):
        if not 0 <= cold_share < 1:
            raise CommandError("--cold-share must be at least 0 and below 1")
        try:
            report = evaluate(k=k, max_users=max_users or None, seed=seed, cold_share=cold_share, fit=fit,
                              progress=lambda m: self.stderr.write(m))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        text = json.dumps(report, indent=2)
        self.stdout.write(text)
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
