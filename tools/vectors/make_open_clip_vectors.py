#!/usr/bin/python3
"""Reference vectors for src/convert/architectures/open_clip.ts: tiny open_clip models, one per
combination of ``model_cfg`` options, with open_clip's own PyTorch outputs.

What it produces (in tests/data/open_clip/):
  * ``cases/<case>/open_clip_config.json``: ``{"model_cfg": ..., "preprocess_cfg": ...}`` as
    open_clip's hub checkpoints carry it;
  * ``weights/<group>/open_clip_pytorch_model.bin``: ``torch.save(model.state_dict())`` of the
    model that open_clip 3.3's ``CLIP`` (or ``CustomTextCLIP`` for ``custom_text``) builds from a
    case's config, seeded, with every parameter perturbed after init so that layer scales,
    LayerNorm weights and all biases are far from identity (a wrong or missing op shows in the
    outputs). Cases whose options add or drop no parameter share one group's state dict, loaded
    with ``strict=True`` (this keeps the vectors under 300 KB);
  * ``pixel_values.npy`` float32 [2, 3, 12, 12], the images of every case;
  * ``cases/<case>/input_ids.npy`` int64 [2, context_length]: ids laid out as the case's
    tokenizer lays them out (open_clip's SimpleTokenizer: start token, words, end token, then 0s;
    or an HF tokenizer's bos / eos / pad ids, with the pad id the config names); row 0 is short,
    row 1 fills the context;
  * ``cases/<case>/image_embeds.npy`` = ``model.encode_image(pixels, normalize=False)``,
    ``text_embeds.npy`` = ``model.encode_text(ids, normalize=False)`` and
    ``logits_per_image.npy`` = ``model.get_logits(pixels, ids)[0]`` (logit scale and bias);
  * ``cases.json``: every case's name, weight group, pad id and what it covers.

The cases together cover every option the converter honours: quick_gelu, ls_init_value (both
towers), no_ln_pre, vision pool_type tok / avg with and without final_ln_after_pool, the CLIPA
layout (ViT-*-CLIPA.json), pos_embed_type sin_cos_2d, head_width, a non-integer mlp_ratio
(ViT-bigG's), list sizes, act_kwargs (tanh GELU) and norm_kwargs (eps), text pool_type argmax /
eos (both eos ids of the worldwide configs) / first / last, no_causal_mask, pad_id, proj_bias,
proj_type none, custom_text, init_logit_bias, nonscalar_logit_scale, output_dict, embed_dim
unlike the tower widths, and keys open_clip reads but inference ignores (patch_dropout,
attn_pooler_heads, block_type, the tokenizer's keys, the text tower's final_ln_after_pool).

open_clip itself is read from its source, not installed: extract the v3.3.0 tag and point
OPEN_CLIP_SRC at its ``src`` folder, e.g.
  git -C <a clone of mlfoundations/open_clip> archive v3.3.0 src/open_clip \\
    | tar -x -C /tmp/oc
  OPEN_CLIP_SRC=/tmp/oc/src /usr/bin/python3 tools/vectors/make_open_clip_vectors.py
Only ``open_clip.model`` (and what it imports) is loaded: the package ``__init__`` pulls in the
tokenizer, transforms and hub code, which need ftfy, regex, torchvision, huggingface_hub. Here
the package is registered without running its ``__init__``, and ``torchvision.ops.misc`` (only
``FrozenBatchNorm2d``, used by open_clip's ``utils`` when freezing ResNet towers, never by these
ViT models) is stubbed. These stubs live in this generator only.

Requirements: Debian's /usr/bin/python3 with python3-torch (1.13) and python3-numpy.
Run from the repository root. The output directory is emptied and rewritten; reruns give the
same bytes.
"""

import copy
import json
import os
import shutil
import sys
import types

import numpy as np
import torch

OUT = os.path.join("tests", "data", "open_clip")

# --- Load open_clip.model from source without the package __init__ (see the module doc). ---
SRC = os.environ.get("OPEN_CLIP_SRC")
if not SRC or not os.path.isdir(os.path.join(SRC, "open_clip")):
    sys.exit("set OPEN_CLIP_SRC to open_clip 3.3.0's src folder (see this script's doc)")
package = types.ModuleType("open_clip")
package.__path__ = [os.path.join(SRC, "open_clip")]
sys.modules["open_clip"] = package
try:
    import torchvision.ops.misc  # noqa: F401  (real torchvision, when installed)
except ImportError:
    stub_misc = types.ModuleType("torchvision.ops.misc")

    class FrozenBatchNorm2d(torch.nn.Module):
        """Stand-in: only ResNet-freezing code refers to it."""

    stub_misc.FrozenBatchNorm2d = FrozenBatchNorm2d
    for name in ("torchvision", "torchvision.ops"):
        sys.modules[name] = types.ModuleType(name)
    sys.modules["torchvision.ops.misc"] = stub_misc
from open_clip.model import CLIP, CustomTextCLIP  # noqa: E402
from open_clip.version import __version__ as OPEN_CLIP_VERSION  # noqa: E402

BATCH = 2
VOCAB = 32
CONTEXT = 8
IMAGE = 12

BASE_VISION = {"image_size": IMAGE, "patch_size": 4, "width": 8, "head_width": 4, "mlp_ratio": 2}
BASE_TEXT = {"context_length": CONTEXT, "vocab_size": VOCAB, "width": 8, "heads": 2,
             "mlp_ratio": 2}

# Token layouts of the tokenizers open_clip's configs name (ids scaled to the tiny vocabulary).
# SimpleTokenizer: <start_of_text> and <end_of_text> are the two highest ids, padding 0.
CLIP_TOKENS = {"bos": VOCAB - 2, "eos": VOCAB - 1, "pad": 0}
# XLM-V (ViT-*-worldwide, pool_type eos, eos_id 2): <s> 0, <pad> 1, </s> 2.
XLMV_TOKENS = {"bos": 0, "eos": 2, "pad": 1}
# mT5 (ViT-L-14-worldwide, eos_id 1): no bos, </s> 1, <pad> 0.
MT5_TOKENS = {"bos": None, "eos": 1, "pad": 0}
# BERT with strip_sep_token (ViT-*-CLIPA): [CLS] (29 here), [SEP] replaced by 0, pad 0.
BERT_STRIPPED_TOKENS = {"bos": 29, "eos": 0, "pad": 0}


def case(name, covers, weights="base", vision=None, text=None, model=None, tokens=None,
         pad=None):
    """One case: options merged into the tiny base config; `weights` names the shared state
    dict (cases whose options add or drop no parameter share one)."""
    vision_cfg = {**BASE_VISION, **(vision or {})}
    text_cfg = {**BASE_TEXT, **(text or {})}
    # Two text layers (with one, the last token sees the same under either mask), two image
    # layers in the shared "base" weights and one elsewhere (keeps the files small).
    text_cfg["layers"] = 2
    vision_cfg["layers"] = 2 if weights == "base" else 1
    model_cfg = {"embed_dim": 6, **(model or {}), "vision_cfg": vision_cfg, "text_cfg": text_cfg}
    layout = dict(tokens or CLIP_TOKENS)
    if pad is not None:
        layout["pad"] = pad
    return {"name": name, "covers": covers, "weights": weights, "model_cfg": model_cfg,
            "tokens": layout}


CLIPA_VISION = {"no_ln_pre": True, "pool_type": "avg", "final_ln_after_pool": True}

CASES = [
    case("plain", "the default ViT-B-32 layout: GELU, ln_pre, class token, causal text, argmax"),
    case("quick_gelu", "quick_gelu", model={"quick_gelu": True}),
    case("layer_scale", "ls_init_value in both towers (gamma perturbed), quick_gelu",
         weights="layer_scale", vision={"ls_init_value": 1e-4}, text={"ls_init_value": 0.1},
         model={"quick_gelu": True}),
    case("no_ln_pre", "vision no_ln_pre alone", weights="no_ln_pre", vision={"no_ln_pre": True}),
    case("pool_avg", "vision pool_type avg (ln_post before the mean)", vision={"pool_type": "avg"}),
    case("pool_avg_final_ln", "vision pool_type avg with final_ln_after_pool",
         vision={"pool_type": "avg", "final_ln_after_pool": True}),
    case("tok_final_ln", "vision pool_type tok with final_ln_after_pool",
         vision={"final_ln_after_pool": True}),
    case("clipa", "ViT-*-CLIPA: no_ln_pre + avg + final_ln_after_pool; text no_causal_mask, "
         "last, proj_bias, pad_id 3", weights="clipa", vision=CLIPA_VISION,
         text={"no_causal_mask": True, "pool_type": "last", "proj_bias": True, "pad_id": 3,
               "hf_tokenizer_name": "bert-base-uncased",
               "tokenizer_kwargs": {"strip_sep_token": True}},
         tokens=BERT_STRIPPED_TOKENS, pad=3),
    case("clipa_as_shipped", "ViT-L-14-CLIPA.json's options: no_causal_mask + last, pad 0",
         weights="no_ln_pre", vision=CLIPA_VISION,
         text={"no_causal_mask": True, "pool_type": "last"}, tokens=BERT_STRIPPED_TOKENS),
    case("text_eos_xlmv", "ViT-*-worldwide: text pool_type eos, eos_id 2, pad 1",
         text={"pool_type": "eos", "eos_id": 2}, tokens=XLMV_TOKENS),
    case("text_eos_mt5", "ViT-L-14-worldwide: text pool_type eos, eos_id 1, quick_gelu",
         text={"pool_type": "eos", "eos_id": 1}, model={"quick_gelu": True}, tokens=MT5_TOKENS),
    case("text_first", "text pool_type first", text={"pool_type": "first"}),
    case("text_last_causal", "text pool_type last with the causal mask; text "
         "final_ln_after_pool (open_clip 3.3 ignores it)",
         text={"pool_type": "last", "final_ln_after_pool": True}),
    case("text_argmax_bidirectional", "text no_causal_mask with argmax pooling",
         text={"no_causal_mask": True}),
    case("proj_bias", "text proj_bias with the causal mask and argmax; vision no_ln_pre",
         weights="clipa", vision={"no_ln_pre": True}, text={"proj_bias": True}),
    case("proj_none", "text proj_type none (embed_dim = text width)", weights="proj_none",
         text={"proj_type": "none"}, model={"embed_dim": 8}),
    case("kwargs", "act_kwargs approximate tanh and norm_kwargs eps in both towers (MLP "
         "inputs scaled up so that tanh and erf GELU differ)", weights="large_mlp_inputs",
         vision={"act_kwargs": {"approximate": "tanh"}, "norm_kwargs": {"eps": 1e-3}},
         text={"act_kwargs": {"approximate": "tanh"}, "norm_kwargs": {"eps": 1e-2}}),
    case("custom_text_logit_bias", "custom_text (weights under text.), init_logit_bias, "
         "nonscalar_logit_scale, layer scale", weights="custom_text",
         vision={"ls_init_value": 1e-5}, text={"ls_init_value": 1e-5},
         model={"custom_text": True, "init_logit_bias": -10.0, "init_logit_scale": 2.3,
                "nonscalar_logit_scale": True, "output_dict": True}),
    case("shapes", "list sizes, sin_cos_2d positions, head_width 2, mlp_ratio 4.9231 (bigG), "
         "embed_dim 10; options inference ignores: patch_dropout, attn_pooler_heads, block_type "
         "default", weights="shapes",
         vision={"image_size": [IMAGE, IMAGE], "patch_size": [4, 4], "head_width": 2,
                 "mlp_ratio": 4.9231, "pos_embed_type": "sin_cos_2d", "patch_dropout": 0.5,
                 "attn_pooler_heads": 4, "block_type": "default"},
         text={"heads": 4, "mlp_ratio": 4.9231}, model={"embed_dim": 10}),
]

PREPROCESS_CFG = {"size": IMAGE, "mode": "RGB", "mean": [0.48145466, 0.4578275, 0.40821073],
                  "std": [0.26862954, 0.26130258, 0.27577711], "interpolation": "bicubic",
                  "resize_mode": "shortest"}


def perturb(model, generator, mlp_input_gain=1):
    """Moves every trained parameter off its init: LayerNorm weights around 1, layer-scale gammas
    around 0.5, biases and the rest by seeded noise, so that each op matters to the outputs.
    Fixed parameters (sin_cos_2d positions) are kept. `mlp_input_gain` scales the MLPs' first
    linear (weights and bias), moving the activations' inputs to where GELU variants differ."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name in ("logit_scale", "logit_bias") or not parameter.requires_grad:
                continue
            noise = torch.randn(parameter.shape, generator=generator)
            if name.endswith(".gamma"):
                parameter.copy_(0.5 + 0.3 * noise)
            elif parameter.dim() == 1 and ("ln" in name.split(".")[-2]):
                parameter.copy_((1.0 + 0.3 * noise) if name.endswith("weight") else 0.2 * noise)
            elif name.endswith("bias"):
                parameter.copy_(0.2 * noise)
            else:
                parameter.add_(0.05 * noise)
            if mlp_input_gain != 1 and "mlp.c_fc" in name:
                parameter.mul_(mlp_input_gain)


def token_ids(layout, generator):
    """[BATCH, CONTEXT] ids as the case's tokenizer makes them: a short text, and one that fills
    the context (its end token in the last position)."""
    rows = []
    for length in (3, CONTEXT - (2 if layout["bos"] is not None else 1)):
        words = torch.randint(3, VOCAB - 8, (length,), generator=generator).tolist()
        row = ([layout["bos"]] if layout["bos"] is not None else []) + words + [layout["eos"]]
        rows.append(row + [layout["pad"]] * (CONTEXT - len(row)))
    return torch.tensor(rows, dtype=torch.int64)


def save_npy(folder, name, array):
    np.save(os.path.join(folder, f"{name}.npy"), np.ascontiguousarray(array))


def build(model_cfg):
    """The model open_clip's factory builds from `model_cfg` (CustomTextCLIP for custom_text)."""
    cfg = copy.deepcopy(model_cfg)
    model_class = CustomTextCLIP if cfg.pop("custom_text", False) else CLIP
    return model_class(**cfg)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(os.path.join(OUT, "weights"))
    os.makedirs(os.path.join(OUT, "cases"))
    generator = torch.Generator().manual_seed(2024)
    pixels = torch.randn((BATCH, 3, IMAGE, IMAGE), generator=generator)
    save_npy(OUT, "pixel_values", pixels.numpy().astype(np.float32))
    state_dicts = {}
    summary = []
    for index, spec in enumerate(CASES):
        torch.manual_seed(1000 + index)
        model = build(spec["model_cfg"])
        group = spec["weights"]
        if group not in state_dicts:
            gain = 4 if group == "large_mlp_inputs" else 1
            perturb(model, torch.Generator().manual_seed(3000 + len(state_dicts)), gain)
            state_dicts[group] = copy.deepcopy(model.state_dict())
            folder = os.path.join(OUT, "weights", group)
            os.makedirs(folder)
            torch.save(state_dicts[group], os.path.join(folder, "open_clip_pytorch_model.bin"))
        model.load_state_dict(state_dicts[group], strict=True)
        model.eval()
        ids = token_ids(spec["tokens"], torch.Generator().manual_seed(4000 + index))
        with torch.no_grad():
            image = model.encode_image(pixels, normalize=False)
            text = model.encode_text(ids, normalize=False)
            logits = model.get_logits(pixels, ids)[0]
        folder = os.path.join(OUT, "cases", spec["name"])
        os.makedirs(folder)
        with open(os.path.join(folder, "open_clip_config.json"), "w") as f:
            json.dump({"model_cfg": spec["model_cfg"], "preprocess_cfg": PREPROCESS_CFG}, f,
                      indent=2)
            f.write("\n")
        save_npy(folder, "input_ids", ids.numpy().astype(np.int64))
        save_npy(folder, "image_embeds", image.numpy().astype(np.float32))
        save_npy(folder, "text_embeds", text.numpy().astype(np.float32))
        save_npy(folder, "logits_per_image", logits.numpy().astype(np.float32))
        summary.append({"name": spec["name"], "weights": group, "pad": spec["tokens"]["pad"],
                        "covers": spec["covers"]})
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"open_clip": OPEN_CLIP_VERSION, "torch": torch.__version__, "cases": summary},
                  f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
