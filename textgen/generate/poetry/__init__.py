"""Classical Chinese poetry forms as sampler constraints: 五绝 七绝 五律 七律, 藏头, 平水韵, 平仄.

Owns the 平水韵 table by character (`table`: tones and 平声 rhyme groups, loaded
once, on first use, in the vocabulary's script), the same per vocabulary id
(`lexicon`), the forms and tone templates as data (`forms`), what a request asks
for and its options declared once (`spec`), one constraint per rule (`rules`:
shape, heads, rhyme, tones, no repeats), their composition with relaxation
(`poem`) and a checker independent of the masks (`check`).

Importing this package loads no table: the first rule that runs does.
"""
