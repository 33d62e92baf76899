"""Default prompt templates, one per family, loaded by `manage.py load_generation_data`.

They are Django templates. The viewer's brief arrives as the variable `brief` (never as
template source), so braces in it are inert text.
"""

TEMPLATES = {
    "short_film": {
        "body": (
            "A {{ mood }} {{ genre }} short film in {{ style }} style. {{ subject|capfirst }} in {{ setting }}"
            "{% if subject2 %} crosses paths with {{ subject2 }}{% endif %}. {% if brief %}The story: {{ brief }}. {% endif %}"
            "Opens on a {{ camera }}, builds to a quiet turn, ends on a lingering final image."
        ),
        "sound": "Score of {{ music }}; ambience of {{ sound }}; a few lines of natural dialogue.",
        "negative": "blurry, low quality, distorted faces, extra limbs, watermark, text overlay, jitter",
    },
    "musical": {
        "body": (
            "An original {{ mood }} musical number in {{ style }} style: {{ subject }} in {{ setting }} bursts into song"
            "{% if brief %} about {{ brief }}{% endif %}. Chorus line choreography, {{ camera }}, a big final pose."
        ),
        "sound": "An original song in the style of {{ music }} with a catchy chorus{% if brief %} about {{ brief }}{% endif %}; {{ sound }} under the intro.",
        "negative": "blurry, low quality, off-beat motion, distorted faces, watermark, text",
    },
    "documentary": {
        "body": (
            "A {{ mood }} documentary segment in {{ style }} style about {{ subject }} in {{ setting }}."
            "{% if brief %} Focus: {{ brief }}.{% endif %} Observational footage, {{ camera }}, natural light, real textures."
        ),
        "sound": "Calm narrator voice-over; {{ sound }}; a light bed of {{ music }}.",
        "negative": "cartoonish, oversaturated, low quality, watermark, text overlay",
    },
    "tutorial": {
        "body": (
            "A clear step-by-step tutorial: hands working with {{ subject }} in {{ setting }}."
            "{% if brief %} The viewer wants: {{ brief }}.{% endif %} {{ camera|capfirst }}, overhead detail shots, "
            "{{ style }} look, {{ mood }} pace."
        ),
        "sound": "A friendly instructor explaining each step; {{ sound }}; soft {{ music }} in the background.",
        "negative": "blurry hands, extra fingers, messy framing, low quality, watermark",
    },
    "host": {
        "body": (
            "A {{ mood }} host speaks straight to camera in {{ setting }}, talking about {{ subject }}"
            "{% if brief %} and {{ brief }}{% endif %}. Medium close-up, {{ camera }}, {{ style }} look, warm eye contact."
        ),
        "sound": "The host's voice, direct and personal; {{ sound }} in the room; a short sting of {{ music }}.",
        "negative": "lip-sync drift, distorted face, uncanny eyes, low quality, watermark",
    },
    "ambient": {
        "body": (
            "A {{ mood }} ambient music video in {{ style }} style: {{ subject }} and {{ setting }}"
            "{% if subject2 %}, with glimpses of {{ subject2 }}{% endif %}.{% if brief %} Theme: {{ brief }}.{% endif %} "
            "{{ camera|capfirst }}, slow flowing movement, loopable."
        ),
        "sound": "{{ music|capfirst }} with {{ sound }}; no dialogue.",
        "negative": "fast cuts, flicker, low quality, text, watermark",
    },
}
