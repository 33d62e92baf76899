from django.core.management.base import BaseCommand

from generation.planning import renders_plan


class Command(BaseCommand):
    help = ("Find content gaps (interests the catalogue serves badly) and queue renders for them: one per "
            "taste cluster where it serves its viewers, one per viewer where none does. Idempotent within a day.")

    def add_arguments(self, parser):
        parser.add_argument("--budget", type=int, default=None, help="most renders to queue (default TAILOR_RENDER_PLAN_BUDGET)")
        parser.add_argument("--everyone", action="store_true", help="plan for every interest, not only gaps (first renders)")
        parser.add_argument("--per-user-quota", type=int, default=1)

    def handle(self, *args, budget, everyone, per_user_quota, **options):
        result = renders_plan(budget=budget, everyone=everyone, per_user_quota=per_user_quota)
        self.stdout.write(f"gaps: {result['gaps']}, shared renders queued: {result['cluster_jobs']}, "
                          f"own renders queued: {result['personal_jobs']}")
