"""Phrase templates the built-in writer fills from a world: formats and their story beats,
tones, titles, loglines and the lines of every beat.

Slots (str.format): {subject} the subject as a noun phrase, {Subject} capitalised, {bare}
without a leading article (for "Oh garlic bread"), {T} in Title Case; {is}/{has}/{its}/{it}
agree with the subject; {at_setting} is the setting with its preposition ("on a snowy
Himalayan ridge"), {setting} without; {lead}/{second} are names, {role} the lead's role;
{detail}, {fact}, {step}, {task}, {adj}/{adj2}, {addressee}, {enjoyed}, {n}.
A template names a slot only where the sentence stays grammatical for any filling: verbs
that follow {subject} go through {is}/{has}, and rhymes sit at the ends of lyric lines,
away from the slots.
"""

# Each beat is one shot. "lead"/"second" are the cast, None the narrator.
FORMATS: dict[str, dict] = {
    "short_film": {
        "description": "a short narrative film: characters, a small story with a twist and an ending",
        "beats": ["setup", "call", "turn", "payoff"], "cast": ["story", "story"], "seconds": 20.0,
        "style": "Cinematic film still, 35mm, shallow depth of field",
        "negative": "blurry, low quality, distorted faces, extra limbs, watermark, text overlay, jitter",
    },
    "musical": {
        "description": "an original musical number: a catchy song with singing, dancing and a big chorus",
        "beats": ["intro", "verse", "chorus", "verse2", "chorus"], "cast": ["star"], "seconds": 18.0,
        "style": "Bright stage-musical scene, theatrical spotlights, colourful",
        "negative": "blurry, low quality, off-beat motion, distorted faces, watermark, text",
    },
    "documentary": {
        "description": "a documentary: real footage, a calm narrator, facts about nature, history or people",
        "beats": ["establish", "observe", "observe", "reveal"], "cast": [], "seconds": 20.0,
        "style": "Natural-light documentary footage, long lens",
        "negative": "cartoonish, oversaturated, low quality, watermark, text overlay",
    },
    "tutorial": {
        "description": "a step-by-step tutorial or how-to guide: learn to make or do something yourself",
        "beats": ["intro", "step", "step", "step", "result"], "cast": ["host"], "seconds": 22.0,
        "style": "Clean, well-lit tutorial footage, clear view of the hands",
        "negative": "blurry hands, extra fingers, messy framing, low quality, watermark",
    },
    "host": {
        "description": "a presenter or vlogger talking to the camera about something they love",
        "beats": ["greeting", "topic", "topic", "signoff"], "cast": ["host"], "seconds": 16.0,
        "style": "Vlog-style medium shot, warm light, eye contact with the camera",
        "negative": "lip-sync drift, distorted face, uncanny eyes, low quality, watermark",
    },
    "comedy_sketch": {
        "description": "a funny comedy sketch: a silly situation that goes wrong and a punchline",
        "beats": ["setup", "escalation", "escalation2", "punchline"], "cast": ["story", "story"], "seconds": 16.0,
        "style": "Bright sitcom lighting, wide comic framing",
        "negative": "blurry, low quality, distorted faces, extra limbs, watermark, text",
    },
    "ambient": {
        "description": "a calm ambient video: slow, relaxing, beautiful images and soft music, no story",
        "beats": ["wide", "detail", "detail", "wide"], "cast": [], "seconds": 16.0,
        "style": "Slow, dreamy, softly lit footage, loopable",
        "negative": "fast cuts, flicker, low quality, text, watermark",
    },
    "explainer": {
        "description": "an explainer: a clear answer to a question, how something works and why, science and facts",
        "beats": ["question", "part", "part", "answer"], "cast": [], "seconds": 20.0,
        "style": "Clear explainer visuals, simple and bright",
        "negative": "cluttered, low quality, watermark, garbled text",
    },
}

TONES: dict[str, dict] = {
    "playful": {"description": "light, funny, bouncy and cheerful", "mood": "joyful", "light": "bright saturated colours",
                "tempo": (108, 128), "keys": ["C major", "F major", "G major", "D major"], "transitions": ["cut", "wipe"]},
    "cosy": {"description": "warm, gentle, comforting and homely", "mood": "warm", "light": "warm golden light",
             "tempo": (80, 98), "keys": ["F major", "Bb major", "G major"], "transitions": ["dissolve", "cut"]},
    "epic": {"description": "grand, dramatic, soaring and heroic", "mood": "triumphant", "light": "dramatic light at a vast scale",
             "tempo": (90, 120), "keys": ["D minor", "C minor", "D major", "Eb major"], "transitions": ["cut", "dissolve"]},
    "serene": {"description": "calm, peaceful, slow and meditative", "mood": "calm", "light": "soft pastel light",
               "tempo": (60, 78), "keys": ["A major", "E major", "D major"], "transitions": ["dissolve", "fade"]},
    "mysterious": {"description": "eerie, dark, suspenseful and strange", "mood": "eerie", "light": "low-key moody light",
                   "tempo": (66, 90), "keys": ["A minor", "E minor", "C# minor"], "transitions": ["fade", "dissolve"]},
    "heartfelt": {"description": "tender, emotional and nostalgic", "mood": "tender", "light": "soft warm light",
                  "tempo": (70, 92), "keys": ["G major", "E minor", "C major"], "transitions": ["dissolve", "fade"]},
    "energetic": {"description": "fast, exciting, intense and thrilling", "mood": "driving", "light": "punchy contrast and motion blur",
                  "tempo": (124, 150), "keys": ["E minor", "A major", "G minor"], "transitions": ["cut", "wipe"]},
}
# Tones a format can carry: an ambient loop is never "energetic", a sketch never "mysterious".
FORMAT_TONES = {
    "ambient": ["serene", "cosy", "mysterious"], "comedy_sketch": ["playful"], "musical": ["playful", "cosy", "heartfelt", "energetic", "epic"],
    "tutorial": ["playful", "cosy", "serene", "energetic"], "host": ["playful", "cosy", "energetic", "heartfelt"],
}

CAMERA_PHRASES = {
    "static": "locked-off static shot", "push-in": "slow push-in", "pull-out": "slow pull-out reveal",
    "pan-left": "gentle pan left", "pan-right": "gentle pan right", "overhead": "overhead top-down shot",
    "tilt-up": "slow tilt up", "hyperlapse": "hyperlapse", "handheld": "handheld close-up", "orbit": "orbiting shot",
}
BEAT_CAMERAS = {
    "open": ["pull-out", "pan-right", "tilt-up", "static"],
    "middle": ["push-in", "handheld", "static", "pan-left"],
    "step": ["overhead", "push-in", "static"],
    "big": ["orbit", "handheld", "push-in"],
    "close": ["push-in", "pull-out", "static", "orbit"],
    "ambient": ["hyperlapse", "pan-right", "static", "tilt-up"],
}
BEAT_KIND = {
    "setup": "open", "intro": "open", "establish": "open", "greeting": "open", "question": "open", "wide": "ambient",
    "call": "middle", "observe": "middle", "topic": "middle", "part": "middle", "detail": "ambient", "verse": "middle",
    "verse2": "middle", "escalation": "middle", "step": "step", "turn": "big", "chorus": "big", "escalation2": "big",
    "payoff": "close", "reveal": "close", "result": "close", "signoff": "close", "punchline": "close", "answer": "close",
}

TITLES = {
    "short_film": ["{Lead} and the {Adj} Day", "{Lead}'s Big Day", "The {Adj} Morning", "{Lead} and {Second}", "The {TB}",
                   "{Lead} and the {TB}"],
    "musical": ["{TB}: The Musical", "Ode to {T}", "The Ballad of {T}", "Sing, {TB}!"],
    "documentary": ["The Secret Life of {T}", "{T}: A Closer Look", "A Day with {T}", "Watching {T}"],
    "tutorial": ["How to {Task}", "{Task}, Step by Step", "{Task} in {n} Steps"],
    "host": ["{Lead}'s {TB} Corner", "Talking {TB} with {Lead}", "{TB} Hour with {Lead}"],
    "comedy_sketch": ["{Lead} vs. {T}", "{TB}: What Could Go Wrong?", "Never Ask {Lead} to {Task}"],
    "ambient": ["{TB}, Slowly", "Quiet Hours: {TB}", "{Adj} and Still: {TB}"],
    "explainer": ["{TB}, Explained", "The Science of {TB}", "{TB} in {n} Facts"],
}

LOGLINES = {
    "short_film": ["{Lead_role} sets out on an ordinary day {at_setting}, and finds {detail}.",
                   "A small story {at_setting}: {lead_role}, {second}, and one unexpected discovery."],
    "musical": ["{Lead_role} sings a love song to {subject} {at_setting}.",
                "A toe-tapping ode to {subject}, sung {at_setting} by {lead_role}."],
    "documentary": ["A patient, close look at {subject} {at_setting}.",
                    "{Subject} up close {at_setting}, and why {fact}."],
    "tutorial": ["{Lead_role} shows how to {task}, in {n} easy steps.",
                 "Learn to {task} with {lead_role}, {at_setting}."],
    "host": ["{Lead_role} talks {bare} {at_setting}.",
             "{Lead_role} shares a favourite thing about {subject}, {at_setting}."],
    "comedy_sketch": ["{Lead_role} tries to {task}. {Second} is not convinced.",
                      "{At_setting}, {lead_role} attempts to {task}, and it goes about as well as you'd expect."],
    "ambient": ["{Subject} and {setting}, slowly: a quiet loop.",
                "A calm few moments {at_setting}, with {detail}."],
    "explainer": ["Why {subject} {is} {more_adj} than you think, in {n} facts.",
                  "{Subject}, explained in three surprising facts."],
}

MASCOT_LOGLINES = ["{Lead_role} sings its heart out {at_setting}.",
                   "{At_setting}, {lead_role} bursts into song, and nobody can stop the music."]

# Lines of each beat: (kind, who, text). A beat has one or two alternatives; each alternative
# is a list of lines. Lyric alternatives are couplets that rhyme at the line ends.
LINES: dict[str, dict[str, list[list[tuple]]]] = {
    "short_film": {
        "setup": [[("narration", None, "Every day, {lead_role} would {action}.")],
                  [("narration", None, "{At_setting}, {lead_role} knew every corner by heart.")],
                  [("narration", None, "Nothing ever changed {at_setting}. {Lead} liked it that way.")]],
        "call": [[("dialogue", "second", "{Lead}! Come and look at this!")],
                 [("dialogue", "lead", "Did you hear that, {second}?"), ("dialogue", "second", "Hear what?")],
                 [("dialogue", "second", "{Lead}, you need to see this. Now.")]],
        "turn": [[("narration", None, "Then {lead} saw it: {detail}.")],
                 [("narration", None, "But today was different. Today, there was something new: {detail}.")]],
        "payoff": [[("dialogue", "lead", "We're going to need a bigger day."), ("narration", None, "And {at_setting}, nothing was quite the same again.")],
                   [("narration", None, "{Lead} smiled. Some days are worth waiting for.")],
                   [("dialogue", "second", "Same time tomorrow?"), ("dialogue", "lead", "Same time tomorrow.")]],
    },
    "musical": {
        "intro": [[("narration", None, "{At_setting}, something is about to burst into song.")],
                  [("narration", None, "Nobody {at_setting} expected {lead} to sing. Then the music started.")],
                  [("narration", None, "Every morning {at_setting}, the same little tune begins.")]],
        "verse": [[("lyric", "lead", "Wake up, wake up, it's time to shine"), ("lyric", "lead", "{Lyr} and me, we're doing fine")],
                  [("lyric", "lead", "Out of the dark and into the light"), ("lyric", "lead", "{Bare}, {bare}, {adj} and bright")],
                  [("lyric", "lead", "Every little thing here knows this song"), ("lyric", "lead", "{Bare} {has} been here all along")],
                  [("lyric", "lead", "I've got a feeling, I've got a plan"), ("lyric", "lead", "{AdjLyr}, catch me if you can")]],
        "verse2": [[("lyric", "lead", "Some folks say it's just a phase"), ("lyric", "lead", "{Lyr} will be here all my days")],
                   [("lyric", "lead", "Turn it up and let it ring"), ("lyric", "lead", "{Bare} {is} the only thing I sing")],
                   [("lyric", "lead", "When the sky is grey and the clouds hang low"), ("lyric", "lead", "{AdjLyr} will steal the show")],
                   [("lyric", "lead", "Tap your feet and clap your hands"), ("lyric", "lead", "{Bare} {is} the best in all the lands")]],
        "chorus": [[("lyric", "lead", "Oh {bare}, oh {bare}, you light up my day"), ("lyric", "lead", "{Adj} and wonderful, come what may")],
                   [("lyric", "lead", "Sing it out for {lyr}, sing it every night"), ("lyric", "lead", "{Adj} and {adj2}, everything is right")],
                   [("lyric", "lead", "{Bare}, {bare}, hear the people cheer"), ("lyric", "lead", "{Adj} and {adj2}, the best thing here")]],
    },
    "documentary": {
        "establish": [[("narration", None, "{At_setting}, life moves at its own pace.")],
                      [("narration", None, "Welcome to {setting}, the world of {subject}.")],
                      [("narration", None, "{At_setting}, the day begins quietly.")]],
        "observe": [[("narration", None, "Look closely: {detail}.")],
                    [("narration", None, "{Fact}.")],
                    [("narration", None, "Here, {fact}.")]],
        "reveal": [[("narration", None, "{Fact}. We are only beginning to understand {subject}.")],
                   [("narration", None, "The longer you watch {subject}, the more there is to see.")],
                   [("narration", None, "{Subject} {keeps} {its} secrets. Today, we saw a few of them.")],
                   [("narration", None, "And so the day ends {at_setting}, as it has for a very long time.")]],
    },
    "tutorial": {
        "intro": [[("dialogue", "lead", "Hi, I'm {lead}. Today we'll {task}, step by step.")],
                  [("dialogue", "lead", "Hello from {setting}! Let's {task} together.")],
                  [("dialogue", "lead", "Ever wanted to {task}? It's easier than you think.")]],
        "step": [[("dialogue", "lead", "{Ordinal}, {step}.")]],
        "result": [[("dialogue", "lead", "And that's how you {task}. Your turn!")],
                   [("dialogue", "lead", "That's it! Now you know how to {task}.")],
                   [("dialogue", "lead", "Done. See? Anyone can {task}.")]],
    },
    "host": {
        "greeting": [[("dialogue", "lead", "Hey {addressee}! {Lead} here, coming to you from {setting}.")],
                     [("dialogue", "lead", "Hi {addressee}, it's {lead}, {at_setting} today.")]],
        "topic": [[("dialogue", "lead", "Today it's all about {subject}. Look at this: {detail}.")],
                  [("dialogue", "lead", "Here's something I love: {fact}.")],
                  [("dialogue", "lead", "Did you know that {fact}?")]],
        "signoff": [[("dialogue", "lead", "That's all from {setting}. See you next time, {addressee}!")],
                    [("dialogue", "lead", "Thanks for hanging out, {addressee}. Same time next week?")]],
    },
    "comedy_sketch": {
        "setup": [[("dialogue", "lead", "Right. Today I will {task}. Calmly. Professionally.")],
                  [("dialogue", "lead", "How hard can it be to {task}?"), ("dialogue", "second", "Famous last words.")]],
        "escalation": [[("dialogue", "second", "Is it supposed to look like that?"), ("dialogue", "lead", "Everything is under control.")],
                       [("dialogue", "second", "{Lead}, what did you do?"), ("dialogue", "lead", "Nothing! It's fine! It's all part of the plan.")]],
        "escalation2": [[("dialogue", "second", "The instructions say: {step}."), ("dialogue", "lead", "The instructions are wrong.")],
                        [("dialogue", "lead", "I have been a {role} for years!"), ("dialogue", "second", "Since Tuesday.")]],
        "punchline": [[("dialogue", "second", "Maybe next time we just watch a video about {subject}.")],
                      [("dialogue", "lead", "So... same time tomorrow?"), ("dialogue", "second", "I'm telling everyone.")],
                      [("dialogue", "second", "Well. That happened.")]],
    },
    "ambient": {
        "wide": [[("narration", None, "Just {setting}, and the sound of {ambience}.")], [("narration", None, "Breathe in. {Setting}.")], []],
        "detail": [[]],
    },
    "explainer": {
        "question": [[("narration", None, "What makes {subject} so {adj}? Let's find out.")],
                     [("narration", None, "How much do you really know about {subject}?")]],
        "part": [[("narration", None, "{Ordinal}: {fact}.")]],
        "answer": [[("narration", None, "Now you know. Next time you think of {subject}, you'll see {it} differently.")],
                   [("narration", None, "Put it all together, and {subject} {is} even {more_adj} than {they} {looks}.")]],
    },
}

# Lines for a subject a world lends itself to: what the camera sees, no borrowed facts.
BORROWED_LINES = {
    "part": [("narration", None, "{Ordinal}: look closely at {detail}.")],
    "observe": [("narration", None, "Look closely at {subject}: {detail}.")],
    "topic": [("dialogue", "lead", "Today it's all about {subject}. Look at this: {detail}.")],
}
# A brief's subject that walks into a borrowed world's story ("a story about a dragon").
MEETS_SUBJECT_LINES = {
    "turn": [("narration", None, "Then {lead} saw it: {subject}, right there {at_setting}.")],
    "escalation2": [("dialogue", "second", "Is that... {subject}?"), ("dialogue", "lead", "Act natural.")],
}
MEETS_SUBJECT_LOGLINES = ["{Lead_role} meets {subject} {at_setting}, and nothing is the same again.",
                          "An ordinary day {at_setting}, until {lead_role} comes face to face with {subject}."]
GENERIC_ADJECTIVES = ["wonderful", "marvellous", "amazing", "brilliant"]

# How-to steps for a task no world knows: plain, honest and in order.
GENERIC_STEPS = ["gather everything you need and clear a space", "start with the simplest part",
                 "take your time over the tricky bit", "finish it off, step back and admire it"]

ORDINALS = ["First", "Next", "Then", "Finally"]
EXPLAINER_ORDINALS = ["First", "Second", "And here's the twist", "Finally"]

# What a singing lead does on screen, whoever it is.
MUSICAL_ACTIONS = {
    "intro": ["peek out from behind a little curtain", "wake up with a stretch in a spotlight", "rise slowly into the spotlight"],
    "verse": ["sing straight to the camera", "sway under a spotlight, singing", "stroll forward, singing"],
    "verse2": ["sing with arms wide open", "twirl across the floor, singing", "tap-dance while singing"],
    "chorus": ["dance in a spotlight with arms wide", "lead a kick-line chorus", "spin across the floor"],
}
# The spoken button after a musical's last chorus.
TAGLINES = {
    "cooking": ["Take a bite!", "Dig in, everybody!", "Who's hungry?"],
    "nature": ["Thank you, and goodnight!", "Take a bow, everybody!"],
    "default": ["Thank you, goodnight!", "Encore? Encore!", "Take a bow, everybody!"],
}
COMEDY_ACTIONS = {
    "setup": "try to {action}", "escalation": "try to {action}, and it starts to go wrong",
    "escalation2": "try to {action} again, with even less luck", "punchline": "stare at the mess",
}

# Alliterative names for a subject that sings or talks (Gus the garlic bread).
NAMES_BY_LETTER = {
    "a": ["Alfie", "Ada", "Arlo"], "b": ["Bella", "Barney", "Bo"], "c": ["Coco", "Cosmo", "Clem"], "d": ["Dot", "Dizzy", "Dex"],
    "e": ["Ellie", "Ezra", "Echo"], "f": ["Fifi", "Felix", "Flo"], "g": ["Gus", "Greta", "Gino"], "h": ["Hattie", "Hugo", "Hal"],
    "i": ["Iggy", "Ivy", "Ike"], "j": ["Jojo", "Juno", "Jax"], "k": ["Kiki", "Kit", "Kofi"], "l": ["Lulu", "Leo", "Lola"],
    "m": ["Milo", "Mabel", "Moe"], "n": ["Nico", "Nell", "Noodle"], "o": ["Ollie", "Otto", "Opal"], "p": ["Pip", "Penny", "Percy"],
    "q": ["Quinn", "Queenie", "Quincy"], "r": ["Rosie", "Rufus", "Rex"], "s": ["Sunny", "Sid", "Suki"], "t": ["Toby", "Tilly", "Taz"],
    "u": ["Ursula", "Umi", "Ugo"], "v": ["Vinnie", "Violet", "Vik"], "w": ["Wally", "Winnie", "Wes"], "x": ["Xavi", "Xena", "Xander"],
    "y": ["Yoyo", "Yara", "Yuri"], "z": ["Ziggy", "Zara", "Zeb"],
}
