"""The report email's HTML part as a mail client shows it: rendered by headless Chromium with its cid: images.

The check script is added to a copy of the page only (the email carries no script): it reports every image that
did not load, and the page's laid-out width. A screenshot is kept in the test's folder; the reference image in
``docs/images/monthly-report-email.png`` was taken the same way and checked by eye.
"""

from __future__ import annotations

import base64
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from PIL import Image

from tests.support.chromium import dump_dom, screenshot
from tests.support.connect_world import ENTERPRISE_ID
from tests.support.report_world import REPORT_MONTH, ReportWorld

CHECK = """<script>
window.addEventListener("load", () => {
  const broken = [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt);
  const verdict = document.createElement("pre");
  verdict.id = "verdict";
  verdict.textContent = JSON.stringify({images: document.images.length, broken, width: document.body.scrollWidth});
  document.body.appendChild(verdict);
});
</script>"""


def html_with_inlined_images(message: EmailMessage) -> str:
    """The HTML part with each ``cid:`` replaced by its related part, as a mail client resolves it."""
    html_part = message.get_body(("html",))
    assert html_part is not None
    html = html_part.get_content()
    related = {part["Content-ID"].strip("<>"): part for part in message.walk() if part["Content-ID"] is not None}

    def inline(match: re.Match[str]) -> str:
        part = related.get(match.group(1))
        if part is None:
            return 'src="cid:missing"'
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        return f'src="data:{part.get_content_type()};base64,{base64.b64encode(payload).decode()}"'

    return re.sub(r'src="cid:([^"]+)"', inline, html)


@pytest.fixture(scope="module")
def emailed() -> EmailMessage:
    world = ReportWorld()
    world.use_case().run(ENTERPRISE_ID, REPORT_MONTH)
    [sent] = world.sync.mailer.sent
    parsed = message_from_bytes(bytes(sent), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _verdict(page: Path) -> str:
    dom = dump_dom(page)
    found = re.search(r'<pre id="verdict">(.*?)</pre>', dom, re.S)
    assert found, "the page did not finish loading"
    return found.group(1)


def test_the_html_part_renders_with_every_image(emailed: EmailMessage, tmp_path: Path) -> None:
    import json

    page = tmp_path / "report.html"
    html = html_with_inlined_images(emailed)
    page.write_text(html.replace("</body>", CHECK + "</body>"))
    verdict = json.loads(_verdict(page).replace("&quot;", '"'))
    assert verdict["images"] == 2
    assert verdict["broken"] == []
    assert verdict["width"] <= 720  # the 640 px layout, no horizontal scrolling in a mail pane

    shot = tmp_path / "report.png"
    page.write_text(html)
    screenshot(page, shot)
    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None
    assert len(colours) > 50  # text and charts, not a blank page


def test_a_missing_image_is_caught(emailed: EmailMessage, tmp_path: Path) -> None:
    """The check itself: an HTML part whose cid: has no related part shows a broken image."""
    import json

    page = tmp_path / "broken.html"
    html = html_with_inlined_images(emailed)
    html = re.sub(r'src="data:image/png;base64,[^"]+"', 'src="cid:missing"', html, count=1)
    page.write_text(html.replace("</body>", CHECK + "</body>"))
    verdict = json.loads(_verdict(page).replace("&quot;", '"'))
    assert len(verdict["broken"]) == 1
