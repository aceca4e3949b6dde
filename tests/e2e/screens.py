"""What every screen of the browser client is held to: axe-core finds no serious or critical violation, and a
screenshot of it is kept in the test output (``test-output/screenshots``, or ``$HAVEN_TEST_OUTPUT/screenshots``)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from playwright.async_api import Page

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("HAVEN_TEST_OUTPUT") or ROOT / "test-output") / "screenshots"
SERIOUS = ("serious", "critical")


def _summary(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = [" ".join(map(str, node.get("target", []))) for node in v.get("nodes", [])[:5]]
        lines.append(f"{v['impact']} {v['id']}: {v['help']} at {targets}")
    return "\n".join(lines)


async def check_screen(page: Page, name: str) -> None:
    """Runs axe-core (WCAG 2.0/2.1 A and AA rules) on the page as it stands and saves a screenshot named ``name``.

    Fails with each serious or critical violation and the elements it was found on.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")
    await page.screenshot(path=str(SCREENSHOTS / f"{safe}.png"), full_page=False)
    if not await page.evaluate("() => Boolean(window.axe)"):
        # Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern (an
        # injected <script> would be refused by script-src 'self', as it should be).
        await page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
    result = await page.evaluate(
        """async () => {
            const r = await window.axe.run(document, {
              runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
              resultTypes: ["violations"],
            });
            return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.map((n) => ({target: n.target}))}));
        }"""
    )
    serious = [v for v in result if v.get("impact") in SERIOUS]
    assert not serious, f"axe on {name}:\n{_summary(serious)}"
