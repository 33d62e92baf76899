"""Operator tools in the admin: compose-for-user preview, cancel and re-render actions."""

import pytest

from generation.models import PromptTemplate, RenderJob
from generation.rendering import render_job_create
from generation.services import generation_data_load
from profiles.services import onboarding_apply


@pytest.mark.django_db
def test_template_preview_composes_for_a_user(admin_client, make_user):
    generation_data_load()
    viewer = make_user("chef")
    onboarding_apply(user=viewer, topics=["cooking"])
    template = PromptTemplate.objects.get(family="documentary")
    url = f"/admin/generation/prompttemplate/{template.pk}/preview/"
    response = admin_client.get(url, {"username": "chef", "seed": 3, "brief": "{{ 7|add:1 }}"})
    assert response.status_code == 200
    composed = response.context["composed"]
    assert composed.family == "documentary" and composed.prompt in response.content.decode()
    assert "{{ 7|add:1 }}" in composed.prompt  # the brief is text, never template code
    assert RenderJob.objects.count() == 0  # a preview queues nothing
    missing = admin_client.get(url, {"username": "nobody", "seed": 0})
    assert "no such viewer" in missing.content.decode()


@pytest.mark.django_db
def test_preview_is_staff_only(client, make_user):
    generation_data_load()
    client.force_login(make_user("plain"))
    template = PromptTemplate.objects.first()
    response = client.get(f"/admin/generation/prompttemplate/{template.pk}/preview/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db(transaction=True)
def test_cancel_and_rerender_actions(admin_client, make_user):
    viewer = make_user()
    queued, _ = render_job_create(prompt="A quiet forest at dawn", seed=1, user=viewer, model="null")
    failed, _ = render_job_create(prompt="A loud city at night", seed=2, user=viewer, model="null")
    RenderJob.objects.filter(pk=failed.pk).update(state=RenderJob.State.FAILED, attempts=4, error="RuntimeError: boom")
    changelist = "/admin/generation/renderjob/"
    admin_client.post(changelist, {"action": "cancel", "_selected_action": [queued.pk]})
    assert RenderJob.objects.get(pk=queued.pk).state == RenderJob.State.CANCELLED
    admin_client.post(changelist, {"action": "rerender", "_selected_action": [failed.pk]})
    failed.refresh_from_db()
    assert failed.state == RenderJob.State.QUEUED and failed.attempts == 0 and failed.error == ""
    assert admin_client.get(changelist, {"state": "queued"}).status_code == 200


@pytest.mark.django_db
def test_a_concept_added_in_the_admin_is_embedded_at_once(admin_client):
    from core.vec import from_bytes
    from generation.models import Concept
    from profiles.embedding import embed_texts

    response = admin_client.post("/admin/generation/concept/add/", {"category": "subject", "name": "a garlic bread choir", "active": "on"})
    assert response.status_code == 302, response.content[:500]
    concept = Concept.objects.get(name="a garlic bread choir")
    assert float(from_bytes(concept.embedding) @ embed_texts(["a garlic bread choir"])[0]) > 0.99


@pytest.mark.django_db(transaction=True)
def test_rebuild_index_and_reset_taste_actions(admin_client, make_user, catalog):
    from profiles import indexes
    from profiles.models import Interest, Profile

    viewer = make_user()
    onboarding_apply(user=viewer, topics=["cooking", "scifi"])
    indexes.items().ready(force=True)
    response = admin_client.post("/admin/generation/video/", {"action": "rebuild_index", "_selected_action": [catalog["cooking"][0].pk]}, follow=True)
    assert "items index rebuilt: 24 vectors" in response.content.decode().lower()
    response = admin_client.post("/admin/profiles/interest/", {"action": "rebuild_index", "_selected_action": [Interest.objects.first().pk]}, follow=True)
    assert "interests index rebuilt: 2 vectors" in response.content.decode().lower()
    admin_client.post("/admin/profiles/profile/", {"action": "reset_taste", "_selected_action": [Profile.objects.get(user=viewer).pk]})
    assert not Interest.objects.filter(user=viewer).exists()


@pytest.mark.django_db
def test_every_model_is_in_the_admin_with_search_and_filters(admin_client):
    from django.apps import apps
    from django.contrib import admin as django_admin
    from django.db.models import CompositePrimaryKey

    # Django 5.2 refuses to register a model with a composite primary key (feed.CoVisit, the
    # sequence table: a derived, trimmed count that the Video admin's "watched next to" shows).
    ours = [m for m in apps.get_models() if m._meta.app_label in {"profiles", "generation", "feed"}
            and not isinstance(m._meta.pk, CompositePrimaryKey)]
    assert len(ours) >= 13
    for model in ours:
        model_admin = django_admin.site._registry.get(model)
        assert model_admin is not None, f"{model.__name__} is not in the admin"
        assert model_admin.search_fields, f"{model.__name__} admin has no search"
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert admin_client.get(url, {"q": "x"}).status_code == 200, url


@pytest.mark.django_db(transaction=True)
def test_admin_edits_and_rerenders_pass_the_content_rules(admin_client, make_user):
    from generation.models import Concept

    # A concept an operator types is checked like a brief.
    refused = admin_client.post("/admin/generation/concept/add/", {"category": "subject", "name": "a n u d e dancer", "active": "on"})
    assert refused.status_code == 200 and "refused by the content rules" in refused.content.decode()
    assert not Concept.objects.filter(name="a n u d e dancer").exists()
    # A job whose prompt an operator edits into something unsafe is not saved.
    viewer = make_user()
    job, _ = render_job_create(prompt="A quiet forest at dawn", seed=1, user=viewer, model="null")
    page = admin_client.get(f"/admin/generation/renderjob/{job.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields if name not in ("audience", "user", "fit")}
    data.update(prompt="a beheaded knight, gory", seed=1, model="null", params="{}", purpose=job.purpose)
    response = admin_client.post(f"/admin/generation/renderjob/{job.pk}/change/", data)
    assert response.status_code == 200 and "refused by the content rules" in response.content.decode()
    assert RenderJob.objects.get(pk=job.pk).prompt == "A quiet forest at dawn"
    # A failed job whose text the rules now refuse is not queued again by "re-render".
    RenderJob.objects.filter(pk=job.pk).update(state=RenderJob.State.FAILED, prompt="p0rn scene")
    admin_client.post("/admin/generation/renderjob/", {"action": "rerender", "_selected_action": [job.pk]})
    assert RenderJob.objects.get(pk=job.pk).state == RenderJob.State.FAILED


@pytest.mark.django_db
def test_a_video_page_shows_what_it_is_watched_next_to(admin_client):
    from feed.models import CoVisit
    from generation.models import Video

    a, b, c = (Video.objects.create(title=t, source=Video.Source.CATALOG) for t in ("Knife skills", "Stock basics", "Rain at night"))
    CoVisit.objects.bulk_create([CoVisit(item_a=a, item_b=b, weight=2.5), CoVisit(item_a=a, item_b=c, weight=0.4),
                                 CoVisit(item_a=b, item_b=a, weight=2.5)])
    page = admin_client.get(f"/admin/generation/video/{a.pk}/change/").content.decode()
    assert f"#{b.pk} Stock basics (2.50); #{c.pk} Rain at night (0.40)" in page  # strongest first
    assert "Knife skills (" not in page
