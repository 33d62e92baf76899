from django.core.management.base import BaseCommand

from feed.demo import demo_admin_ensure


class Command(BaseCommand):
    help = "Create the 'admin' account with a random password, printed once. Does nothing if it exists."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        password = demo_admin_ensure(username=username)
        if password is None:
            self.stdout.write(f"admin account '{username}' already exists (its password was printed when it was created)")
            return
        bar = "=" * 64
        self.stdout.write(f"{bar}\n  Admin account created. This password is shown only once:\n"
                          f"    username: {username}\n    password: {password}\n{bar}")
