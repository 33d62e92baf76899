"""Tiny random-weight diffusers pipelines for tests and the embedded default.

The pipelines built here have the exact structure of real diffusers pipelines
(``WanPipeline`` for text-to-video, ``StableAudioPipeline`` for text-to-audio,
``LTX2Pipeline`` for video with its own sound)
but every component is built *from config in code* with minuscule dimensions and
randomly initialised weights.  Nothing is ever downloaded: the tokenizer is
assembled in memory with the ``tokenizers`` library from a fixed vocabulary,
and the text encoder is a (UM)T5 encoder built from a small config.
The configurations follow diffusers' own fast tests
(``tests/pipelines/wan/test_wan.py`` and
``tests/pipelines/stable_audio/test_stable_audio.py``).

The output is noise-like, but it has real shapes and real dtypes and goes
through the same code paths (prompt encoding, denoising loop, step callbacks,
VAE decoding) as a production checkpoint, so the rest of the application can
be exercised end to end on a CPU in well under a second per render.

Building is deterministic: for a fixed ``seed`` the saved weights are
identical.  Each builder saves with ``save_pretrained`` so the result loads
back with ``WanPipeline.from_pretrained(path)`` /
``StableAudioPipeline.from_pretrained(path)`` with no hub access.

Tiny Wan (``tiny-wan``)
    Any ``height``/``width`` divisible by 16 and ``num_frames`` of the form
    ``4k + 1`` (e.g. 9 frames at 64x64).  ``.frames`` is a float32 array of
    shape ``(batch, num_frames, height, width, 3)`` in ``[0, 1]`` for
    ``output_type="np"``.  Pass ``max_sequence_length`` (e.g. 16) to keep the
    text sequence short; the tokenizer's ``model_max_length`` is
    :data:`WAN_MAX_SEQUENCE_LENGTH`.

Tiny Stable Audio (``tiny-audio``)
    Stereo audio at :data:`AUDIO_SAMPLING_RATE` Hz (also available as
    ``pipe.vae.sampling_rate``).  The model always generates
    :data:`AUDIO_MAX_SECONDS` seconds (``sample_size * hop_length`` samples)
    and the pipeline trims the waveform to ``int(audio_end_in_s *
    sampling_rate)`` samples, so any ``0 < audio_end_in_s <=
    AUDIO_MAX_SECONDS`` works; e.g. ``audio_end_in_s=1.125`` (9 frames at
    8 fps) yields exactly 18000 samples.  With ``output_type="np"``
    ``.audios`` is float32 of shape ``(batch, 2, samples)`` (the default
    ``output_type="pt"`` gives a tensor).  The random waveform is not
    normalised and can exceed ``[-1, 1]``; clip it before encoding.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

__all__ = [
    "AUDIO_MAX_SECONDS",
    "AUDIO_SAMPLING_RATE",
    "TINY_AUDIO",
    "TINY_LTX2",
    "TINY_WAN",
    "WAN_MAX_SEQUENCE_LENGTH",
    "build_tiny_audio",
    "build_tiny_ltx2",
    "build_tiny_pipelines",
    "build_tiny_wan",
]

#: Directory names used by :func:`build_tiny_pipelines`.
TINY_WAN = "tiny-wan"
TINY_AUDIO = "tiny-audio"
TINY_LTX2 = "tiny-ltx2"

#: ``model_max_length`` of the tiny LTX-2 tokenizer.
LTX2_MAX_SEQUENCE_LENGTH = 128

#: ``model_max_length`` of the tiny Wan tokenizer (Wan pads to ``max_sequence_length``).
WAN_MAX_SEQUENCE_LENGTH = 512

#: Sampling rate of the tiny audio VAE (an AAC-friendly rate).
AUDIO_SAMPLING_RATE = 16_000
#: Oobleck VAE downsampling ratios; their product is the VAE hop length (256).
_AUDIO_DOWNSAMPLING_RATIOS = [2, 4, 4, 8]
#: Latent length of the audio transformer; ``256 * 256 / 16000 = 4.096`` seconds.
_AUDIO_SAMPLE_SIZE = 256
#: Longest ``audio_end_in_s - audio_start_in_s`` the tiny audio pipeline accepts (4.096).
AUDIO_MAX_SECONDS = _AUDIO_SAMPLE_SIZE * math.prod(_AUDIO_DOWNSAMPLING_RATIOS) / AUDIO_SAMPLING_RATE
#: ``model_max_length`` of the tiny audio tokenizer (Stable Audio pads to it).
_AUDIO_MAX_TOKENS = 32

#: Width of the tiny T5 text encoder; the denoisers' text inputs must match it.
_T5_D_MODEL = 32

_PAD, _EOS, _UNK = "<pad>", "</s>", "<unk>"

# A fixed, hand-written vocabulary so the tokenizer is identical on every
# build.  Whole words get their own id; anything else made of ASCII letters,
# digits and punctuation is spelled out with WordPiece character pieces, so
# different prompts still map to different token ids.
_WORDS = (
    "a an the and or of in on at to with from by for over under into through near "
    "is are was be being it this that these those there here his her their its "
    "cat cats dog dogs bird birds fish horse cow monkey person people man woman child "
    "robot car boat train plane bicycle tree trees flower flowers grass forest mountain "
    "mountains river lake ocean sea beach sky cloud clouds sun moon star stars rain snow "
    "city street road house room kitchen garden field desert island bridge tower castle "
    "water fire light shadow wind smoke dust "
    "red orange yellow green blue purple pink white black gray brown gold silver "
    "big small tall short old young new bright dark warm cold soft loud quiet happy sad "
    "slow fast slowly quickly beautiful cinematic realistic detailed colorful calm "
    "walking running flying swimming dancing jumping sitting standing playing singing "
    "eating sleeping driving falling rising spinning floating shining glowing "
    "camera shot view close wide aerial pan zoom scene video music sound drum guitar "
    "piano voice noise beat song ambient hammer hitting wooden surface "
    "morning evening night day sunset sunrise winter summer spring autumn "
    "one two three four five many some all every"
).split()
_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789.,!?;:'\"-()/&"


def _build_tokenizer(model_max_length: int) -> PreTrainedTokenizerFast:
    """A small WordPiece tokenizer with T5-style special tokens, built in memory.

    ``<pad>`` is id 0, ``</s>`` id 1 (appended to every sequence) and
    ``<unk>`` id 2, like T5.
    """
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from transformers import PreTrainedTokenizerFast

    vocab: dict[str, int] = {}
    for token in (_PAD, _EOS, _UNK, *_WORDS, *_CHARS, *(f"##{c}" for c in _CHARS)):
        vocab.setdefault(token, len(vocab))

    tokenizer = Tokenizer(WordPiece(vocab, unk_token=_UNK, continuing_subword_prefix="##"))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFKD(), normalizers.StripAccents(), normalizers.Lowercase()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"$A {_EOS}",
        pair=f"$A {_EOS} $B {_EOS}",
        special_tokens=[(_EOS, vocab[_EOS])],
    )
    tokenizer.decoder = decoders.WordPiece(prefix="##")

    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=_PAD,
        eos_token=_EOS,
        unk_token=_UNK,
        model_max_length=model_max_length,
        padding_side="right",
    )


def _build_text_encoder(vocab_size: int, *, umt5: bool = False) -> PreTrainedModel:
    """A two-layer (UM)T5 encoder with ``d_model=32`` and random weights.

    Wan's real text encoder is UMT5 (``google/umt5-xxl``) and ``WanPipeline``
    declares ``UMT5EncoderModel``; Stable Audio uses plain T5.
    """
    from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    config_class, model_class = (UMT5Config, UMT5EncoderModel) if umt5 else (T5Config, T5EncoderModel)
    config = config_class(
        vocab_size=vocab_size,
        d_model=_T5_D_MODEL,
        d_kv=8,
        d_ff=37,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        relative_attention_max_distance=32,
        dropout_rate=0.0,
        feed_forward_proj="relu",
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    return model_class(config).eval()


def build_tiny_wan(path: Path, *, seed: int = 0) -> None:
    """Build a tiny random-weight ``WanPipeline`` and save it to ``path``.

    The components mirror diffusers' ``WanPipeline`` fast-test dummy
    components: a 3-channel ``AutoencoderKLWan`` (8x spatial, 4x temporal
    compression, 16 latent channels), a two-layer ``WanTransformer3DModel``
    (2 heads of 12), a tiny UMT5 encoder and a ``FlowMatchEulerDiscreteScheduler``.
    ``path`` is created if needed; existing files in it are overwritten.
    """
    import torch
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanPipeline,
        WanTransformer3DModel,
    )

    torch.manual_seed(seed)
    vae = AutoencoderKLWan(
        base_dim=3,
        z_dim=16,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
    )

    torch.manual_seed(seed)
    scheduler = FlowMatchEulerDiscreteScheduler(shift=7.0)
    tokenizer = _build_tokenizer(WAN_MAX_SEQUENCE_LENGTH)
    text_encoder = _build_text_encoder(len(tokenizer), umt5=True)

    torch.manual_seed(seed)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=16,
        out_channels=16,
        text_dim=_T5_D_MODEL,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
    )

    pipe = WanPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        scheduler=scheduler,
        transformer=transformer,
        transformer_2=None,
    )
    pipe.save_pretrained(Path(path))


def build_tiny_audio(path: Path, *, seed: int = 0) -> None:
    """Build a tiny random-weight ``StableAudioPipeline`` and save it to ``path``.

    Stereo output at :data:`AUDIO_SAMPLING_RATE` Hz, at most
    :data:`AUDIO_MAX_SECONDS` seconds long (see the module docstring).  The
    components follow diffusers' Stable Audio fast test: an
    ``AutoencoderOobleck`` (hop length 256, 3 latent channels), a two-layer
    ``StableAudioDiTModel``, a ``StableAudioProjectionModel``, a tiny T5
    encoder and an ``EDMDPMSolverMultistepScheduler``.
    ``path`` is created if needed; existing files in it are overwritten.
    """
    import torch
    from diffusers import (
        AutoencoderOobleck,
        EDMDPMSolverMultistepScheduler,
        StableAudioDiTModel,
        StableAudioPipeline,
        StableAudioProjectionModel,
    )

    torch.manual_seed(seed)
    transformer = StableAudioDiTModel(
        sample_size=_AUDIO_SAMPLE_SIZE,
        in_channels=3,
        num_layers=2,
        attention_head_dim=4,
        num_attention_heads=4,
        num_key_value_attention_heads=2,
        out_channels=3,
        cross_attention_dim=4,
        time_proj_dim=8,
        global_states_input_dim=8,
        cross_attention_input_dim=4,
    )
    # Stable Audio ships ``CosineDPMSolverMultistepScheduler``, which needs the
    # optional ``torchsde`` package; the deterministic EDM DPM-Solver++ (the
    # pipeline's declared scheduler type) has the same sigma parametrisation.
    scheduler = EDMDPMSolverMultistepScheduler(
        sigma_min=0.3,
        sigma_max=500.0,
        sigma_data=1.0,
        sigma_schedule="exponential",
        prediction_type="v_prediction",
        solver_order=2,
        algorithm_type="dpmsolver++",
    )

    torch.manual_seed(seed)
    vae = AutoencoderOobleck(
        encoder_hidden_size=6,
        downsampling_ratios=_AUDIO_DOWNSAMPLING_RATIOS,
        decoder_channels=3,
        decoder_input_channels=3,
        audio_channels=2,
        channel_multiples=[1, 1, 2, 2],
        sampling_rate=AUDIO_SAMPLING_RATE,
    )

    torch.manual_seed(seed)
    tokenizer = _build_tokenizer(_AUDIO_MAX_TOKENS)
    text_encoder = _build_text_encoder(len(tokenizer))

    torch.manual_seed(seed)
    projection_model = StableAudioProjectionModel(
        text_encoder_dim=_T5_D_MODEL,
        conditioning_dim=4,
        min_value=0,
        max_value=32,
    )

    pipe = StableAudioPipeline(
        vae=vae,
        text_encoder=text_encoder,
        projection_model=projection_model,
        tokenizer=tokenizer,
        transformer=transformer,
        scheduler=scheduler,
    )
    pipe.save_pretrained(Path(path))


def build_tiny_ltx2(path: Path, *, seed: int = 0) -> None:
    """Build a tiny random-weight ``LTX2Pipeline`` (video with its own audio) and save it to ``path``.

    The components follow diffusers' LTX-2 fast tests (``tests/pipelines/ltx2/testing_utils.py``),
    except the text encoder: a two-layer ``Gemma3ForConditionalGeneration`` (hidden size 32, a
    one-layer SigLIP vision tower) built from config instead of downloaded, with the in-memory
    WordPiece tokenizer. The vocoder upsamples by the audio VAE's hop length (160), so the audio
    runs as long as the video: 9 frames at 8 fps give ~1.1 s of stereo at 16 kHz.
    """
    import torch
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        FlowMatchEulerDiscreteScheduler,
        LTX2Pipeline,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3TextConfig, SiglipVisionConfig

    tokenizer = _build_tokenizer(LTX2_MAX_SEQUENCE_LENGTH)
    torch.manual_seed(seed)
    layers, hidden = 2, 32
    text_encoder = Gemma3ForConditionalGeneration(Gemma3Config(
        text_config=Gemma3TextConfig(
            vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=64, num_hidden_layers=layers,
            num_attention_heads=4, num_key_value_heads=1, head_dim=8, max_position_embeddings=128,
            sliding_window=16, pad_token_id=tokenizer.pad_token_id,
        ),
        vision_config=SiglipVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, image_size=16, patch_size=8),
        mm_tokens_per_image=4,
    )).eval()

    torch.manual_seed(seed)
    transformer = LTX2VideoTransformer3DModel(
        in_channels=4, out_channels=4, patch_size=1, patch_size_t=1, num_attention_heads=2, attention_head_dim=8,
        cross_attention_dim=16, audio_in_channels=4, audio_out_channels=4, audio_num_attention_heads=2,
        audio_attention_head_dim=4, audio_cross_attention_dim=8, num_layers=2, qk_norm="rms_norm_across_heads",
        caption_channels=hidden, rope_double_precision=False, rope_type="split",
    )
    torch.manual_seed(seed)
    connectors = LTX2TextConnectors(
        caption_channels=hidden, text_proj_in_factor=layers + 1, video_connector_num_attention_heads=4,
        video_connector_attention_head_dim=8, video_connector_num_layers=1, video_connector_num_learnable_registers=None,
        audio_connector_num_attention_heads=4, audio_connector_attention_head_dim=8, audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None, connector_rope_base_seq_len=32, rope_theta=10000.0,
        rope_double_precision=False, causal_temporal_positioning=False, rope_type="split",
    )
    torch.manual_seed(seed)
    vae = AutoencoderKLLTX2Video(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8,), decoder_block_out_channels=(8,),
        layers_per_block=(1,), decoder_layers_per_block=(1, 1), spatio_temporal_scaling=(True,),
        decoder_spatio_temporal_scaling=(True,), decoder_inject_noise=(False, False), downsample_type=("spatial",),
        upsample_residual=(False,), upsample_factor=(1,), timestep_conditioning=False, patch_size=1, patch_size_t=1,
        encoder_causal=True, decoder_causal=False,
    )
    torch.manual_seed(seed)
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=4, output_channels=2, ch_mult=(1,), num_res_blocks=1, attn_resolutions=None, in_channels=2,
        resolution=32, latent_channels=2, norm_type="pixel", causality_axis="height", dropout=0.0,
        mid_block_add_attention=False, sample_rate=16000, mel_hop_length=160, is_causal=True, mel_bins=8,
    )
    torch.manual_seed(seed)
    vocoder = LTX2Vocoder(
        in_channels=2 * 8, hidden_channels=32, out_channels=2, upsample_kernel_sizes=[8, 8, 20],
        upsample_factors=[4, 4, 10], resnet_kernel_sizes=[3], resnet_dilations=[[1, 3, 5]],
        leaky_relu_negative_slope=0.1, output_sampling_rate=16000,
    )
    pipe = LTX2Pipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, audio_vae=audio_vae, text_encoder=text_encoder,
        tokenizer=tokenizer, connectors=connectors, transformer=transformer, vocoder=vocoder,
    )
    pipe.save_pretrained(Path(path))


def _build_atomically(target: Path, build: Callable[..., None], seed: int) -> None:
    """Run ``build`` into a temporary sibling of ``target``, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(staging, seed=seed)
        if target.exists() and not (target / "model_index.json").is_file():
            # An incomplete leftover (e.g. from an older, non-atomic writer): replace it.
            shutil.rmtree(target)
        try:
            os.replace(staging, target)
        except OSError:
            # A concurrent builder renamed its complete copy into place first.
            if not (target / "model_index.json").is_file():
                raise
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def build_tiny_pipelines(root: Path, *, seed: int = 0) -> dict[str, Path]:
    """Build the tiny Wan, Stable Audio and LTX-2 pipelines under ``root``.

    They go to ``root / "tiny-wan"``, ``root / "tiny-audio"`` and ``root / "tiny-ltx2"``.  A directory
    that already holds a complete save (its ``model_index.json`` exists) is
    left untouched.  Each pipeline is written to a temporary directory next to
    its target and renamed into place, so an interrupted build never leaves a
    half-written pipeline behind.  Returns ``{"tiny-wan": path, "tiny-audio":
    path, "tiny-ltx2": path}``.
    """
    root = Path(root)
    builders: dict[str, Callable[..., None]] = {
        TINY_WAN: build_tiny_wan, TINY_AUDIO: build_tiny_audio, TINY_LTX2: build_tiny_ltx2,
    }
    paths: dict[str, Path] = {}
    for name, build in builders.items():
        target = root / name
        if not (target / "model_index.json").is_file():
            _build_atomically(target, build, seed)
        paths[name] = target
    return paths
