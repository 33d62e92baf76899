"""Set up or poke a scale-out deployment (tests/test_scale_out.py): `setup` migrates, loads the
prompt vocabulary, a small catalogue and one viewer, and publishes an index snapshot;
`snapshot` publishes a new one."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from profiles.snapshots import snapshot_publish  # noqa: E402

if sys.argv[1] == "setup":
    from django.contrib.auth import get_user_model

    from generation.services import video_upsert, videos_embed
    from core.storage import bucket_ensure
    from profiles.services import onboarding_apply, profile_ensure

    call_command("migrate", verbosity=0)
    call_command("load_generation_data", verbosity=0)
    bucket_ensure()
    topics = ["home cooking and baking bread", "science fiction in deep space", "jazz clubs at night",
              "gardening on a balcony", "rally cars on gravel", "ballet on a theatre stage"]
    for n in range(60):
        topic = topics[n % len(topics)]
        video_upsert(external_id=f"scale-{n}", title=f"{topic.capitalize()}, episode {n}", description=f"A video about {topic}")
    videos_embed()
    user = get_user_model().objects.create_user("scaler", password="a-Long-pass-9876")
    profile_ensure(user=user)
    onboarding_apply(user=user, topics=["cooking", "jazz"])
snapshot_publish(name="items")
print("ok", flush=True)
