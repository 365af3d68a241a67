"""Schemathesis hooks for tests/openapi.rs.

WHIP and WHEP take an SDP offer, a media session's PATCH a fragment of
SDP. Besides arbitrary text, the requests carry real offers (written by
the test into PODIUM_SDP_OFFERS), so that sessions are made and the
Location of each can be followed.
"""

import os
from pathlib import Path

import schemathesis
from hypothesis import strategies as st

offers = [p.read_bytes() for p in sorted(Path(os.environ["PODIUM_SDP_OFFERS"]).glob("*.sdp"))]
if not offers:
    raise RuntimeError("no SDP offers in PODIUM_SDP_OFFERS")

text = st.text().map(str.encode)
schemathesis.openapi.media_type("application/sdp", st.one_of(st.sampled_from(offers), text))
schemathesis.openapi.media_type(
    "application/trickle-ice-sdpfrag",
    st.one_of(st.just(b"a=end-of-candidates\r\n"), text),
)
