"""Reading a rendered report back: the statuses it shows, its counts, its attributes."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass(slots=True)
class Badge:
    ref: str
    status: str
    text: str = ""


class Page(HTMLParser):
    """Collects status badges (``data-ref``/``data-status``) and every tag's attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.badges: list[Badge] = []
        self.attributes: list[dict[str, str]] = []
        self.tags: list[str] = []
        self._open: Badge | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        self.attributes.append({"tag": tag, **values})
        if "badge" in values.get("class", "").split() and "data-ref" in values:
            self._open = Badge(values["data-ref"], values["data-status"])

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._open is not None:
            self._open.text = self._open.text.strip()
            self.badges.append(self._open)
            self._open = None

    def with_attribute(self, name: str) -> list[dict[str, str]]:
        return [a for a in self.attributes if name in a]

    def statuses_of(self, ref: str) -> set[str]:
        return {b.status for b in self.badges if b.ref == ref} | {b.text for b in self.badges if b.ref == ref}


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page
