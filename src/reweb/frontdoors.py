"""The AWS front doors reweb serves, in one list: what each is called (every spelling the CLI takes), the event
kind it sends, the largest buffered result it accepts, whether it can stream, and its SAM template.

The events (events/), the emulator's gateways (local/gateways/, keyed by these names) and `reweb init`
(scaffold/) all read this list. Pure data, nothing imported: the adapter loads it at every cold start.
"""

from __future__ import annotations

MB = 1024 * 1024
LAMBDA_LIMIT = 6 * MB  # Lambda's buffered invocation result
ALB_LIMIT = 1 * MB  # ALB's own limit on a Lambda target's answer


class FrontDoor:
    """One front door. `name` is the spelling `reweb init`, the templates and docs/deploy.md use."""

    __slots__ = ("aliases", "kind", "name", "response_limit", "streams", "template")

    def __init__(self, name: str, aliases: tuple[str, ...], kind: str, response_limit: int, streams: bool,
                 template: str) -> None:
        self.name = name
        self.aliases = aliases  # other spellings the CLI takes (`reweb local --source rest`, `--front-door url`)
        self.kind = kind  # the events.Kind its events are (events.detect's name)
        self.response_limit = response_limit  # bytes of the buffered JSON result it accepts
        self.streams = streams  # can carry Lambda response streaming
        self.template = template  # in deploy/sam/; its stem is the Terraform module's front_door

    @property
    def terraform(self) -> str:
        """The Terraform module's `front_door` (alb-multi is alb with alb_multi_value_headers)."""
        return self.template.removesuffix(".yaml")

    def __repr__(self) -> str:
        return f"FrontDoor({self.name!r})"


FRONT_DOORS = (
    FrontDoor("function-url", ("url",), "http-api", LAMBDA_LIMIT, True, "function-url.yaml"),
    FrontDoor("http-api", (), "http-api", LAMBDA_LIMIT, False, "http-api.yaml"),
    # REST APIs stream since 2025 (response transfer mode STREAM).
    FrontDoor("rest-api", ("rest",), "rest", LAMBDA_LIMIT, True, "rest-api.yaml"),
    FrontDoor("alb", (), "alb", ALB_LIMIT, False, "alb.yaml"),
    FrontDoor("alb-multi", ("alb-multi-value",), "alb-multi", ALB_LIMIT, False, "alb.yaml"),
    # VPC Lattice allows 6 MB answers from Lambda targets, not ALB's 1 MB.
    FrontDoor("lattice", ("vpc-lattice",), "lattice-v2", LAMBDA_LIMIT, False, "lattice.yaml"),
)

NAMES = tuple(door.name for door in FRONT_DOORS)
_BY_SPELLING = {spelling: door for door in FRONT_DOORS for spelling in (door.name, *door.aliases)}
SPELLINGS = tuple(_BY_SPELLING)  # every spelling, each name followed by its aliases


def find(spelling: str) -> FrontDoor | None:
    """The front door a name or alias spells, or None."""
    return _BY_SPELLING.get(spelling)


def response_limit(kind: str) -> int:
    """The buffered result limit of an event kind: its front door's, else Lambda's own."""
    return min((door.response_limit for door in FRONT_DOORS if door.kind == kind), default=LAMBDA_LIMIT)
