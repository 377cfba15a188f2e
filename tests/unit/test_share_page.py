"""The share page's HTML: link-preview tags in the studio's own <head>, every value escaped, and a
page of its own (no script) where no built studio exists."""

from atelier.api.share_page import PreviewTags, render

INDEX = (
    '<!doctype html><html><head><meta charset="utf-8"><title>Atelier</title>'
    '<script type="module" src="/assets/index-abc123.js"></script></HEAD><body><div id="root"></div></body></html>'
)
TAGS = PreviewTags(
    title="An image by Ada",
    description="Shared from Atelier.",
    url="https://studio.example.com/s/tok",
    image_url="https://studio.example.com/media/ast_1/n/thumb.webp",
)


def test_the_tags_go_into_the_studio_head_before_it_closes():
    # Given the built studio's index.html
    # When the share page is made from it
    page = render(INDEX, TAGS)
    # Then the tags sit inside <head>, and the rest of the page is untouched
    head, body = page.split("</HEAD>")
    assert '<meta property="og:title" content="An image by Ada">' in head
    assert '<meta property="og:image" content="https://studio.example.com/media/ast_1/n/thumb.webp">' in head
    assert '<meta name="twitter:card" content="summary_large_image">' in head
    assert '<meta property="og:type" content="website">' in head
    assert page.replace(head[len(INDEX.split("</HEAD>")[0]) :], "") == INDEX
    assert body == '<body><div id="root"></div></body></html>'


def test_every_value_is_html_escaped():
    # Given a display name that tries to close the attribute and open a script
    hostile = PreviewTags(
        title='An image by "><script>alert(1)</script>',
        description="a & b",
        url="https://studio.example.com/s/tok",
        image_url="https://x.test/a.webp?X-Amz-Signature=1&X-Amz-Date=2",
    )
    # When the page is made
    page = render(INDEX, hostile)
    # Then nothing of it becomes markup
    assert "<script>alert(1)</script>" not in page
    assert 'content="An image by &quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page
    assert 'content="a &amp; b"' in page
    assert "X-Amz-Signature=1&amp;X-Amz-Date=2" in page


def test_an_unavailable_link_gets_the_studio_page_without_item_tags():
    # Given no preview (a revoked, expired or taken-down link)
    page = render(INDEX, None)
    # Then the studio's page is answered as is, told only not to be indexed
    assert "og:" not in page
    assert "twitter:" not in page
    assert '<meta name="robots" content="noindex">' in page
    assert '<div id="root"></div>' in page


def test_without_a_built_studio_the_page_is_made_alone_with_the_tags_and_no_script():
    # Given no index.html
    page = render(None, TAGS)
    gone = render(None, None)
    # Then a minimal page carries the same tags, shows the picture, and runs nothing
    assert '<meta property="og:title" content="An image by Ada">' in page
    assert '<img src="https://studio.example.com/media/ast_1/n/thumb.webp" alt="An image by Ada">' in page
    assert "no longer available" in gone
    assert "og:" not in gone
    for html in (page, gone):
        assert "<script" not in html.lower()
        assert " on" not in html.lower().replace(" one", "")


def test_an_index_without_a_head_gets_the_page_made_alone():
    # Given an index.html with no </head> to insert into
    page = render("<html><body>odd</body></html>", TAGS)
    # Then the standalone page is answered instead (with the tags)
    assert page.startswith("<!doctype html>")
    assert 'property="og:title"' in page
