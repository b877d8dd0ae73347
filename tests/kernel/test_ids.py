"""Issue 18 (LC-1, LC-4 at scale): ids and secrets drawn a batch at a time are the ones drawn
one at a time — same shape, all different."""

from __future__ import annotations

import re

from carnet.ids import looks_like_id, new_id, new_ids, new_secret, new_secrets


def test_issue_18_a_batch_of_ids_is_ids_each_new() -> None:
    ids = new_ids(2000)
    assert len(ids) == 2000
    assert len(set(ids)) == 2000
    assert all(looks_like_id(i) for i in ids)
    assert looks_like_id(new_id())
    assert new_ids(0) == []


def test_issue_18_lc_4_a_batch_of_codes_has_the_shape_of_one_code() -> None:
    codes = new_secrets(2000, 16)
    one = new_secret(16)
    shape = re.compile(r"[A-Za-z0-9_-]{22}")
    assert shape.fullmatch(one)
    assert all(shape.fullmatch(c) for c in codes)
    assert len(set(codes)) == 2000
    assert all(len(c) == len(new_secret()) for c in new_secrets(10))
