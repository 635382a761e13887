"""HTML and PDF for one offer: the Jinja environment, the compiled stylesheet, WeasyPrint.

An :class:`OfferRenderer` is built once per process (a render worker, or the benchmark) and holds
everything that is expensive to build and safe to reuse across documents: the Jinja environment,
one ``FontConfiguration`` and the compiled ``CSS``. :func:`render_offer_html` and
:func:`html_to_pdf` use the process's default renderer, so the benchmark can time WeasyPrint alone
on exactly the HTML the pipeline renders.

The context of a document is ``{"offer": build_offer(...), "meta": offer_meta(...)}``; the
branding is added here.
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import jinja2
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from offers.branding import Branding, load_branding
from offers.fetcher import AssetsOnlyFetcher
from offers.formatting import FILTERS
from offers.paths import ASSETS_DIR, TEMPLATES_DIR
from offers.pdffonts import compact_fonts

STYLESHEET = "offer.css"


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        # customer fields are data, never markup: escape everything except our own stylesheet
        autoescape=lambda name: not (name or "").endswith(".css"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(FILTERS)
    return env


class OfferRenderer:
    def __init__(self, branding: Branding | None = None):
        self.branding = branding or load_branding()
        self.brand = self.branding.model_dump()
        self.env = make_environment()
        self.fetcher = AssetsOnlyFetcher(ASSETS_DIR)
        self.base_url = ASSETS_DIR.resolve().as_uri() + "/"
        self.font_config = FontConfiguration()
        css_text = self.env.get_template(STYLESHEET).render(brand=self.brand)
        self.css = CSS(string=css_text, base_url=self.base_url, url_fetcher=self.fetcher,
                       font_config=self.font_config)

    def html(self, context: Mapping[str, Any]) -> str:
        offer = context["offer"]
        template = self.env.get_template(f"{offer['segment']}.html")
        return template.render(offer=offer, meta=context["meta"], brand=self.brand)

    def pdf(self, html: str, problems: list[str] | None = None) -> tuple[bytes, int]:
        """PDF bytes and page count (WeasyPrint's own). What went wrong without failing the document
        (a font left uncompacted) is appended to ``problems``."""
        document = HTML(string=html, base_url=self.base_url, url_fetcher=self.fetcher).render(
            font_config=self.font_config, stylesheets=[self.css])
        return document.write_pdf(finisher=partial(compact_fonts, problems=problems)), len(document.pages)


_DEFAULT: OfferRenderer | None = None


def get_renderer(branding: Branding | None = None) -> OfferRenderer:
    """The process's renderer, built on first use (or rebuilt for a different branding)."""
    global _DEFAULT
    if _DEFAULT is None or (branding is not None and branding != _DEFAULT.branding):
        _DEFAULT = OfferRenderer(branding)
    return _DEFAULT


def render_offer_html(context: Mapping[str, Any]) -> str:
    return get_renderer().html(context)


def html_to_pdf(html: str) -> bytes:
    return get_renderer().pdf(html)[0]
