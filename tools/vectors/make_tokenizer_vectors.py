#!/usr/bin/python3
"""Reference vectors for src/model/text/slow/: a SentencePiece model and SiglipTokenizer ids.

Trains a small unigram SentencePiece model (ids laid out like SigLIP's: 0 <pad>, 1 </s>, 2 <unk>,
no <s>; the default nmt_nfkc normaliser) on tests/data/tokenizers/sentencepiece_corpus.txt and
writes it as tests/data/tokenizers/spiece.model, then tokenises varied strings the way
transformers' SiglipTokenizer does (reimplemented below, without transformers) and writes
tests/data/tokenizers/siglip_vectors.json.

Rerun from the project root (Debian's python3-sentencepiece):
    /usr/bin/python3 tools/vectors/make_tokenizer_vectors.py
"""
import io
import json
import re
import string

import sentencepiece as spm

CORPUS = "tests/data/tokenizers/sentencepiece_corpus.txt"
MODEL = "tests/data/tokenizers/spiece.model"
VECTORS = "tests/data/tokenizers/siglip_vectors.json"
CONTEXT = 64
SPIECE_UNDERLINE = "\u2581"
UNK, EOS, PAD = "<unk>", "</s>", "</s>"  # SiglipTokenizer's defaults: pad_token is "</s>"

spm.set_random_generator_seed(0)
buffer = io.BytesIO()
spm.SentencePieceTrainer.train(
    input=CORPUS,
    model_writer=buffer,
    vocab_size=400,
    model_type="unigram",
    pad_id=0,
    eos_id=1,
    unk_id=2,
    bos_id=-1,
    character_coverage=0.995,
    num_threads=1,
    hard_vocab_limit=False,
    minloglevel=2,
)
model_bytes = buffer.getvalue()
with open(MODEL, "wb") as f:
    f.write(model_bytes)

# SiglipTokenizer.get_spm_processor: the model with normalizer_spec.add_dummy_prefix = false,
# merged into the proto. Appending a ModelProto field 3 (normalizer_spec) holding field 3
# (add_dummy_prefix) = 0 is the protobuf encoding of that merge.
sp = spm.SentencePieceProcessor(model_proto=model_bytes + b"\x1a\x02\x18\x00")
unk_token_length = len(sp.encode(UNK))
eos_id = sp.piece_to_id(EOS)
pad_id = sp.piece_to_id(PAD)


def canonicalize_text(text):
    """SiglipTokenizer.canonicalize_text without keep_punctuation_exact_string."""
    text = text.translate(str.maketrans("", "", string.punctuation))
    text = re.sub(r"\s+", " ", text)
    return text.strip()


def siglip_ids(text):
    """SiglipTokenizer(text, padding="max_length", truncation=True, max_length=64).input_ids."""
    assert not any(tok in text for tok in (UNK, EOS, "<pad>")), "no special-token strings"
    # SiglipTokenizer.tokenize, then PreTrainedTokenizer.tokenize (do_lower_case=True lowercases
    # the text outside special tokens), then SiglipTokenizer._tokenize on the one chunk.
    chunk = (SPIECE_UNDERLINE + text.replace(SPIECE_UNDERLINE, " ")).lower()
    chunk = canonicalize_text(chunk)
    pieces = sp.encode(UNK + chunk, out_type=str)
    pieces = pieces[unk_token_length:] if len(pieces) >= unk_token_length else pieces
    ids = [sp.piece_to_id(p) for p in pieces]
    ids = ids[: CONTEXT - 1]  # truncation leaves room for </s>
    if not ids or ids[-1] != eos_id:
        ids = ids + [eos_id]
    return ids + [pad_id] * (CONTEXT - len(ids))


texts = [
    "a photo of a cat.",
    "A Photo Of A Dog!",
    "a photo of a T-shirt/top.",
    "the cartoon of a tiger... the embroidered lion!!!",
    "",
    "   ",
    "!!!",
    "...hello...",
    "  leading and trailing spaces  ",
    "tabs\tand\nnewlines\r\nand\u3000ideographic space",
    "non\u00a0breaking\u2009thin\u202fspaces",
    "multiple     spaces    inside",
    "He said \"hello\" and she said 'goodbye'.",
    "x = y + z * 2 - 4 / 8; [brackets] {braces} <angles> |pipes|",
    "email someone@example.com or https://example.org/page?id=7",
    "prices: $5.99, 10% off, #42",
    "3 dogs and 12 cats in 1984",
    "1234567890",
    "café crème brûlée naïve",
    "Über Straße Maß",
    "São Paulo é a maior cidade",
    "Åsa och Björn",
    "İstanbul Türkiye",
    "ΣΊΣΥΦΟΣ and Ελληνικά",
    "Русский текст: Кошка",
    "猫の写真。",
    "一张猫的照片。",
    "中文文本和English混合",
    "東京タワー",
    "unseen characters: 龘 ☃ ✈ 😀",
    "emoji 😀 in the middle",
    "fullwidth ＡＢＣ１２３！",
    "ligature ﬁne and ﬀ",
    "circled ① ② ③",
    "acute ´ and diaeresis ¨ spacing marks",
    "combining e\u0301 and a\u0308",
    "zero\u200bwidth and soft\u00adhyphen",
    "the meta symbol \u2581 in text",
    "\u2581leading meta symbol",
    "UPPER lower MiXeD",
    "a photo of a pullover, a dress, a coat and a sandal.",
    "a black, small heeled ankle boot photographed from the front.",
    "snow covered trees in the forest during winter",
    "a plate of sushi and a cup of green tea",
    "the cathedral's façade was restored in 1998",
    "don't won't can't it's",
    "under_score and back\\slash and `tick` ~tilde^",
    "a " * 40 + "end",
    "supercalifragilisticexpialidocious",
    "control\x01chars\x7fand\x85next line",
    "replacement \ufffd and bom\ufeffinside",
    "letterlike \u210cello, roman \u216b, square \u337b",
    "information separators a\x1cb\x1dc\x1ed\x1fe",
    "pre-composed \u1e9b\u0323 and Hangul \ud55c\uae00",
    "a photo of the sunset over the mountains and the lake, with many birds flying in the sky "
    "and a small boat on the water near the shore while people walk along the beach at dusk",
]

cases = [{"text": t, "ids": siglip_ids(t)} for t in texts]
with open(VECTORS, "w", encoding="utf-8") as f:
    json.dump(
        {
            "generator": "tools/vectors/make_tokenizer_vectors.py",
            "sentencepiece": spm.__version__,
            "context_length": CONTEXT,
            "eos_id": eos_id,
            "pad_id": pad_id,
            "cases": cases,
        },
        f,
        ensure_ascii=False,
        indent=1,
    )
    f.write("\n")
print(f"{MODEL}: {len(model_bytes)} bytes, {sp.get_piece_size()} pieces; {len(cases)} cases")
