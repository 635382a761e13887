"""Tailored PDF offers: one per account, from the run's frames (offers.md).

Public API for the flow::

    from offers import render_offers, write_manifest
    offers = render_offers(accounts, results, scenarios, segments, playbooks, assumptions,
                           run_id, rules_version, out_dir, previous=None, workers=2, progress=True)
    write_manifest(offers, accounts, segments, out_dir)

The modules are imported lazily so that ``import offers`` does not import WeasyPrint.
"""
from __future__ import annotations

__all__ = [
    "OFFERS_SCHEMA", "OfferPool", "iter_plan", "plan_offers", "render_jobs", "render_offers", "write_manifest",
    "render_offer_html", "html_to_pdf", "build_offer", "offer_filename", "load_branding",
]

_WHERE = {
    "OFFERS_SCHEMA": "offers.rows", "OfferPool": "offers.pool", "iter_plan": "offers.plan", "plan_offers": "offers.plan",
    "render_jobs": "offers.worker", "render_offers": "offers.render", "write_manifest": "offers.manifest",
    "render_offer_html": "offers.engine", "html_to_pdf": "offers.engine", "build_offer": "offers.context",
    "offer_filename": "offers.filenames", "load_branding": "offers.branding",
}


def __getattr__(name: str):
    if name in _WHERE:
        import importlib
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(name)
