"""What counts as a Han (Chinese) character: one definition for jieba and the presets."""

from __future__ import annotations

import re

# Han ideographs: 〇, CJK Unified (Ext. A, basic block, Ext. B-G), compatibility block.
HAN_RUN = re.compile("([\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+)")


def han_count(text: str) -> int:
    """The number of Han characters in `text`."""
    return sum(map(len, HAN_RUN.findall(text)))
