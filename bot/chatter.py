"""Which messages in a Q&A channel or a citebot thread are questions.

There every message reaches citebot without being addressed to it, and a reply to "thanks!" would
be noise ("The indexed articles don't say."). A message is a question unless it is one of these:

- no letters at all (an emoji, "???", "+1");
- only a link (or links);
- only chatter words ("thanks", "lol", "ok cool", "thank you so much");
- at most two words with no "?" and no question word ("great job", "makes sense").

So "who led the protest" without "?" is a question, and so are "when?", "what else" and "and
after that" in a thread. A mention or ``/ask`` is always a question: whoever addresses the bot
gets an answer.
"""

from __future__ import annotations

import re

_LINK = re.compile(r"<?https?://\S+>?")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_QUESTION_WORDS = frozenset(
    """who whom whose what which when where why how is are was were do does did can could will would
    should shall has have had may might must whats whos wheres hows""".split()
)
_CHATTER = frozenset(
    """thanks thank thx ty you so much very lot a lol lmao rofl haha hah ok okay k cool nice great
    awesome wow yes yeah yep no nope sure good bad hi hello hey bye cheers please pls np gg oh ah hmm
    fine perfect""".split()
)


def is_question(text: str) -> bool:
    """Whether a message that is not addressed to the bot asks it something (module rules)."""
    rest = _LINK.sub(" ", text)
    words = [w.lower() for w in _WORD.findall(rest)]
    if not words:
        return False  # emoji, punctuation, links only
    if all(w in _CHATTER for w in words):
        return False
    return "?" in rest or any(w in _QUESTION_WORDS for w in words) or len(words) > 2
