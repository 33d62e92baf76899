from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from profiles.clustering import interests_recluster
from profiles.models import Interaction


class Command(BaseCommand):
    help = "Rebuild viewers' learned interests from their history (Ward clusters, medoids)."

    def add_arguments(self, parser):
        parser.add_argument("--user", action="append", default=[], help="a username (repeatable)")
        parser.add_argument("--all", action="store_true", help="every viewer with interactions")

    def handle(self, *args, user, all, **options):
        User = get_user_model()
        if all:
            ids = list(Interaction.objects.values_list("user_id", flat=True).distinct().order_by("user_id"))
        elif user:
            found = dict(User.objects.filter(username__in=user).values_list("username", "id"))
            missing = sorted(set(user) - set(found))
            if missing:
                raise CommandError(f"no such user: {', '.join(missing)}")
            ids = list(found.values())
        else:
            raise CommandError("give --user NAME or --all")
        for n, user_id in enumerate(ids, 1):
            interests_recluster(user=User(pk=user_id))
            if n % 100 == 0 or n == len(ids):
                self.stdout.write(f"reclustered {n}/{len(ids)} viewers")
        self.stdout.write(self.style.SUCCESS(f"done: {len(ids)} viewers"))
