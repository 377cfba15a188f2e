"""The share page's HTML: the studio's own index.html with Open Graph and Twitter card tags in its
<head>, so a posted link previews with the item; or, where no built studio exists, a minimal page
of its own (no script at all) that carries the same tags. Every value is HTML-escaped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

SITE_NAME = "Atelier"
_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class PreviewTags:
    title: str
    description: str
    url: str
    image_url: str | None
    image_width: int | None = None
    image_height: int | None = None


def meta_tags(tags: PreviewTags) -> str:
    pairs: list[tuple[str, str, str]] = [
        ("property", "og:site_name", SITE_NAME),
        ("property", "og:type", "website"),
        ("property", "og:title", tags.title),
        ("property", "og:description", tags.description),
        ("property", "og:url", tags.url),
        ("name", "twitter:card", "summary_large_image" if tags.image_url else "summary"),
        ("name", "twitter:title", tags.title),
        ("name", "twitter:description", tags.description),
    ]
    if tags.image_url:
        pairs += [("property", "og:image", tags.image_url), ("name", "twitter:image", tags.image_url)]
        if tags.image_width and tags.image_height:
            pairs += [
                ("property", "og:image:width", str(tags.image_width)),
                ("property", "og:image:height", str(tags.image_height)),
            ]
    lines = [f'<meta {kind}="{escape(name)}" content="{escape(value)}">' for kind, name, value in pairs]
    # A link shared privately is not for search engines.
    lines.append('<meta name="robots" content="noindex">')
    return "\n".join(lines)


def render(index_html: str | None, tags: PreviewTags | None) -> str:
    """The page: the studio's index.html with the tags (or none, for an unavailable link) added
    before </head>; a page of its own where there is no index.html."""
    head = meta_tags(tags) if tags is not None else '<meta name="robots" content="noindex">'
    if index_html is not None:
        match = _HEAD_END.search(index_html)
        if match is not None:
            return f"{index_html[: match.start()]}{head}\n{index_html[match.start() :]}"
    return _standalone(head, tags)


def _standalone(head: str, tags: PreviewTags | None) -> str:
    if tags is None:
        title = "This link is no longer available"
        body = "<h1>This link is no longer available</h1><p>It was revoked, it expired, or the item was removed.</p>"
    else:
        title = tags.title
        picture = f'<p><img src="{escape(tags.image_url)}" alt="{escape(tags.title)}"></p>' if tags.image_url else ""
        body = f"<h1>{escape(tags.title)}</h1>{picture}<p>{escape(tags.description)}</p>"
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} · {SITE_NAME}</title>\n{head}\n</head>\n"
        f'<body><main>{body}<p><a href="/">Open {SITE_NAME}</a></p></main></body>\n</html>\n'
    )
