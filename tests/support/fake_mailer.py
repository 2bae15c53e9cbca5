"""``FakeMailer``: keeps the messages it is given; ``down`` makes it fail like an unreachable relay."""

from __future__ import annotations

from email.message import EmailMessage

from shared.errors import DependencyUnavailable


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.down = False

    def send(self, message: EmailMessage) -> None:
        if self.down:
            raise DependencyUnavailable("the mail relay is unavailable (fake outage)")
        self.sent.append(message)
