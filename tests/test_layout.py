"""The frame of every page: the icon browsers ask for, the skip link, the menu button."""

from __future__ import annotations


def test_favicon_ico_answers_200(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/x-icon"
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an .ico file


def test_pages_link_the_svg_icon_and_skip_to_the_content(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.svg"' in html
    assert 'class="skip-link" href="#main"' in html
    assert '<main class="container" id="main"' in html
    assert 'aria-controls="site-menu"' in html
