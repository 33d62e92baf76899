"""An API server on a fresh database for the schemathesis run (tests/test_api_schemathesis.py):
migrate, load data, create a viewer with taste and history, print an access token, then serve."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0)
call_command("load_generation_data", verbosity=0)

from django.contrib.auth import get_user_model  # noqa: E402

from generation.services import video_upsert, videos_embed  # noqa: E402
from profiles.auth import RefreshToken  # noqa: E402
from profiles.services import interaction_record, onboarding_apply, profile_ensure  # noqa: E402

for n, title in enumerate(["Garlic bread at home", "The last signal from Europa", "Tomatoes on a balcony",
                           "A jazz trio at midnight", "Rally car on gravel", "Sourdough from scratch"]):
    video_upsert(external_id=f"st-{n}", title=title, description=f"{title}: a demo video", tags=["demo"])
videos_embed()
user = get_user_model().objects.create_user("schemathesis", password="a-Long-pass-9876")
profile_ensure(user=user)
onboarding_apply(user=user, topics=["cooking", "scifi"])
from generation.models import Video  # noqa: E402

interaction_record(user=user, video=Video.objects.first(), kind="like")
print(str(RefreshToken.for_user(user).access_token), flush=True)
call_command("runserver", sys.argv[1], use_reloader=False, use_threading=True)
