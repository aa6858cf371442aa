"""The bench's PyTorch reference for the converter's vision tower (bench/measure_torch_export.ts).

Builds, in plain PyTorch, a transformers-style CLIP model whose vision tower is the one of
`CLIPVisionModelWithProjection` (OpenAI ViT-B/32 sizes by default: patch 32, 224 px, width 768,
12 layers, 12 heads, MLP 3072, quick_gelu, projection 512), with transformers' parameter names and
the attention written as transformers' `CLIPAttention` computes it; gives it seeded random
weights, and writes into OUT:

- `checkpoint/`: a transformers `CLIPModel` checkpoint of it — `pytorch_model.bin` (`torch.save`
  of the state dict; the text tower tiny, with transformers' names, so that the converter, which
  builds both towers, has one), `config.json`, `preprocessor_config.json`;
- `torch_vision.onnx`: the vision tower exported by `torch.onnx.export` (opset 17, dynamic batch
  axis, `pixel_values` -> `image_embeds`, what `get_image_features` returns).

Prints one JSON line: the torch version and the files written. The product never runs Python;
only this bench measure does.

usage: torch_export_clip_vision.py OUT [--seed N] [--preset vit-b-32|tiny]
"""

import argparse
import json
import math
import os

import torch
from torch import nn

PRESETS = {
    "vit-b-32": dict(image_size=224, patch_size=32, hidden_size=768, num_hidden_layers=12,
                     num_attention_heads=12, intermediate_size=3072, projection_dim=512),
    "tiny": dict(image_size=32, patch_size=8, hidden_size=64, num_hidden_layers=2,
                 num_attention_heads=4, intermediate_size=256, projection_dim=32),
}

# The tiny text tower of the checkpoint (the converter builds it; the bench does not time it).
TEXT = dict(vocab_size=49408, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
            num_attention_heads=2, max_position_embeddings=77)

LAYER_NORM_EPS = 1e-5


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


class Attention(nn.Module):
    """Multi-head self-attention as transformers' CLIPAttention computes it (no mask)."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = width // heads
        self.scale = self.head_dim ** -0.5
        self.q_proj = nn.Linear(width, width)
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)

    def _heads(self, x, seq, batch):
        return x.view(batch, seq, self.heads, self.head_dim).transpose(1, 2).contiguous()

    def forward(self, x):
        batch, seq, width = x.size()
        q = self.q_proj(x) * self.scale
        k = self._heads(self.k_proj(x), -1, batch)
        v = self._heads(self.v_proj(x), -1, batch)
        shape = (batch * self.heads, -1, self.head_dim)
        q = self._heads(q, seq, batch).view(*shape)
        k = k.view(*shape)
        v = v.view(*shape)
        weights = torch.softmax(torch.bmm(q, k.transpose(1, 2)), dim=-1)
        out = torch.bmm(weights, v)
        out = out.view(batch, self.heads, seq, self.head_dim).transpose(1, 2)
        return self.out_proj(out.reshape(batch, seq, width))


class Mlp(nn.Module):
    def __init__(self, width, intermediate):
        super().__init__()
        self.fc1 = nn.Linear(width, intermediate)
        self.fc2 = nn.Linear(intermediate, width)

    def forward(self, x):
        return self.fc2(quick_gelu(self.fc1(x)))


class EncoderLayer(nn.Module):
    def __init__(self, width, heads, intermediate):
        super().__init__()
        self.self_attn = Attention(width, heads)
        self.layer_norm1 = nn.LayerNorm(width, eps=LAYER_NORM_EPS)
        self.mlp = Mlp(width, intermediate)
        self.layer_norm2 = nn.LayerNorm(width, eps=LAYER_NORM_EPS)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class Encoder(nn.Module):
    def __init__(self, width, heads, intermediate, layers):
        super().__init__()
        self.layers = nn.ModuleList(
            [EncoderLayer(width, heads, intermediate) for _ in range(layers)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class VisionEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        width = cfg["hidden_size"]
        self.class_embedding = nn.Parameter(torch.randn(width))
        self.patch_embedding = nn.Conv2d(3, width, kernel_size=cfg["patch_size"],
                                         stride=cfg["patch_size"], bias=False)
        positions = (cfg["image_size"] // cfg["patch_size"]) ** 2 + 1
        self.position_embedding = nn.Embedding(positions, width)
        # Not persistent, as in transformers 4.40: not in the state dict.
        self.register_buffer("position_ids", torch.arange(positions).expand((1, -1)),
                             persistent=False)

    def forward(self, pixel_values):
        batch = pixel_values.shape[0]
        patches = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(batch, 1, -1)
        return torch.cat([cls, patches], dim=1) + self.position_embedding(self.position_ids)


class VisionTransformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        width = cfg["hidden_size"]
        self.embeddings = VisionEmbeddings(cfg)
        self.pre_layrnorm = nn.LayerNorm(width, eps=LAYER_NORM_EPS)
        self.encoder = Encoder(width, cfg["num_attention_heads"], cfg["intermediate_size"],
                               cfg["num_hidden_layers"])
        self.post_layernorm = nn.LayerNorm(width, eps=LAYER_NORM_EPS)

    def forward(self, pixel_values):
        hidden = self.encoder(self.pre_layrnorm(self.embeddings(pixel_values)))
        return self.post_layernorm(hidden[:, 0, :])


class VisionModelWithProjection(nn.Module):
    """`CLIPVisionModelWithProjection`'s parameters and `image_embeds`."""

    def __init__(self, cfg):
        super().__init__()
        self.vision_model = VisionTransformer(cfg)
        self.visual_projection = nn.Linear(cfg["hidden_size"], cfg["projection_dim"], bias=False)

    def forward(self, pixel_values):
        return self.visual_projection(self.vision_model(pixel_values))


def text_state(projection_dim, generator):
    """A tiny CLIP text tower's tensors, by transformers' names."""
    width, inner = TEXT["hidden_size"], TEXT["intermediate_size"]

    def rand(*shape):
        return torch.randn(*shape, generator=generator) * 0.02

    state = {
        "text_model.embeddings.token_embedding.weight": rand(TEXT["vocab_size"], width),
        "text_model.embeddings.position_embedding.weight":
            rand(TEXT["max_position_embeddings"], width),
    }
    for i in range(TEXT["num_hidden_layers"]):
        prefix = f"text_model.encoder.layers.{i}"
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            state[f"{prefix}.self_attn.{proj}.weight"] = rand(width, width)
            state[f"{prefix}.self_attn.{proj}.bias"] = rand(width)
        for norm in ("layer_norm1", "layer_norm2"):
            state[f"{prefix}.{norm}.weight"] = torch.ones(width)
            state[f"{prefix}.{norm}.bias"] = torch.zeros(width)
        state[f"{prefix}.mlp.fc1.weight"] = rand(inner, width)
        state[f"{prefix}.mlp.fc1.bias"] = rand(inner)
        state[f"{prefix}.mlp.fc2.weight"] = rand(width, inner)
        state[f"{prefix}.mlp.fc2.bias"] = rand(width)
    state["text_model.final_layer_norm.weight"] = torch.ones(width)
    state["text_model.final_layer_norm.bias"] = torch.zeros(width)
    state["text_projection.weight"] = rand(projection_dim, width)
    return state


def clip_config(cfg):
    vision = {k: v for k, v in cfg.items() if k != "projection_dim"}
    return {
        "architectures": ["CLIPModel"],
        "model_type": "clip",
        "projection_dim": cfg["projection_dim"],
        "logit_scale_init_value": 2.6592,
        "torch_dtype": "float32",
        "text_config": {**TEXT, "model_type": "clip_text_model", "hidden_act": "quick_gelu",
                        "bos_token_id": 49406, "eos_token_id": 49407, "pad_token_id": 1},
        "vision_config": {**vision, "model_type": "clip_vision_model",
                          "hidden_act": "quick_gelu", "layer_norm_eps": LAYER_NORM_EPS},
    }


def preprocessor_config(size):
    return {
        "image_processor_type": "CLIPImageProcessor",
        "do_resize": True, "size": {"shortest_edge": size}, "resample": 3,
        "do_center_crop": True, "crop_size": {"height": size, "width": size},
        "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "do_convert_rgb": True,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="vit-b-32")
    args = parser.parse_args()
    cfg = PRESETS[args.preset]
    torch.manual_seed(args.seed)
    model = VisionModelWithProjection(cfg).eval()
    with torch.no_grad():
        # transformers' CLIP initialisation scales: embeddings N(0, width^-0.5), the rest its
        # Linear/LayerNorm defaults (PyTorch's), which keep the activations finite and varied.
        width = cfg["hidden_size"]
        model.vision_model.embeddings.class_embedding.normal_(0, width ** -0.5)
        model.vision_model.embeddings.position_embedding.weight.normal_(0, 0.02)
    generator = torch.Generator().manual_seed(args.seed + 1)
    state = {name: t.detach().clone().contiguous() for name, t in model.state_dict().items()}
    state.update(text_state(cfg["projection_dim"], generator))
    state["logit_scale"] = torch.tensor(math.log(1 / 0.07))

    checkpoint = os.path.join(args.out, "checkpoint")
    os.makedirs(checkpoint, exist_ok=True)
    torch.save(dict(sorted(state.items())), os.path.join(checkpoint, "pytorch_model.bin"))
    with open(os.path.join(checkpoint, "config.json"), "w") as f:
        json.dump(clip_config(cfg), f, indent=2)
    with open(os.path.join(checkpoint, "preprocessor_config.json"), "w") as f:
        json.dump(preprocessor_config(cfg["image_size"]), f, indent=2)

    onnx_path = os.path.join(args.out, "torch_vision.onnx")
    example = torch.randn(2, 3, cfg["image_size"], cfg["image_size"], generator=generator)
    with torch.no_grad():
        torch.onnx.export(
            model, (example,), onnx_path, opset_version=17,
            input_names=["pixel_values"], output_names=["image_embeds"],
            dynamic_axes={"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"}},
            do_constant_folding=True)
    print(json.dumps({"torch": torch.__version__, "preset": args.preset,
                      "checkpoint": checkpoint, "onnx": onnx_path}))


if __name__ == "__main__":
    main()
