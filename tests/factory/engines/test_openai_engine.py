"""The openai engine against a real vLLM OpenAI server (one per module) on the tiny text model.

Fast tests cover media-to-parts conversion and a port with no server; the rest start vLLM (``-m slow``).
"""

from __future__ import annotations

import base64
import io
import itertools
import re
import threading
import time
import urllib.request

import numpy as np
import pytest
from PIL import Image

from factory.engines.base import GenerationRequest, MediaInput, Sampling
from factory.engines.media_parts import media_parts, openai_messages
from factory.engines.openai_engine import OpenAIEngine
from factory.errors import UsageError
from servers import free_port, start_vllm_server

TEXT = [{"role": "user", "content": [{"type": "text", "text": "What colour is the square?"}]}]


def requests(count: int, prefix: str = "r", **sampling) -> list[GenerationRequest]:
    return [GenerationRequest(f"{prefix}{i}", TEXT, Sampling(seed=i, **sampling)) for i in range(count)]


def decode_data_url(url: str) -> tuple[str, bytes]:
    head, data = url.split(",", 1)
    return head, base64.b64decode(data)


# -- media to parts (fast) -------------------------------------------------------------------------
def tiny_video(frames: int = 3) -> MediaInput:
    rng = np.random.default_rng(0)
    array = rng.integers(0, 256, (frames, 8, 10, 3), dtype=np.uint8)
    return MediaInput("video", frames=array, fps=2.0, total_frames=6, frame_indices=[0, 2, 4][:frames],
                      uri="clip.mp4")


def test_video_frames_replace_the_placeholder_in_place():
    media = tiny_video()
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Before."}, {"type": "video", "video": "clip.mp4"},
                                     {"type": "text", "text": "After."}, {"type": "audio_clip"}]},
    ]
    snapshot = repr(messages)
    out = openai_messages(messages, media, video_mode="frames", image_format="png")
    assert repr(messages) == snapshot  # the input is not modified
    assert out[0] == {"role": "system", "content": "Be brief."}
    kinds = [part["type"] for part in out[1]["content"]]
    assert kinds == ["text", "image_url", "image_url", "image_url", "text"]  # unknown part types dropped
    for frame, part in zip(media.frames, out[1]["content"][1:4]):
        head, data = decode_data_url(part["image_url"]["url"])
        assert head == "data:image/png;base64"
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), frame)  # png is lossless


def test_jpeg_frames_and_images():
    media = tiny_video(2)
    parts = media_parts(media, "frames", "jpeg")
    assert len(parts) == 2
    head, data = decode_data_url(parts[0]["image_url"]["url"])
    assert head == "data:image/jpeg;base64"
    assert Image.open(io.BytesIO(data)).size == (10, 8)
    image = MediaInput("image", image=Image.fromarray(media.frames[0]))
    out = openai_messages([{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Q"}]}], image)
    assert [p["type"] for p in out[0]["content"]] == ["image_url", "text"]


def test_video_url_modes(tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    media = MediaInput("video", uri=str(clip))
    [part] = media_parts(media, "video_url")
    head, data = decode_data_url(part["video_url"]["url"])
    assert head == "data:video/mp4;base64" and data == clip.read_bytes()
    assert media_parts(media, "file_url")[0]["video_url"]["url"] == clip.resolve().as_uri()
    remote = MediaInput("video", uri="https://example.org/v.mp4")
    assert media_parts(remote, "video_url")[0]["video_url"]["url"] == "https://example.org/v.mp4"


def test_media_without_placeholder_goes_first_in_the_user_message_and_text_only_passes():
    media = tiny_video(1)
    out = openai_messages([{"role": "user", "content": "Describe it."}], media)
    assert [p["type"] for p in out[0]["content"]] == ["image_url", "text"]
    assert out[0]["content"][1] == {"type": "text", "text": "Describe it."}
    # No media: placeholders are dropped, text passes as it is.
    out = openai_messages([{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "Q"}]}])
    assert out == [{"role": "user", "content": [{"type": "text", "text": "Q"}]}]


def test_bad_settings_are_usage_errors():
    with pytest.raises(UsageError, match="video_mode"):
        OpenAIEngine("http://127.0.0.1:1/v1", "m", video_mode="gif")
    with pytest.raises(UsageError, match="concurrency"):
        OpenAIEngine("http://127.0.0.1:1/v1", "m", concurrency=0)


# -- no server (fast) ------------------------------------------------------------------------------
def test_a_port_without_a_server_gives_connection_errors_not_exceptions():
    engine = OpenAIEngine(f"http://127.0.0.1:{free_port()}/v1", "tiny", max_retries=2, backoff_base_s=0.01,
                          backoff_max_s=0.05, concurrency=2)
    with engine:
        results = list(engine.generate(requests(5, n=2)))
        assert engine.version == "unknown"
    assert sorted(r.request_id for r in results) == [f"r{i}" for i in range(5)]
    for result in results:
        assert result.error_kind == "connection"
        assert result.error.startswith("connection: ") and "after 2 retries" in result.error
        assert result.samples == []
    assert engine.stats["retries_connection"] == 5 * 2
    assert engine.stats["calls"] == 5 * 3


# -- a real vLLM server (slow) ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tiny_models):
    with start_vllm_server(tiny_models["text"], served_name="tiny") as handle:
        yield handle


@pytest.mark.slow
def test_n_samples_with_finish_reasons_and_token_counts(server):
    with OpenAIEngine(server.base_url, "tiny", concurrency=4) as engine:
        assert engine.version == "0.32.0"
        assert engine.endpoint == server.base_url and engine.chat_template_hash() is None
        results = list(engine.generate(requests(4, n=3, max_tokens=12)))
        assert engine.stats["calls"] == 4  # one call per request: the server honours n
    with OpenAIEngine(server.base_url, "tiny", use_n=False) as separate:
        one_by_one = {r.request_id: r for r in separate.generate(requests(4, n=3, max_tokens=12))}
        assert separate.stats["calls"] == 4 * 3 and separate.stats["topped_up_samples"] == 4 * 2
    assert sorted(r.request_id for r in results) == [f"r{i}" for i in range(4)]
    for result in results:
        assert result.error is None and len(result.samples) == 3
        assert result.prompt_tokens > 0 and result.latency_s > 0
        for sample in result.samples:
            assert sample.finish_reason in ("stop", "length")
            assert 1 <= sample.completion_tokens <= 12
            assert sample.completion_tokens == 12 or sample.finish_reason == "stop"
        # Sample i is seeded seed + i, whether the server makes it (n) or we ask for it alone.
        assert [s.text for s in result.samples] == [s.text for s in one_by_one[result.request_id].samples]


@pytest.mark.slow
def test_concurrency_is_bounded_on_both_sides(server):
    """At most 3 calls in flight, seen by the engine and by the server's own running/waiting gauges."""
    gauge = re.compile(r'^vllm:num_requests_(?:running|waiting)\{[^}]*\} (\S+)$', re.M)
    seen: list[float] = []
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            with urllib.request.urlopen(f"{server.root_url}/metrics", timeout=5) as response:
                seen.append(sum(float(v) for v in gauge.findall(response.read().decode())))
            time.sleep(0.01)

    poller = threading.Thread(target=poll, daemon=True)
    with OpenAIEngine(server.base_url, "tiny", concurrency=3) as engine:
        poller.start()
        # enough work that the server's gauges (sampled every 10 ms) are caught mid-run on a quiet machine too
        results = list(engine.generate(requests(48, max_tokens=200)))
        stop.set()
        poller.join()
    assert len({r.request_id for r in results}) == 48 and all(r.error is None for r in results)
    assert engine.observed_max_in_flight == 3
    assert seen and max(seen) <= 3
    assert max(seen) >= 2  # the server did see parallel requests


@pytest.mark.slow
def test_a_lazy_endless_input_is_pulled_a_little_ahead_only(server):
    pulled = 0

    def endless():
        nonlocal pulled
        for i in itertools.count():
            pulled += 1
            yield GenerationRequest(f"e{i}", TEXT, Sampling(max_tokens=4, seed=i))

    with OpenAIEngine(server.base_url, "tiny", concurrency=2) as engine:
        results = engine.generate(endless())
        first = next(results)
        assert first.error is None and pulled <= 2 * 2
        got = [first] + [next(results) for _ in range(9)]
        assert pulled <= len(got) + 2 * 2
        results.close()  # the caller stops early: the unfinished requests are dropped
    assert len({r.request_id for r in got}) == 10


@pytest.mark.slow
def test_structured_choice_and_logprobs(server):
    labels = ["yes", "no", "maybe"]
    with OpenAIEngine(server.base_url, "tiny") as engine:
        results = list(engine.generate(requests(3, n=4, max_tokens=8, logprobs=3, choices=labels)))
        assert engine.supports["structured_outputs"] is True and engine.stats["structured_fallbacks"] == 0
        # The server rejects an empty choice list: the request runs unconstrained, and that is recorded.
        [fallback] = engine.generate(requests(1, prefix="f", n=2, max_tokens=8, choices=[]))
        assert fallback.error is None and len(fallback.samples) == 2
        assert engine.stats["structured_fallbacks"] == 1
        # A request the server rejects for good fails alone, at once (no retries).
        calls = engine.stats["calls"]
        [bad] = engine.generate(requests(1, prefix="b", temperature=-1.0))
        assert bad.error_kind == "bad_request" and bad.error.startswith("bad_request: ") and not bad.samples
        assert engine.stats["calls"] == calls + 1
    for result in results:
        assert result.error is None and len(result.samples) == 4
        for sample in result.samples:
            assert sample.text in labels
            assert len(sample.token_logprobs) == sample.completion_tokens >= 1
            for step in sample.token_logprobs:
                assert 1 <= len(step) <= 4  # top 3, plus the sampled token when it is not among them
                assert all(isinstance(t, str) and isinstance(lp, float) and lp <= 1e-6 for t, lp in step.items())


@pytest.mark.slow
def test_requests_survive_a_server_restart_exactly_once(server):
    """Stop the server while requests are in flight, start it again: every request ends once, with samples."""
    count, outage = 24, None
    engine = OpenAIEngine(server.base_url, "tiny", concurrency=4, max_retries=400, backoff_base_s=0.2,
                          backoff_max_s=1.0, timeout_s=60)
    seen: list = []
    with engine:
        for result in engine.generate(requests(count, n=2, max_tokens=300)):
            seen.append((result, time.monotonic()))
            if outage is None:  # the other requests are in flight now
                began = time.monotonic()
                server.stop()
                stopped = time.monotonic()
                server.start()
                outage = (began, stopped, time.monotonic())
    ids = [result.request_id for result, _ in seen]
    assert sorted(ids) == sorted(f"r{i}" for i in range(count))  # none lost, none twice
    assert all(result.error is None and len(result.samples) == 2 for result, _ in seen)
    assert engine.stats["retries_connection"] > 0
    began, stopped, back = outage
    # Requests in flight at the stop were retried until the server was back: they finished after it.
    spanned = [result for result, _ in seen[1:] if result.latency_s >= back - stopped]
    assert spanned, f"no request spanned the {back - stopped:.0f} s outage; stats {dict(engine.stats)}"
    print(f"outage: stop {stopped - began:.1f} s, restart {back - stopped:.1f} s; {len(spanned)} requests "
          f"spanned it; stats {dict(engine.stats)}")
