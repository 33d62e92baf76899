"""The onboarding vocabulary: broad tastes a new viewer can pick from, each with text to embed.

The concept vocabulary for prompt composition (generation/) is finer-grained;
these are the doors a newcomer walks in through, and the names interests are
labelled with until items of their own describe them better.
"""

from __future__ import annotations

TOPICS: dict[str, tuple[str, str]] = {
    "cooking": ("Cooking", "home cooking recipes, kitchen techniques, chefs preparing food, baking bread and pasta"),
    "scifi": ("Science fiction", "science fiction stories, spaceships, distant planets, robots, time travel and the future"),
    "jazz": ("Jazz", "jazz music, saxophone and trumpet solos, improvisation, smoky clubs and live bands"),
    "nature": ("Nature & wildlife", "wildlife documentaries, animals in the wild, forests, oceans and national parks"),
    "travel": ("Travel", "travel vlogs, exploring cities, street markets, hidden beaches and road trips abroad"),
    "fitness": ("Fitness", "workouts, strength training, running, yoga routines and healthy habits"),
    "comedy": ("Comedy", "stand-up comedy, sketches, funny bloopers and improvised jokes"),
    "gaming": ("Gaming", "video games, speedruns, game reviews, esports and retro consoles"),
    "tech": ("Technology", "gadgets, programming, software engineering, electronics and tech reviews"),
    "space": ("Space & astronomy", "astronomy, telescopes, rockets, NASA missions, galaxies and black holes"),
    "history": ("History", "history documentaries, ancient civilisations, medieval castles and world wars"),
    "diy": ("DIY & crafts", "woodworking, home repair, crafts, knitting and building things by hand"),
    "fashion": ("Fashion & beauty", "fashion, outfits, streetwear, makeup tutorials and runway shows"),
    "animals": ("Pets & animals", "cute pets, dogs, cats, puppies and funny animal moments"),
    "music": ("Music performance", "live concerts, guitar covers, piano performances and songwriting"),
    "art": ("Art & animation", "painting, drawing, digital art, animation and illustration timelapses"),
    "sports": ("Sports", "football, basketball, tennis highlights, athletes and match analysis"),
    "science": ("Science", "physics, chemistry experiments, biology explained and science facts"),
    "cars": ("Cars & motors", "cars, motorcycles, racing, engines and road tests"),
    "gardening": ("Gardening", "gardening, growing vegetables, houseplants and flower beds"),
    "horror": ("Horror & mystery", "horror stories, ghosts, haunted houses, true crime and unsolved mysteries"),
    "finance": ("Money & business", "personal finance, investing, startups and business stories"),
    "dance": ("Dance", "dance choreography, ballet, hip hop battles and dance tutorials"),
    "film": ("Film & TV", "movie reviews, film making, behind the scenes and classic cinema"),
}


def topic_text(slug: str) -> str:
    name, description = TOPICS[slug]
    return f"{name}: {description}"
