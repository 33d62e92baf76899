"""A demo library and simulated viewers, so a fresh `make run` shows a personalized feed.

The catalogue reads like a real library: per genre, title patterns filled from
concrete subjects, with descriptions and tags. Everything is deterministic.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from generation.models import Video
from generation.services import video_upsert, videos_embed

GENRES: dict[str, dict] = {
    "cooking": {
        "titles": ["{a} in 20 minutes", "The perfect {a}", "How a chef makes {a}", "{a}, the weeknight version", "I cooked {a} for a week"],
        "a": ["garlic bread", "ramen from scratch", "Neapolitan pizza", "beef bourguignon", "shakshuka", "sourdough loaf", "pad thai",
              "mushroom risotto", "butter chicken", "croissants", "carbonara", "fish tacos", "dumplings", "paella", "lemon tart"],
        "desc": "A home cook walks through {a} step by step: ingredients, knife work, heat, and plating in a warm kitchen.",
        "tags": ["cooking", "recipe", "food", "kitchen"],
    },
    "scifi": {
        "titles": ["{a}: a short sci-fi film", "The last signal from {a}", "Waking up on {a}", "{a} (sci-fi short)", "Escape from {a}"],
        "a": ["the Europa station", "a generation ship", "Mars colony seven", "the derelict freighter", "a Dyson swarm", "the orbital ring",
              "the android factory", "the time loop lab", "Titan's methane sea", "the wormhole gate", "a cyberpunk megacity", "the moon base"],
        "desc": "A science fiction short set on {a}: spaceships, robots and a crew facing an unknown future among the stars.",
        "tags": ["scifi", "space", "short film", "future"],
    },
    "jazz": {
        "titles": ["{a} live at midnight", "Late-night jazz: {a}", "{a}, improvised", "A jazz trio plays {a}"],
        "a": ["Autumn Leaves", "So What", "Take Five", "a bossa nova standard", "Round Midnight", "a bebop blues", "Blue in Green",
              "a saxophone ballad", "Caravan", "a smoky swing tune"],
        "desc": "Live jazz in a small club: {a} with saxophone, upright bass, piano and brushed drums, all improvised.",
        "tags": ["jazz", "live music", "saxophone", "band"],
    },
    "nature": {
        "titles": ["{a}: a wildlife documentary", "A year with {a}", "The secret life of {a}", "Tracking {a}"],
        "a": ["snow leopards", "humpback whales", "a wolf pack", "coral reef fish", "African elephants", "monarch butterflies",
              "orangutans", "emperor penguins", "the Amazon canopy", "grizzly bears"],
        "desc": "A nature documentary following {a} in the wild, with patient long-lens footage and a calm narrator.",
        "tags": ["nature", "wildlife", "documentary", "animals"],
    },
    "travel": {
        "titles": ["48 hours in {a}", "{a} on a budget", "Street food tour of {a}", "Hidden corners of {a}"],
        "a": ["Lisbon", "Kyoto", "Mexico City", "Istanbul", "Hanoi", "Marrakech", "Reykjavik", "Buenos Aires", "Tbilisi", "Naples"],
        "desc": "A travel vlog exploring {a}: neighbourhoods, markets, local food and the trips locals take.",
        "tags": ["travel", "vlog", "city", "explore"],
    },
    "fitness": {
        "titles": ["{a} workout you can do at home", "30 days of {a}", "{a} for beginners", "The science of {a}"],
        "a": ["kettlebell", "mobility", "calisthenics", "marathon training", "yoga flow", "HIIT", "deadlift", "core strength"],
        "desc": "A coach demonstrates a {a} routine with form cues, sets and reps, and how to progress safely.",
        "tags": ["fitness", "workout", "training", "health"],
    },
    "comedy": {
        "titles": ["{a} (stand-up)", "Sketch: {a}", "When {a}", "{a}: the bloopers"],
        "a": ["my landlord discovers TikTok", "office meetings", "a cat runs the company", "dads and technology", "the group chat",
              "airport security", "the worst first date", "assembling flat-pack furniture"],
        "desc": "A comedy sketch about {a}, with quick jokes, awkward pauses and a crowd that can't stop laughing.",
        "tags": ["comedy", "funny", "sketch", "standup"],
    },
    "gaming": {
        "titles": ["{a} speedrun explained", "I beat {a} without dying", "Is {a} worth it in 2026?", "{a}: every secret"],
        "a": ["Elden Ring", "Hollow Knight", "Super Mario 64", "Zelda", "Minecraft hardcore", "Celeste", "Doom", "Portal 2"],
        "desc": "A gaming video about {a}: strategies, glitches, routes and the community that plays it.",
        "tags": ["gaming", "video games", "speedrun", "review"],
    },
    "tech": {
        "titles": ["I built {a}", "{a} explained in 10 minutes", "Reviewing {a}", "Why {a} matters"],
        "a": ["a home server", "a mechanical keyboard", "a Rust web app", "a tiny robot arm", "a smart mirror", "a Linux laptop",
              "a retro handheld", "an open-source drone"],
        "desc": "A technology video on {a}: electronics, software and programming, with benchmarks and honest opinions.",
        "tags": ["tech", "programming", "gadgets", "review"],
    },
    "space": {
        "titles": ["{a}: what we know", "Inside {a}", "The mystery of {a}", "Watching {a} through a telescope"],
        "a": ["black holes", "the James Webb images", "Saturn's rings", "the Artemis missions", "neutron stars", "exoplanets",
              "the Andromeda galaxy", "a rocket launch"],
        "desc": "An astronomy explainer about {a}, with telescope footage, NASA missions and the physics of the cosmos.",
        "tags": ["space", "astronomy", "science", "universe"],
    },
    "history": {
        "titles": ["{a}, explained", "The rise and fall of {a}", "A day in {a}", "{a}: the untold story"],
        "a": ["ancient Rome", "the Mongol empire", "medieval castles", "the Silk Road", "the Aztecs", "the Vikings",
              "the printing press", "ancient Egypt"],
        "desc": "A history documentary about {a}: maps, ruins, primary sources and the people who lived it.",
        "tags": ["history", "documentary", "ancient", "civilisation"],
    },
    "diy": {
        "titles": ["Building {a} by hand", "{a} from scrap wood", "How to fix {a}", "Restoring {a}"],
        "a": ["a workbench", "a wooden canoe", "a leaky tap", "an old bicycle", "a bookshelf", "a vintage radio", "a cutting board"],
        "desc": "A hands-on DIY project: {a}, with the tools, woodworking joints and mistakes along the way.",
        "tags": ["diy", "woodworking", "craft", "restoration"],
    },
    "animals": {
        "titles": ["{a} being adorable", "A day with {a}", "Training {a}", "{a} meets snow for the first time"],
        "a": ["a golden retriever puppy", "two kittens", "a rescue greyhound", "a parrot that talks", "a corgi", "a bunny", "a husky"],
        "desc": "Cute pets: {a} at home, playing, learning tricks and being funny.",
        "tags": ["pets", "dogs", "cats", "cute"],
    },
    "music": {
        "titles": ["{a} (acoustic cover)", "Writing {a} in one day", "{a} on piano", "Live session: {a}"],
        "a": ["a folk ballad", "a pop anthem", "a lo-fi beat", "a rock classic", "a film score theme", "a love song"],
        "desc": "A music performance: {a}, with guitar, piano and vocals recorded live in a small studio.",
        "tags": ["music", "cover", "live", "songwriting"],
    },
    "art": {
        "titles": ["Painting {a}", "{a}: a timelapse", "Animating {a}", "Drawing {a} every day"],
        "a": ["a stormy seascape", "a city at night", "a portrait in oils", "a watercolour forest", "a 2D character walk cycle", "a comic page"],
        "desc": "An art timelapse: {a}, from sketch to final colours, with brushes, layers and animation tips.",
        "tags": ["art", "painting", "animation", "illustration"],
    },
    "sports": {
        "titles": ["{a}: the greatest moments", "Tactics: {a}", "{a} highlights", "How {a} changed the game"],
        "a": ["the Champions League final", "NBA playoffs", "Wimbledon", "the Tour de France", "the World Cup", "a marathon record"],
        "desc": "Sports analysis and highlights: {a}, with replays, tactics and the athletes behind it.",
        "tags": ["sports", "highlights", "football", "athletes"],
    },
    "science": {
        "titles": ["{a}, explained with experiments", "What happens when {a}", "The chemistry of {a}", "{a} in slow motion"],
        "a": ["superconductors", "lightning", "crystals grow", "a soap bubble freezes", "DNA", "magnets", "fire"],
        "desc": "A science video about {a}: lab experiments, physics and chemistry explained simply.",
        "tags": ["science", "physics", "chemistry", "experiment"],
    },
    "cars": {
        "titles": ["{a} road test", "Rebuilding {a}", "{a} vs the racetrack", "Why {a} is a legend"],
        "a": ["a 1967 Mustang", "an electric hypercar", "a rally car", "a vintage motorcycle", "a tiny kei car", "a V12 engine"],
        "desc": "A car video: {a}, with engines, driving footage and motorsport history.",
        "tags": ["cars", "motors", "racing", "engines"],
    },
    "gardening": {
        "titles": ["Growing {a}", "{a} in a small balcony", "From seed to harvest: {a}", "{a} care guide"],
        "a": ["tomatoes", "chillies", "a monstera", "strawberries", "herbs", "a wildflower meadow"],
        "desc": "A gardening guide for {a}: soil, watering, light, pests and the harvest.",
        "tags": ["gardening", "plants", "grow", "garden"],
    },
    "horror": {
        "titles": ["The case of {a}", "{a}: a true story", "Night in {a}", "Unsolved: {a}"],
        "a": ["the Dyatlov Pass", "the abandoned asylum", "a haunted lighthouse", "the missing hikers", "the whispering house"],
        "desc": "A mystery and horror story: {a}, with eerie footage, evidence and theories.",
        "tags": ["horror", "mystery", "true crime", "creepy"],
    },
    "dance": {
        "titles": ["{a} choreography", "Learn {a} in 5 minutes", "{a} battle", "{a} on the street"],
        "a": ["hip hop", "contemporary ballet", "salsa", "breaking", "tap", "K-pop"],
        "desc": "A dance video: {a} moves, choreography and performance, with a tutorial breakdown.",
        "tags": ["dance", "choreography", "tutorial", "performance"],
    },
}

# Simulated viewers: each has one to three genres they really like.
DEMO_USERS = 40


def demo_catalog() -> list[dict]:
    rng = random.Random(7)
    now = timezone.now()
    rows = []
    for genre, spec in GENRES.items():
        for n, subject in enumerate(spec["a"]):
            for take in range(2):  # two videos per subject, under different titles
                title = spec["titles"][(n + 2 * take) % len(spec["titles"])].format(a=subject)
                title = title[0].upper() + title[1:]
                rows.append(
                    {
                        "external_id": f"demo-{genre}-{n:02d}-{take}",
                        "title": title,
                        "description": spec["desc"].format(a=subject),
                        "tags": spec["tags"][:] + [subject.lower()],
                        "created_at": now - timedelta(days=rng.uniform(0, 60)),
                    }
                )
    return rows


def demo_seed(*, progress: Callable[[str], None] = print) -> dict[str, int]:
    """Load the demo catalogue and simulated viewers. Idempotent: running again changes nothing."""
    from profiles.services import EventIn, interactions_ingest_bulk, users_ensure_external

    created = 0
    with transaction.atomic():
        for row in demo_catalog():
            _, was_created = video_upsert(**row)
            created += was_created
    progress(f"demo catalogue: {Video.objects.filter(external_id__startswith='demo-').count()} videos ({created} new)")
    embedded = videos_embed(progress=lambda done, total: progress(f"embedding videos {done}/{total}"))

    rng = random.Random(11)
    by_genre: dict[str, list[Video]] = {}
    for video in Video.objects.filter(external_id__startswith="demo-"):
        by_genre.setdefault(video.external_id.split("-")[1], []).append(video)
    genres = sorted(by_genre)
    rows: list[EventIn] = []
    viewers = users_ensure_external({f"demo-viewer-{n:02d}" for n in range(DEMO_USERS)})
    for n in range(DEMO_USERS):
        external = f"demo-viewer-{n:02d}"
        user = viewers[external]
        loves = rng.sample(genres, rng.randint(1, 3))
        plan = []
        for genre in loves:
            for video in rng.sample(by_genre[genre], min(5, len(by_genre[genre]))):
                plan.append((video, "like" if rng.random() < 0.6 else "view", rng.uniform(0.5, 1.0)))
        for genre in rng.sample([g for g in genres if g not in loves], 2):
            plan.append((rng.choice(by_genre[genre]), "skip", None))
        for i, (video, kind, fraction) in enumerate(plan):
            rows.append(EventIn(
                index=len(rows), user=user, video=video.pk, kind=kind,
                watch_fraction=fraction if kind == "view" else None, client_event_id=f"seed-{external}-{i}",
            ))
    events = interactions_ingest_bulk(events=rows).created
    from feed.collaborative import neighbours_refresh

    neighbours_refresh()  # so the first feed already has co-engagement, before the scheduler runs
    progress(f"demo viewers: {DEMO_USERS}, new events: {events}")
    return {"videos_created": created, "videos_embedded": embedded, "events_created": events}


def demo_admin_ensure(*, username: str = "admin") -> str | None:
    """Create the admin account with a random password; returns the password only when it was created."""
    import secrets

    User = get_user_model()
    if User.objects.filter(username=username).exists():
        return None
    password = secrets.token_urlsafe(12)
    User.objects.create_superuser(username=username, email="", password=password)
    return password
