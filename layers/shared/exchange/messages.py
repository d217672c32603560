"""The orders queue's one message schema, shared by its producers (the api, the scheduler's sweep)
and its consumer (the matcher handler): a message tells the stock's sequencer to take a new order,
cancel one, or expire one, or to halt or resume the stock's trading (``order_id``: the request's id,
``user_id``: the admin's, ``reason`` optional). A body that does not parse is poison: it fails its
own message group only, and reaches the DLQ after the queue's maxReceiveCount."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MessageKind = Literal["new", "cancel", "expire", "halt", "resume"]


class OrderMessage(BaseModel):
    # unknown fields are ignored, so a producer deployed ahead of the consumer cannot poison it
    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    kind: MessageKind
    symbol: Annotated[str, Field(pattern=r"^[A-Z]{1,8}$")]
    order_id: Annotated[str, Field(min_length=1, max_length=64)]
    user_id: Annotated[str, Field(min_length=1, max_length=64)]
    reason: Annotated[str, Field(max_length=200)] | None = None  # halt / resume only

    def to_body(self) -> str:
        return self.model_dump_json(exclude_none=True)


class PoisonMessage(ValueError):
    """A queue body that is not an ``OrderMessage`` (not JSON, unknown kind, missing field)."""


def parse_body(body: str) -> OrderMessage:
    try:
        return OrderMessage.model_validate_json(body)
    except ValidationError as exc:
        raise PoisonMessage(f"not an order message: {exc.error_count()} error(s)") from exc
