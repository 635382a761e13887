"""The managers' dashboard (managers.md): ``gp dashboard`` serves this Streamlit script.

Five pages over the published warehouse, read-only, in Chinese: 总览, 机会, 地区, 细分变化, 转化. The
sidebar's filters (run, segment, province, customer type, sales rep) apply to every page. With a users
file (``gp dashboard --users``) nothing is shown before a user signs in, and each page shows what the
user's role allows (``auth.py``).
"""
from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:          # `streamlit run dashboard/app.py` puts only dashboard/ on the path
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from dashboard import ui  # noqa: E402

st.set_page_config(page_title="绿电营销看板", page_icon=":material/bolt:", layout="wide")

PAGES = [
    st.Page("screens/overview.py", title="总览", icon=":material/dashboard:", default=True),
    st.Page("screens/opportunities.py", title="机会", icon=":material/savings:", url_path="opportunities"),
    st.Page("screens/regions.py", title="地区", icon=":material/map:", url_path="regions"),
    st.Page("screens/segment_changes.py", title="细分变化", icon=":material/swap_horiz:", url_path="segment-changes"),
    st.Page("screens/conversion.py", title="转化", icon=":material/call:", url_path="conversion"),
]

if not ui.login_gate():                # a users file is configured and nobody has signed in yet
    st.stop()
page = st.navigation(PAGES)
st.sidebar.markdown("**绿电营销看板**")
ui.run_page(page)
