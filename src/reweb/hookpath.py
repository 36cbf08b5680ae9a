"""Is a request path one of the SnapStart hooks' paths, however it is spelled? Pure, no I/O.

The app's own server decides what a path means, and servers disagree: nginx decodes %XX (%2F and %2e too),
merges slashes, removes dot segments and keeps `;`, `...`, ` ` as segments; Tomcat drops every `;parameter` of a
segment (`..;/`, `;jsessionid=`) before it decodes, merges slashes and removes dot segments; WHATWG URL parsers
keep empty segments (`/a//../b` is `/a/b`); IIS and Tomcat's allowBackslash=true read `\\` as `/`; Windows drops
trailing dots and spaces; C servers stop at NUL; some frameworks decode twice, compare without case, match
`/hook.json` or `/hook/anything` to `/hook`, or match a prefix without removing dot segments.

Two layers. The readings: a path is refused (403) when, at some decoding depth, a reading under some combination
of those rules (RULES) lands on a hook or below it. The safety net, for readings nobody modelled: a path that names
a hook's last segment (`before`) and, at some decoding depth, holds anything servers read differently (in_doubt:
`;`, `\\`, a decoded ? # or NUL, a control character, an empty, dot-only or space-only segment, a look-alike
separator, a combining mark) is refused whatever its readings say. Issue 18 point 1: a segment that reduces to
nothing for one reading (`/snapstart/.../../before`) is one a server keeps and `..` removes.

The hot path: printable ASCII whose lower-case form does not contain the last segment of a hook cannot read as a
hook by any rule, so most requests cost one `in` test per hook (and one per decoding round when they hold a `%`),
never a canonical form. A path that names one and is in doubt costs no canonical form either; a clean one, one
per decoding (every rule reads a clean path the same).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_ESCAPE = re.compile(r"%(?:([0-9A-Fa-f]{2})|[uU]([0-9A-Fa-f]{4}))")
# Overlong UTF-8 forms of ASCII (`%c0%ae` is "."), which lenient decoders accept: bytes held as latin-1 chars.
_OVERLONG = re.compile("[\xc0\xc1][\x80-\xbf]|\xe0[\x80-\x9f][\x80-\xbf]|\xf0[\x80-\x8f][\x80-\xbf][\x80-\xbf]")
# Characters some frameworks fold (NFKC, "best fit") onto the separators.
_LOOKALIKES = str.maketrans({"\uff0e": ".", "\u2024": ".", "\ufe52": ".", "\uff0f": "/", "\u2215": "/",
                             "\u2044": "/", "\uff3c": "\\", "\u2216": "\\", "\ufe68": "\\"})
_MAX_DEPTH = 8  # decoding rounds looked at: `%25` nested deeper than this is read by no server


def _unescape(match: re.Match[str]) -> str:
    byte, unit = match.groups()
    if byte is not None:
        return chr(int(byte, 16))
    return chr(int(unit, 16)).encode("utf-8", "surrogatepass").decode("latin-1")  # IIS's %uXXXX


def _ascii_of_overlong(match: re.Match[str]) -> str:
    data = match.group().encode("latin-1")
    lead = {2: 0x1F, 3: 0x0F, 4: 0x07}[len(data)]
    code = data[0] & lead
    for byte in data[1:]:
        code = code << 6 | byte & 0x3F
    return chr(code)


# A segment a server keeps although one reading drops it (`...`, `;x`, ` `, an empty one between `//`): it never
# matches a hook's segment, but a later `..` removes it, not the segment before it.
_KEPT = "\x00"
# The readings' rules, each a choice some server makes, in canonical()'s order: empty segments kept (WHATWG) or
# merged (nginx, Tomcat); segments that reduce to nothing (`...`, ` `, `;x` once its parameter is dropped) kept
# (nginx, Tomcat) or dropped (Windows); stop at a decoded ? or # or not; `;parameters` dropped (Tomcat) or not;
# dot segments removed or not (a router matching a prefix on the raw path); `\\` a separator (IIS) or a character
# (nginx on Linux); overlong forms, look-alikes and compatibility forms folded to ASCII or kept as bytes; tab and
# newlines dropped (WHATWG) or kept as characters (Tomcat). RULES[0] is the most lenient reading, canonical()'s
# defaults.
RULES = tuple((empty, void, stop, params, dots, backslash, fold, tabs) for tabs in (True, False)
              for fold in (True, False) for backslash in (True, False) for dots in (True, False)
              for params in (True, False) for stop in (True, False) for void in (False, True)
              for empty in (False, True))
_DOUBT = re.compile(r"[;\\?#]")
# An empty (but the last), dot-only or space-only segment, in a path without its leading slash.
_ODD = re.compile(r"(?:^|/)[. ]*/|(?:^|/)[. ]+$")


def _normalised(text: str) -> str:
    """A decoding of a path (latin-1 characters) as the readings compare it: overlong forms as ASCII, UTF-8
    decoded, compatibility forms (NFKC: full-width letters) and look-alikes as ASCII, case folded."""
    if not text.isascii():
        import unicodedata  # here: only a non-ASCII path that names a hook's last segment needs it
        text = _OVERLONG.sub(_ascii_of_overlong, text)
        text = text.encode("latin-1", "replace").decode("utf-8", "replace")
        text = unicodedata.normalize("NFKC", text).translate(_LOOKALIKES)
    return text.casefold()


def canonical(text: str, keep_empty: bool = False, keep_void: bool = False, stop: bool = True,
              params: bool = True, dots: bool = True, backslash: bool = True, fold: bool = True,
              tabs: bool = True) -> str:
    """One decoding of a path (its bytes as latin-1 characters) -> the resource it names under one reading
    (defaults: the most lenient, see RULES), lower case, no trailing slash ("" for the root)."""
    for end in "\x00?#" if stop else "\x00":  # NUL ends it in C; a decoded ? or # for a server that re-parses
        text = text.partition(end)[0]
    text = _normalised(text) if fold else text.encode("latin-1", "replace").lower().decode("latin-1")
    if backslash:
        text = text.replace("\\", "/")
    if tabs:
        text = text.replace("\t", "").replace("\n", "").replace("\r", "")
    segments = text.split("/")
    if text.startswith("/"):
        del segments[0]
    if segments and not segments[-1]:
        del segments[-1]  # a trailing slash: nothing follows it, so no `..` can remove it
    kept: list[str] = []
    for raw in segments:
        segment = raw.partition(";")[0] if params else raw
        bare = segment if keep_void else segment.rstrip(" ")
        if not dots and bare in (".", ".."):
            kept.append(bare)
        elif bare == "..":
            if kept:
                kept.pop()
        elif bare == ".":
            continue
        elif not segment:  # empty, or `;x` once its parameter is dropped (Tomcat then merges it as `//`)
            if keep_empty:
                kept.append(_KEPT)
        elif name := segment.rstrip(". "):  # Windows drops trailing dots and spaces
            kept.append(name)
        elif keep_void:
            kept.append(_KEPT)
    return "/" + "/".join(kept) if kept else ""


def in_doubt(text: str) -> bool:
    """True when servers may read this decoding of a path differently, by rules modelled here or not: it holds
    a `;`, a backslash, a ? or #, a control or other non-printable character, an empty (but the last),
    dot-only or space-only segment, an overlong form, or a non-ASCII character that folds onto ASCII punctuation
    or space. A path in doubt that names a hook's last segment is refused whatever its readings say."""
    if not text.isascii():
        if _OVERLONG.search(text):
            return True
        import unicodedata  # rare, as in _normalised
        for char in text.encode("latin-1", "replace").decode("utf-8", "replace"):
            if not char.isascii() and (ord(char) in _LOOKALIKES or unicodedata.combining(char) or any(
                    folded.isascii() and not folded.isalnum() for folded in unicodedata.normalize("NFKC", char))):
                return True  # a combining mark: NFKC composes it with the letter before, a framework may drop it
        text = _normalised(text)
    if not text.isprintable() or _DOUBT.search(text) is not None:
        return True
    slashed = text if text.startswith("/") else "/" + text
    if "//" not in slashed and "/." not in slashed and "/ " not in slashed:
        return False  # every segment starts with something else: none is empty, dot-only or space-only
    return _ODD.search(slashed[1:]) is not None


def _at_depth(text: str) -> list[str]:
    """The canonical forms of one decoding of a path under every rule (one when it is not in doubt), as it is
    and after a leading `//authority` (a parser that takes `//host/p` for a network-path reference)."""
    texts = [text]
    slashed = text.replace("\\", "/")
    if slashed.startswith("//"):
        _authority, slash, rest = slashed[2:].partition("/")
        texts.append(slash + rest)
    found: list[str] = []
    for one in texts:
        for rule in _rules_for(one) if in_doubt(one) else RULES[:1]:
            reading = canonical(one, *rule)
            if reading not in found:
                found.append(reading)
    return found


def _rules_for(text: str) -> list[tuple[bool, ...]]:
    """The rules that can read `text` differently: a choice about something `text` does not hold is left at
    its default."""
    fixed = RULES[0]
    free = [True, True, any(end in text for end in "?#"), ";" in text, True, "\\" in text, not text.isascii(),
            any(char in text for char in "\t\n\r")]
    return [rule for rule in RULES if all(free[i] or rule[i] == fixed[i] for i in range(len(rule)))]


_PARAMETERS = re.compile(r";[^/]*")
_MAX_TEXTS = 32


def _decodings(text: str) -> list[str]:
    """`text` raw, decoded once, twice... while a round changes it, at most _MAX_DEPTH rounds; and where it holds
    a `;`, also decoded after its `;parameters` are dropped (Tomcat drops them before it decodes)."""
    found = [text]
    frontier = [text]
    for _ in range(_MAX_DEPTH - 1):
        following: list[str] = []
        for one in frontier:
            if "%" not in one:
                continue
            for source in (one, _PARAMETERS.sub("", one)) if ";" in one else (one,):
                decoded = _ESCAPE.sub(_unescape, source)
                if decoded != source and decoded not in found and len(found) < _MAX_TEXTS:
                    found.append(decoded)
                    following.append(decoded)
        if not following:
            break
        frontier = following
    return found


def readings(path: str) -> list[str]:
    """Every canonical form of `path` (its bytes as latin-1 characters), at every decoding depth, every rule."""
    found: list[str] = []
    for text in _decodings(path):
        for reading in _at_depth(text):
            if reading not in found:
                found.append(reading)
    return found


def _as_bytes(path: str) -> str:
    """A path's characters -> its UTF-8 bytes as latin-1 characters, the form `canonical` reads (a request's
    path is ASCII already: what a target cannot hold raw is percent-encoded by then)."""
    return path if path.isascii() else path.encode("utf-8", "surrogatepass").decode("latin-1")


class HookPaths:
    """The hooks' paths, normalised once at start; `refuses(path)` for every request when any is set."""

    __slots__ = ("keys", "tails")

    def __init__(self, paths: Iterable[str]) -> None:
        self.keys = frozenset(key for path in paths for key in readings(_as_bytes(path)))
        # The last segment of each hook: a path none of whose decodings (normalised) holds one cannot read as a
        # hook, and needs no canonical form.
        self.tails = tuple({key.rpartition("/")[2] for key in self.keys})

    def __bool__(self) -> bool:
        return bool(self.keys)

    def _matches(self, reading: str) -> bool:
        return any(reading == key or (key and reading.startswith(key) and reading[len(key)] in "/.")
                   for key in self.keys)

    def reads_as_hook(self, path: str) -> bool:
        """The readings alone: True when some reading of `path` is a hook's path or below it."""
        return any(self._matches(reading) for reading in readings(_as_bytes(path)))

    def _named(self, texts: list[str]) -> bool:
        """Whether a hook's last segment is in some decoding (normalised as the readings read it): a reading's
        segments are pieces of its text, so a path that names none cannot read as a hook."""
        for text in texts:
            if text.isascii() and text.isprintable():
                forms = [text.lower()]
            else:  # as folded and as bytes (NFKC can fold a tail's last letter away); tab, zero-width... dropped
                forms = ["".join(char for char in form if char.isprintable()) for form in (
                    _normalised(text), text.encode("latin-1", "replace").lower().decode("latin-1"))]
            for lowered in forms:
                for tail in self.tails:
                    if tail in lowered:
                        return True
        return False

    def refuses(self, path: str) -> bool:
        """True when some server could read `path` as a hook's path, or below it (`/hook/x`, `/hook.json`):
        when a reading says so, and, whatever the readings say, when it names a hook's last segment and some
        decoding of it is in doubt (servers may read it differently, by rules modelled here or not)."""
        if "%" not in path and path.isascii() and path.isprintable():  # most requests end here
            lowered = path.lower()
            for tail in self.tails:
                if tail in lowered:
                    break
            else:
                return False
        texts = _decodings(_as_bytes(path))
        if not self._named(texts):
            return False  # the common case with a %: nothing here could be a hook
        for text in texts:
            if in_doubt(text):
                return True  # the safety net
        # Nothing in doubt: every rule reads each text the same (so one canonical form each), and none starts
        # with `//` (an empty segment), so none holds an authority.
        return any(self._matches(canonical(text)) for text in texts)
