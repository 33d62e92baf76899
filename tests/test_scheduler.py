"""The scheduler enqueues every periodic job, and the jobs run through the broker."""

import pytest
from django.core.management import call_command

from feed.collaborative import neighbours
from profiles.models import Interest
from profiles.services import interaction_record


@pytest.mark.django_db(transaction=True)
def test_scheduled_jobs_run(broker, worker, make_user, catalog):
    from generation.tasks import CPU_QUEUE

    user = make_user()
    for video in catalog["cooking"][:2] + catalog["scifi"][:2]:
        interaction_record(user=user, video=video, kind="like")
    other = make_user()
    for video in catalog["cooking"][:2]:
        interaction_record(user=other, video=video, kind="like")
    assert not len(neighbours().ids)
    call_command("scheduler", "--once")
    broker.join(CPU_QUEUE, timeout=120_000)
    worker.join()
    assert catalog["cooking"][1].pk in neighbours().of(catalog["cooking"][0].pk)[0]
    assert set(Interest.objects.filter(user=user).values_list("origin", flat=True)) == {"clustered"}
