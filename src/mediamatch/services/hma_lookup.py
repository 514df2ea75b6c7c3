"""The platform matcher answering as Hasher-Matcher-Actioner (HMA) does, so a platform that calls
HMA's matching API moves to mediamatch by changing a base URL.

HMA (facebook/ThreatExchange, hasher-matcher-actioner, `OpenMediaMatch/blueprints/matching.py`
and `hashing.py`) matches one signal per call, names its signal types as python-threatexchange
does, and answers with content ids (`raw_lookup`) or with the names of the banks that hold a
match (`lookup`). Here a bank is the hash list: a hit answers `[<list name>]`, the content id is
the indicator (a platform reports it back as it reports any indicator), and for a whole video
it is the video's id (the indicator of its first frame). What differs, and why:

- a vPDQ signal matches by the rule the caller picks (`rule`: `query`, `known` or `both`); the
  default here is HMA's own (80% of the query's frames, python-threatexchange's index rule),
  while `POST /v1/lookup` defaults to the vPDQ README's (80% of the known video);
- HMA's coin-flip sampling of banks (`matching_enabled_ratio`, `seed`) does not exist: a list
  is matched whole or not loaded;
- files are hashed by the server only where the operator enables it (`--hash-media`), and a URL
  is fetched only if it passes the same address checks as agencies' webhooks (no private,
  loopback or link-local address; https unless the address is on the allow-list; no redirects).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from mediamatch.media.hashing import hash_bytes
from mediamatch.services.platform_matcher import HashListMatcher
from mediamatch.services.video_lookup import VideoRule, parse_video_signal
from mediamatch.services.webhooks import Resolver, WebhookPolicy, check_webhook, resolve
from mediamatch.signals.registry import resolve_signal
from mediamatch.signals.vpdq import format_vpdq

# What HMA hashes for each content type, by its names: (HMA name, our signal).
CONTENT_SIGNALS = {"photo": (("pdq", "pdq"),), "video": (("video_md5", "md5"), ("vpdq", "vpdq"))}
HMA_VIDEO_RULE = VideoRule.QUERY
MAX_FETCH_BYTES = 200 * 1024 * 1024
FETCH_TIMEOUT_S = 30.0


class HmaRequestError(ValueError):
    """A request HMA would answer with 400; the message says why."""


@dataclass(frozen=True, slots=True)
class RawMatch:
    content_id: int
    distance: str  # as HMA writes it: PDQ's bit count; for a video "query%,known%"


def signal_of(signal_type: str) -> str:
    """The list's signal for an HMA signal type name (python-threatexchange's names, or ours;
    case-insensitive), from the one table of outside names the signals declare."""
    found = resolve_signal(signal_type)
    if found is None:
        raise HmaRequestError(f"No such SignalType '{signal_type}'")
    return found.name


def raw_lookup(matcher: HashListMatcher, signal_type: str, signal: str, rule: VideoRule = HMA_VIDEO_RULE) -> list[RawMatch]:
    """HMA's `raw_lookup`: the content ids matching one signal, nearest first."""
    name = signal_of(signal_type)
    try:
        if name == "vpdq" and not _one_frame(signal):
            answers = matcher.lookup_video(parse_video_signal(signal), rule)
            return [RawMatch(a.video, f"{100 * a.query_share:.1f},{100 * a.known_share:.1f}") for a in answers if a.match]
        return [RawMatch(hit.indicator, str(hit.distance)) for hit in matcher.lookup(name, signal)]
    except ValueError as exc:
        raise HmaRequestError(f"invalid signal: {exc}") from None


def banks(matcher: HashListMatcher, signal_type: str, signal: str, rule: VideoRule = HMA_VIDEO_RULE) -> list[str]:
    """HMA's `lookup`: the banks holding a match; here the one list, or none."""
    return [matcher.name] if raw_lookup(matcher, signal_type, signal, rule) else []


def hash_media(data: bytes, content_type: str) -> dict[str, str]:
    """HMA's hashing of an upload: {HMA signal type: value} for the content type's signals (a
    video's vPDQ in Meta's text form, which `raw_lookup` reads back)."""
    wanted = CONTENT_SIGNALS.get(content_type)
    if wanted is None:
        raise HmaRequestError(f"no such content_type: '{content_type}'")
    record = hash_bytes(data, f"upload.{content_type}")
    if record.error:
        raise HmaRequestError(f"cannot hash the {content_type}: {record.error}")
    found = {}
    for hma_name, signal in wanted:
        value = format_vpdq(record.frames) if signal == "vpdq" and record.frames else record.value(signal)
        if value:
            found[hma_name] = value
    return found


def content_type_of(given: str | None, media_type: str) -> str:
    """HMA's rule: the `content_type` parameter, else photo/video by the response's type."""
    if given:
        return given
    kind = media_type.split("/", 1)[0].strip().lower()
    if kind == "image":
        return "photo"
    if kind == "video":
        return "video"
    raise HmaRequestError(f"unsupported url ContentType: '{media_type}', if you know the expected type, provide it with the content_type query param")


def fetch(url: str, policy: WebhookPolicy, *, resolver: Resolver = resolve, max_bytes: int = MAX_FETCH_BYTES) -> tuple[bytes, str]:
    """The body and content type at `url`, fetched from the address the webhook checks passed
    (a URL that resolves to a private address is refused before any connection)."""
    target = check_webhook(url, policy, resolver)
    parts = urlsplit(url)
    literal = f"[{target.address}]" if target.address.version == 6 else str(target.address)
    pinned = urlunsplit((parts.scheme, f"{literal}:{target.port}", parts.path or "/", parts.query, ""))
    extensions = {"sni_hostname": target.host} if target.secure else {}
    with httpx.Client(timeout=FETCH_TIMEOUT_S, follow_redirects=False, trust_env=False) as client:
        request = client.build_request("GET", pinned, headers={"Host": parts.netloc.rpartition("@")[2]}, extensions=extensions)
        response = client.send(request, stream=True)
        try:
            if response.status_code != 200:
                raise HmaRequestError(f"fetching the url answered HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise HmaRequestError(f"the url's content is over {max_bytes} bytes")
        finally:
            response.close()
        return bytes(body), response.headers.get("content-type", "")


def lookup_hashed(matcher: HashListMatcher, hashes: dict[str, str]) -> dict[str, list[str]]:
    """HMA's answer for hashed content: {signal type: banks}."""
    return {signal_type: banks(matcher, signal_type, value) for signal_type, value in hashes.items()}


def _one_frame(signal: str) -> bool:
    """A bare 64-hex value is one frame hash, looked up as such."""
    text = signal.strip()
    return len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text)
